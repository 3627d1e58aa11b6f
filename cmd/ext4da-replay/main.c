/* ext4da-replay: list, dry-run or replay an ext4 image's jbd2 journal. */
#include "config.h"

#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/ext4da-replay/replay.h"
#include "lib/fc_replay.h"
#include "lib/cancel.h"
#include "lib/image.h"
#include "lib/overlay.h"
#include "lib/recovery.h"

const char *argp_program_version = "ext4da-replay " PACKAGE_VERSION;

enum { OPT_UPTO = 256, OPT_JOURNAL };

static const struct argp_option options[] = {
	{ "list", 'l', 0, 0, "List the transactions in the journal and change nothing", 0 },
	{ "dry-run", 'n', 0, 0, "Say what replay would write, and write nothing", 0 },
	{ "output", 'o', "FILE", 0, "Write the replayed image to the new file FILE; IMAGE stays untouched", 0 },
	{ "undo", 'u', "FILE", 0, "Replay in place and save every overwritten block in FILE for e2undo", 0 },
	{ "upto", OPT_UPTO, "TID", 0, "Replay only the transactions up to and including TID", 0 },
	{ "journal", OPT_JOURNAL, "PATH", 0, "The external journal device (default: found by UUID)", 0 },
	{ 0 }
};

static int parse_tid(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct replay_cmd *cmd = state->input;

	switch (key) {
	case 'l': cmd->action = ACT_LIST; break;
	case 'n': cmd->action = ACT_DRY_RUN; break;
	case 'o': cmd->output = arg; break;
	case 'u': cmd->undo = arg; break;
	case OPT_JOURNAL: cmd->journal_path = arg; break;
	case OPT_UPTO:
		if (parse_tid(arg, &cmd->upto))
			argp_error(state, "--upto: '%s' is not a transaction ID", arg);
		cmd->has_upto = 1;
		break;
	case ARGP_KEY_ARG:
		if (cmd->image)
			argp_error(state, "only one IMAGE, please (got '%s' too)", arg);
		cmd->image = arg;
		break;
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &cmd->cli;
		break;
	case ARGP_KEY_END:
		if (!cmd->image)
			argp_error(state, "no IMAGE given");
		if (cmd->action != ACT_REPLAY && (cmd->output || cmd->undo))
			argp_error(state, "--list and --dry-run write nothing: drop --output/--undo");
		if (cmd->output && cmd->undo)
			argp_error(state, "--output leaves IMAGE untouched, so --undo makes no sense with it");
		if (cmd->action == ACT_LIST && cmd->has_upto)
			argp_error(state, "--upto applies to replay and --dry-run, not --list");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child children[] = {
	{ &cli_common_argp, 0, NULL, 0 },
	{ 0 }
};

static const struct argp argp = {
	options, parse_opt, "IMAGE",
	"Replay or inspect the jbd2 journal of an ext4 image or device.\v"
	"By default every committed transaction is replayed in place, as the kernel "
	"would at mount, and the journal is marked empty. Exit status: 0 done (or "
	"nothing to do), 4 something committed could not be replayed, 8 operational "
	"error, 16 usage error, 32 cancelled by SIGINT or SIGTERM.",
	children, NULL, NULL
};

static void report_progress(void *ctx, uint64_t done, uint64_t total)
{
	progress_update(ctx, done);
	(void)total;
}

/* Open image and journal, and scan the log. */
static int load(const struct replay_cmd *cmd, const char *path, const struct image_open_opts *io,
		ext2_filsys *fs, struct journal **j, struct jlog *log, struct err *e)
{
	struct journal_open_opts jo = { .external_path = cmd->journal_path,
					.writable = io->writable };

	*fs = NULL;
	*j = NULL;
	if (image_open(path, io, fs, e))
		return -1;
	if (journal_open(*fs, &jo, j, e) || journal_scan(*j, log, e)) {
		journal_close(*j);
		image_close(*fs, NULL);
		*j = NULL;
		*fs = NULL;
		return -1;
	}
	return 0;
}

static int nothing_to_do(ext2_filsys fs, const struct journal *j)
{
	return j->start == 0 && !ext2fs_has_feature_journal_needs_recovery(fs->super);
}

static int exit_code_for(const struct replay_result *r)
{
	return replay_incomplete(r) ? EXIT_PROBLEMS : EXIT_CLEAN;
}

/* A dry run: the full commits, then the fast commit, onto an overlay of
 * the image, which is then dropped. */
static int dry_run_fast_commit(const struct replay_cmd *cmd, const char *path,
			       const struct jlog *log, struct replay_result *r, struct err *e)
{
	struct image_open_opts io = { .writable = 1, .manager = overlay_io_manager };
	struct journal_open_opts jo = { .external_path = cmd->journal_path };
	struct replay_result full;
	struct replay_sink sink;
	struct overlay *ov = NULL;
	struct journal *j = NULL;
	ext2_filsys fs = NULL;
	uint64_t size;
	char name[64];
	int fd, rc = -1;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (image_fd_size(fd, &size) || !(ov = overlay_new(fd, size, NULL))) {
		close(fd);
		return fail(e, EXIT_OPERATIONAL, "cannot map the image");
	}
	overlay_io_name(ov, name, sizeof(name));
	memset(&full, 0, sizeof(full));
	if (image_open(name, &io, &fs, e) || journal_open(fs, &jo, &j, e))
		goto out;
	io_sink_init(&sink, fs->io);
	if (replay_into(j, log, NULL, &sink, &full, e))
		goto out;
	journal_close(j);
	j = NULL;
	if (image_close(fs, e))
		goto out;
	fs = NULL;
	rc = fc_replay_overlay(ov, &log->fc.log, &r->fc, e);
out:
	replay_result_free(&full);
	journal_close(j);
	if (fs)
		image_close(fs, NULL);
	overlay_free(ov);
	close(fd);
	return rc;
}

/* The fast commit comes after the full commits.  --upto stops among
 * those, so it never reaches it.  A dry run replays both onto an overlay
 * of the image, to report what would happen. */
static int replay_fast_commit(const struct replay_cmd *cmd, const char *path, ext2_filsys fs,
			      const struct jlog *log, struct replay_result *r, struct err *e)
{
	if (!log->fc.present)
		return 0;
	if (cmd->has_upto) {
		r->fc_dropped = 1;
		return 0;
	}
	if (cmd->action == ACT_REPLAY)
		return fc_replay_through(path, fs->io, &log->fc.log, &r->fc, e);
	return dry_run_fast_commit(cmd, path, log, r, e);
}

/* Replay into the image behind fs (the input, or the --output copy). */
static int replay_here(const struct replay_cmd *cmd, const char *path,
		       const struct image_open_opts *io, struct err *e)
{
	struct replay_opts ro = { .has_upto = cmd->has_upto, .upto = cmd->upto };
	struct replay_result r;
	struct replay_sink sink;
	struct progress prog;
	struct journal *j;
	struct jlog log;
	ext2_filsys fs;
	int rc, code, wrote = 0, drop_undo = 0;

	if (load(cmd, path, io, &fs, &j, &log, e))
		return -1;
	if (nothing_to_do(fs, j) && !cmd->has_upto) {
		memset(&r, 0, sizeof(r));
		r.end_tid = r.first_tid = log.start_tid;
		print_report(cmd, j, &log, &r, 0, EXIT_CLEAN);
		jlog_free(&log);
		journal_close(j);
		return image_close(fs, e) ? -1 : EXIT_CLEAN;
	}
	if (cmd->action == ACT_DRY_RUN)
		null_sink_init(&sink);
	else
		io_sink_init(&sink, fs->io);
	ro.fs_blocks = ext2fs_blocks_count(fs->super);
	progress_start(&prog, &cmd->cli, "replay", 0);
	for (size_t i = 0; i < log.ntxns; i++)
		prog.total += log.txns[i].ntags;
	ro.progress = report_progress;
	ro.progress_ctx = &prog;
	rc = replay_into(j, &log, &ro, &sink, &r, e);
	progress_end(&prog);
	if (rc && e->exit_code == EXIT_CANCELLED && cmd->action == ACT_REPLAY && !cmd->output &&
	    r.blocks_written == 0) {
		/* Nothing written: the undo manager has not written its header
		 * yet, and the file would only confuse e2undo. */
		drop_undo = cmd->undo != NULL;
		cancel_fail(e, "nothing was written");
	} else if (rc && e->exit_code == EXIT_CANCELLED && cmd->action == ACT_REPLAY &&
		   !cmd->output) {
		char then[300];

		snprintf(then, sizeof(then),
			 "%llu block(s) written, the journal still needs recovery: run "
			 "ext4da-replay again to finish%s%s%s%s",
			 (unsigned long long)r.blocks_written, cmd->undo ? ", or undo with: e2undo " : "",
			 cmd->undo ? cmd->undo : "", cmd->undo ? " " : "", cmd->undo ? path : "");
		cancel_fail(e, then);
	}
	if (rc == 0 && !r.fatal)
		rc = replay_fast_commit(cmd, path, fs, &log, &r, e);
	if (rc == 0 && cmd->action == ACT_REPLAY) {
		rc = recovery_finish(fs, j, &r, e);
		wrote = rc == 0;
	}
	code = exit_code_for(&r);
	if (rc == 0)
		print_report(cmd, j, &log, &r, wrote, code);
	replay_result_free(&r);
	jlog_free(&log);
	journal_close(j);
	if (image_close(fs, rc ? NULL : e) && rc == 0)
		rc = -1;
	if (drop_undo)
		unlink(cmd->undo);
	return rc ? -1 : code;
}

static int do_list(const struct replay_cmd *cmd, struct err *e)
{
	struct image_open_opts io = { 0 };
	struct journal_open_opts jo = { .external_path = cmd->journal_path };
	struct journal *j;
	struct jlog log;
	ext2_filsys fs;

	if (image_open(cmd->image, &io, &fs, e))
		return -1;
	if (journal_open(fs, &jo, &j, e) || journal_scan(j, &log, e)) {
		journal_close(j);
		image_close(fs, NULL);
		return -1;
	}
	print_listing(cmd, j, &log);
	jlog_free(&log);
	journal_close(j);
	image_close(fs, NULL);
	return EXIT_CLEAN;
}

/* Check everything read-only first, so that bad input never gets as far as
 * a write, an undo file or a half-made output. */
static int preflight(const struct replay_cmd *cmd, int *external, int *idle, int report,
		     struct err *e)
{
	struct image_open_opts ro = { 0 };
	struct replay_result r;
	struct journal *j;
	struct jlog log;
	ext2_filsys fs;
	int rc = 0;

	if (load(cmd, cmd->image, &ro, &fs, &j, &log, e))
		return -1;
	*external = j->external;
	*idle = nothing_to_do(fs, j) && !cmd->has_upto;
	if (cmd->has_upto)
		rc = replay_check_upto(&log, cmd->upto, e);
	if (rc == 0 && *idle && report) {
		memset(&r, 0, sizeof(r));
		r.end_tid = r.first_tid = log.start_tid;
		print_report(cmd, j, &log, &r, 0, EXIT_CLEAN);
	}
	jlog_free(&log);
	journal_close(j);
	image_close(fs, NULL);
	return rc;
}

/* --output: replay a copy and rename it into place, so that a failure never
 * leaves a half-written FILE behind. */
static int replay_to_output(const struct replay_cmd *cmd, struct err *e)
{
	struct image_open_opts rw = { .writable = 1 };
	size_t len = strlen(cmd->output) + 16;
	char *tmp = malloc(len);
	int code;

	if (!tmp)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	snprintf(tmp, len, "%s.partial", cmd->output);
	unlink(tmp);
	/* SIGINT or SIGTERM until the rename: remove the copy and exit 32. */
	cancel_remove_on_exit(tmp);
	if (image_copy(cmd->image, tmp, cmd->output, e)) {
		unlink(tmp);
		cancel_remove_on_exit(NULL);
		free(tmp);
		return -1;
	}
	code = replay_here(cmd, tmp, &rw, e);
	cancel_defer();
	if (code < 0 || rename(tmp, cmd->output) != 0) {
		if (code >= 0)
			code = fail(e, EXIT_OPERATIONAL, "%s: %s", cmd->output, strerror(errno));
		unlink(tmp);
	}
	cancel_remove_on_exit(NULL);
	cancel_undefer();
	free(tmp);
	return code;
}

static int do_replay(const struct replay_cmd *cmd, struct err *e)
{
	struct image_open_opts io = { .writable = 1, .undo_file = cmd->undo };
	int external = 0, idle = 0;

	if (cmd->output && access(cmd->output, F_OK) == 0)
		return fail(e, EXIT_OPERATIONAL, "--output %s already exists; remove it first",
			    cmd->output);
	if (cmd->undo && access(cmd->undo, F_OK) == 0)
		return fail(e, EXIT_OPERATIONAL, "undo file %s already exists; remove it first",
			    cmd->undo);
	if (preflight(cmd, &external, &idle, 0, e))
		return -1;
	if (cmd->output && external)
		return fail(e, EXIT_OPERATIONAL,
			    "the journal is external: --output cannot replay without changing it "
			    "(use --undo)");
	if (!idle && cmd->output)
		return replay_to_output(cmd, e);
	if (!idle) {
		/* In place: a signal stops the replay between two blocks, and
		 * the image and undo file are closed properly (see cancel.h). */
		int code;

		cancel_defer();
		code = replay_here(cmd, cmd->image, &io, e);
		cancel_undefer();
		return code;
	}
	/* Nothing to replay: the output is a plain copy.  Report only once
	 * everything has succeeded. */
	if (cmd->output) {
		int rc;

		cancel_remove_on_exit(cmd->output);
		rc = image_copy(cmd->image, cmd->output, cmd->output, e);
		if (rc)
			unlink(cmd->output);	/* it did not exist: never leave half a copy */
		cancel_remove_on_exit(NULL);
		if (rc)
			return -1;
	}
	return preflight(cmd, &external, &idle, 1, e) ? -1 : EXIT_CLEAN;
}

int main(int argc, char **argv)
{
	struct replay_cmd cmd = { .cli = { .tool = "ext4da-replay", .progress = -1 } };
	struct err e = { 0 };
	int code;

	argp_err_exit_status = EXIT_USAGE;
	argv[0] = (char *)cmd.cli.tool;	/* getopt names argv[0] in its messages */
	argp_parse(&argp, argc, argv, 0, NULL, &cmd);
	cancel_init(cmd.cli.tool, cmd.image);
	if (cmd.action == ACT_LIST) {
		code = do_list(&cmd, &e);
	} else if (cmd.action == ACT_DRY_RUN) {
		struct image_open_opts ro = { 0 };

		code = replay_here(&cmd, cmd.image, &ro, &e);
	} else {
		code = do_replay(&cmd, &e);
	}
	if (code < 0)
		return cli_fail(&cmd.cli, cmd.image, &e);
	return code;
}
