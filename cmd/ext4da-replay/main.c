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
#include "lib/journal/fc_replay.h"
#include "lib/process/cancel.h"
#include "lib/blockdev/image.h"
#include "lib/core/fdio.h"
#include "lib/blockdev/overlay.h"
#include "lib/journal/recovery.h"

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

static struct recovery_opts session_opts(const struct replay_cmd *cmd, int writable)
{
	return (struct recovery_opts){ .journal_path = cmd->journal_path, .writable = writable,
				       .has_upto = cmd->has_upto, .upto = cmd->upto };
}

/* Open the image read-only and scan its journal: the one scan of the run.
 * Everything is checked here, so that bad input never gets as far as a
 * write, an undo file or a half-made output. */
static int session_open(const struct replay_cmd *cmd, ext2_filsys *fs, struct recovery *rs,
			struct err *e)
{
	struct image_open_opts ro = { 0 };
	struct recovery_opts o = session_opts(cmd, 0);

	if (image_open(cmd->image, &ro, fs, e))
		return -1;
	if (recovery_open(rs, *fs, &o, e)) {
		image_close(*fs, NULL);
		*fs = NULL;
		return -1;
	}
	return 0;
}

static void session_close(ext2_filsys fs, struct recovery *rs)
{
	recovery_close(rs);
	image_close(fs, NULL);
}

static int nothing_to_do(const struct replay_cmd *cmd, const struct recovery *rs)
{
	return !recovery_needed(rs) && !cmd->has_upto;
}

static int report_nothing(const struct replay_cmd *cmd, const struct recovery *rs)
{
	struct replay_result r;

	memset(&r, 0, sizeof(r));
	r.end_tid = r.first_tid = rs->log.start_tid;
	print_report(cmd, rs->j, &rs->log, &r, 0, EXIT_CLEAN);
	return EXIT_CLEAN;
}

static int exit_code_for(const struct replay_result *r)
{
	return replay_incomplete(r) ? EXIT_PROBLEMS : EXIT_CLEAN;
}

static void start_progress(const struct replay_cmd *cmd, struct recovery *rs,
			   struct progress *prog)
{
	progress_start(prog, &cmd->cli, "replay", 0);
	for (size_t i = 0; i < rs->log.ntxns; i++)
		prog->total += rs->log.txns[i].ntags;
	rs->opts.progress = report_progress;
	rs->opts.progress_ctx = prog;
}

/* A dry run with a fast commit: the full commits, then the fast commit,
 * onto an overlay of the image, which is then dropped. */
static int dry_run_onto_overlay(const struct replay_cmd *cmd, struct recovery *rs,
				struct err *e)
{
	struct image_open_opts io = { .writable = 1, .manager = overlay_io_manager };
	struct replay_sink sink;
	struct overlay *ov = NULL;
	ext2_filsys fs = NULL;
	uint64_t size;
	char name[64];
	int fd, rc = -1;

	fd = open(cmd->image, O_RDONLY);
	if (fd < 0)
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (fd_size_bytes(fd, &size) || !(ov = overlay_new(fd, size, NULL))) {
		close(fd);
		return fail(e, EXIT_OPERATIONAL, "cannot map the image");
	}
	overlay_io_name(ov, name, sizeof(name));
	if (image_open(name, &io, &fs, e) || recovery_rebind(rs, fs, e))
		goto out;
	io_sink_init(&sink, fs->io);
	if (recovery_replay(rs, &sink, e))
		goto out;
	rc = image_close(fs, e);
	fs = NULL;
	if (rc == 0 && !rs->result.fatal)
		rc = fc_replay_overlay(ov, &rs->log.fc.log, &rs->result.fc, e);
out:
	if (fs)
		image_close(fs, NULL);
	overlay_free(ov);
	close(fd);
	return rc;
}

static int do_dry_run(const struct replay_cmd *cmd, struct err *e)
{
	struct replay_sink sink;
	struct progress prog;
	struct recovery rs;
	ext2_filsys fs;
	int rc, code;

	if (session_open(cmd, &fs, &rs, e))
		return -1;
	if (nothing_to_do(cmd, &rs)) {
		code = report_nothing(cmd, &rs);
		session_close(fs, &rs);
		return code;
	}
	start_progress(cmd, &rs, &prog);
	if (rs.log.fc.present && !cmd->has_upto) {
		rc = dry_run_onto_overlay(cmd, &rs, e);
	} else {
		null_sink_init(&sink);
		rc = recovery_replay(&rs, &sink, e);
	}
	progress_end(&prog);
	code = exit_code_for(&rs.result);
	if (rc == 0)
		print_report(cmd, rs.j, &rs.log, &rs.result, 0, code);
	session_close(fs, &rs);
	return rc ? -1 : code;
}

/* A signal stopped the replay: say what state the image is in. */
static void explain_cancel(const struct replay_cmd *cmd, const char *path,
			   const struct replay_result *r, int *drop_undo, struct err *e)
{
	char then[300];

	if (cmd->output)
		return;
	if (r->blocks_written == 0) {
		/* Nothing written: the undo manager has not written its header
		 * yet, and the file would only confuse e2undo. */
		*drop_undo = cmd->undo != NULL;
		cancel_fail(e, "nothing was written");
		return;
	}
	snprintf(then, sizeof(then),
		 "%llu block(s) written, the journal still needs recovery: run "
		 "ext4da-replay again to finish%s%s%s%s",
		 (unsigned long long)r->blocks_written, cmd->undo ? ", or undo with: e2undo " : "",
		 cmd->undo ? cmd->undo : "", cmd->undo ? " " : "", cmd->undo ? path : "");
	cancel_fail(e, then);
}

/* Replay into the image at path (the input, or the --output copy), opened
 * with io, going on from the scan already made. */
static int replay_here(const struct replay_cmd *cmd, struct recovery *rs, const char *path,
		       const struct image_open_opts *io, struct err *e)
{
	struct replay_sink sink;
	struct progress prog;
	ext2_filsys fs;
	int rc, code, wrote = 0, drop_undo = 0;

	if (image_open(path, io, &fs, e))
		return -1;
	if (recovery_rebind(rs, fs, e)) {
		image_close(fs, NULL);
		return -1;
	}
	io_sink_init(&sink, fs->io);
	start_progress(cmd, rs, &prog);
	/* With nothing to replay after the full commits, the copies that a
	 * newer one superseded are verified while recovery_finish flushes
	 * the home blocks; a fast commit writes first, so not then. */
	rs->opts.defer_superseded = !(rs->log.fc.present && !cmd->has_upto);
	rc = recovery_replay(rs, &sink, e);
	progress_end(&prog);
	if (rc && e->exit_code == EXIT_CANCELLED)
		explain_cancel(cmd, path, &rs->result, &drop_undo, e);
	/* The fast commit comes after the full commits; --upto never reaches it. */
	if (rc == 0 && !rs->result.fatal && rs->log.fc.present && !cmd->has_upto)
		rc = fc_replay_through(path, fs->io, &rs->log.fc.log, &rs->result.fc, e);
	if (rc == 0) {
		rc = recovery_finish(rs, e);
		wrote = rc == 0;
	}
	code = exit_code_for(&rs->result);
	if (rc == 0)
		print_report(cmd, rs->j, &rs->log, &rs->result, wrote, code);
	if (image_close(fs, rc ? NULL : e) && rc == 0)
		rc = -1;
	if (drop_undo)
		unlink(cmd->undo);
	return rc ? -1 : code;
}

static int do_list(const struct replay_cmd *cmd, struct err *e)
{
	struct recovery rs;
	ext2_filsys fs;

	if (session_open(cmd, &fs, &rs, e))
		return -1;
	print_listing(cmd, rs.j, &rs.log);
	session_close(fs, &rs);
	return EXIT_CLEAN;
}

/* FILE.partial, where --output is made before it is renamed into place,
 * so that an interrupted run never leaves anything under FILE. */
static char *partial_name(const char *output, struct err *e)
{
	size_t len = strlen(output) + sizeof(".partial");
	char *tmp = malloc(len);

	if (!tmp) {
		fail(e, EXIT_OPERATIONAL, "out of memory");
		return NULL;
	}
	snprintf(tmp, len, "%s.partial", output);
	unlink(tmp);
	return tmp;
}

/* Give the finished copy tmp its final name; on failure remove it.  A
 * signal from here on waits until the rename is done or undone. */
static int publish_output(const struct replay_cmd *cmd, char *tmp, int code, struct err *e)
{
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

/* --output: replay a copy and rename it into place, so that a failure never
 * leaves a half-written FILE behind. */
static int replay_to_output(const struct replay_cmd *cmd, struct recovery *rs, struct err *e)
{
	struct image_open_opts rw = { .writable = 1 };
	char *tmp = partial_name(cmd->output, e);
	int code;

	if (!tmp)
		return -1;
	/* SIGINT or SIGTERM until the rename: remove the copy and exit 32. */
	cancel_remove_on_exit(tmp);
	if (image_copy(cmd->image, tmp, cmd->output, e))
		return publish_output(cmd, tmp, -1, e);
	code = replay_here(cmd, rs, tmp, &rw, e);
	return publish_output(cmd, tmp, code, e);
}

/* Nothing to replay: the output is a plain copy, made under the temporary
 * name like a replayed one.  Report only once everything has succeeded. */
static int copy_unchanged(const struct replay_cmd *cmd, const struct recovery *rs,
			  struct err *e)
{
	if (cmd->output) {
		char *tmp = partial_name(cmd->output, e);
		int rc;

		if (!tmp)
			return -1;
		cancel_remove_on_exit(tmp);
		rc = image_copy(cmd->image, tmp, cmd->output, e) ? -1 : 0;
		if (publish_output(cmd, tmp, rc, e) < 0)
			return -1;
	}
	return report_nothing(cmd, rs);
}

static int do_replay(const struct replay_cmd *cmd, struct err *e)
{
	struct image_open_opts io = { .writable = 1, .undo_file = cmd->undo };
	struct recovery rs;
	ext2_filsys fs;
	int code;

	if (cmd->output && access(cmd->output, F_OK) == 0)
		return fail(e, EXIT_OPERATIONAL, "--output %s already exists; remove it first",
			    cmd->output);
	if (cmd->undo && access(cmd->undo, F_OK) == 0)
		return fail(e, EXIT_OPERATIONAL, "undo file %s already exists; remove it first",
			    cmd->undo);
	if (session_open(cmd, &fs, &rs, e))
		return -1;
	/* An external journal is written in place: open it read-write. */
	rs.opts.writable = 1;
	if (cmd->output && rs.j->external) {
		code = fail(e, EXIT_OPERATIONAL,
			    "the journal is external: --output cannot replay without changing it "
			    "(use --undo)");
	} else if (nothing_to_do(cmd, &rs)) {
		code = copy_unchanged(cmd, &rs, e);
	} else if (cmd->output) {
		code = replay_to_output(cmd, &rs, e);
	} else {
		/* In place: a signal stops the replay between two runs of
		 * blocks, and the image and undo file are closed properly
		 * (see cancel.h). */
		cancel_defer();
		code = replay_here(cmd, &rs, cmd->image, &io, e);
		cancel_undefer();
	}
	session_close(fs, &rs);
	return code;
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
		code = do_dry_run(&cmd, &e);
	} else {
		code = do_replay(&cmd, &e);
	}
	if (code < 0)
		return cli_fail(&cmd.cli, cmd.image, &e);
	return code;
}
