/* ext4da-check: audit a possibly crashed ext4 image without writing to it. */
#include "config.h"

#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/ext4da-check/check.h"
#include "lib/audit/paths.h"

const char *argp_program_version = "ext4da-check " PACKAGE_VERSION;

enum { OPT_NO_REPLAY = 256, OPT_NO_DATA, OPT_DATA, OPT_JOURNAL };

static const struct argp_option options[] = {
	{ "no-replay", OPT_NO_REPLAY, 0, 0, "Audit the raw on-disk state; do not replay the journal in memory", 0 },
	{ "data", OPT_DATA, 0, 0, "Scan file data for poison and foreign stamps (STALE)", 0 },
	{ "no-data", OPT_NO_DATA, 0, 0, "Never scan file data, even when the image carries poison", 0 },
	{ "repair", 'r', 0, 0, "Free LEAKED blocks and fix group counts, keeping an undo file", 0 },
	{ "undo", 'u', "FILE", 0, "Undo file for --repair (default IMAGE.ext4da-undo)", 0 },
	{ "journal", OPT_JOURNAL, "PATH", 0, "The external journal device (default: found by UUID)", 0 },
	{ "superblock", 'b', "N", 0, "Use the backup superblock at block N (as e2fsck -b)", 0 },
	{ 0 }
};

static int parse_block(const char *arg, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || v == 0 || v > UINT32_MAX || arg[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct check_cmd *cmd = state->input;

	switch (key) {
	case OPT_NO_REPLAY: cmd->no_replay = 1; break;
	case OPT_DATA: cmd->data.forced = 1; break;
	case OPT_NO_DATA: cmd->data.forced = 0; break;
	case 'r': cmd->repair = 1; break;
	case 'u': cmd->undo = arg; break;
	case OPT_JOURNAL: cmd->journal_path = arg; break;
	case 'b':
		if (parse_block(arg, &cmd->superblock))
			argp_error(state, "--superblock: '%s' is not a block number above 0", arg);
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
		if (cmd->undo && !cmd->repair)
			argp_error(state, "--undo goes with --repair");
		if (cmd->repair && cmd->no_replay)
			argp_error(state, "--repair works on a recovered image: drop --no-replay");
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
	"Audit a possibly crashed ext4 image: leaked reservations, unmarked or doubly "
	"owned blocks, blocks past EOF, and stale data. Nothing is written unless "
	"--repair is given.\v"
	"If the journal needs recovery it is replayed into memory first. Exit status: "
	"0 no errors, 1 errors repaired, 4 errors found and left, 8 operational error, "
	"16 usage error, 32 cancelled by SIGINT or SIGTERM.",
	children, NULL, NULL
};

int repair_image(const struct check_cmd *cmd, const struct findings *f,
		 const struct audit_stats *st, char *undo_used, size_t len, struct err *e);

/* A recorded device was poisoned before mkfs, and its free blocks still
 * are: sample the first sector of free blocks across the filesystem. */
static void sample_free_blocks(ext2_filsys fs, struct datascan *d)
{
	uint64_t total = ext2fs_blocks_count(fs->super), step = total / 64 + 1;
	uint64_t per_block = fs->blocksize / 512;
	uint8_t *buf = malloc(fs->blocksize);

	if (!buf)
		return;
	for (uint64_t b = fs->super->s_first_data_block; b < total; b += step) {
		blk64_t free_blk;

		if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, b, total - 1, &free_blk))
			break;
		if (io_channel_read_blk64(fs->io, free_blk, 1, buf) == 0)
			datascan_sample(d, buf, free_blk * per_block);
	}
	free(buf);
}

/* The on-disk bitmaps as bit arrays when that is smaller than as trees:
 * a tree costs some 40 bytes a run, an array one bit a block, so a
 * fragmented bitmap is smaller as an array and a mostly empty or mostly
 * full one as a tree.  The runs are estimated from the bitmap blocks of up
 * to 32 evenly spaced groups.  The audit's own maps stay trees.  A failure
 * is left to the audit, which reads the bitmaps again and says what went
 * wrong. */
#define TREE_BYTES_PER_RUN 40
#define SAMPLE_GROUPS 32

static uint64_t estimated_tree_bytes(ext2_filsys fs)
{
	uint32_t bits = EXT2_CLUSTERS_PER_GROUP(fs->super), step;
	uint64_t runs = 0, sampled = 0;
	uint8_t *buf;

	if (bits > fs->blocksize * 8U || !(buf = malloc(fs->blocksize)))
		return 0;
	step = fs->group_desc_count / SAMPLE_GROUPS + 1;
	for (dgrp_t g = 0; g < fs->group_desc_count; g += step) {
		blk64_t loc = ext2fs_block_bitmap_loc(fs, g);
		int prev = 0;

		sampled++;
		if ((ext2fs_has_group_desc_csum(fs) && ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT)) ||
		    !loc || loc >= ext2fs_blocks_count(fs->super) ||
		    io_channel_read_blk64(fs->io, loc, 1, buf))
			continue;
		for (uint32_t i = 0; i < bits; i++) {
			int bit = (buf[i / 8] >> (i % 8)) & 1;

			runs += bit && !prev;
			prev = bit;
		}
	}
	free(buf);
	return sampled ? runs * fs->group_desc_count / sampled * TREE_BYTES_PER_RUN : 0;
}

static void read_bitmaps_compactly(ext2_filsys fs)
{
	uint16_t type = fs->default_bitmap_type;
	uint64_t array = EXT2FS_NUM_B2C(fs, ext2fs_blocks_count(fs->super)) / 8 +
			 fs->super->s_inodes_count / 8;

	if (array < estimated_tree_bytes(fs))
		fs->default_bitmap_type = EXT2FS_BMAP64_BITARRAY;
	if (ext2fs_read_bitmaps(fs)) {
		if (fs->block_map)
			ext2fs_free_block_bitmap(fs->block_map);
		if (fs->inode_map)
			ext2fs_free_inode_bitmap(fs->inode_map);
		fs->block_map = NULL;
		fs->inode_map = NULL;
	}
	fs->default_bitmap_type = type;
}

static void report_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)total;
	progress_update(ctx, done);
	cancel_point();	/* reading only: a signal here ends the run at once */
}

static int run_audit(struct check_cmd *cmd, struct view *v, struct findings *f,
		     struct audit_stats *st, struct err *e)
{
	struct audit_opts ao = { 0 };
	struct progress prog;
	int rc;

	char warning[300];

	read_bitmaps_compactly(v->fs);
	if (cmd->data.forced != 0 && ext2fs_read_block_bitmap(v->fs) == 0)
		sample_free_blocks(v->fs, &cmd->data);
	datascan_fill_warning(&cmd->data, warning, sizeof(warning));
	if (warning[0] && !cmd->cli.quiet)
		cli_warn(&cmd->cli, cmd->image, "%s", warning);
	ao.data_scan = datascan_on(&cmd->data);
	ao.keep_owner_map = cmd->repair;
	ao.desc_damage = v->desc_damage;
	progress_start(&prog, &cmd->cli, "inodes", v->fs->super->s_inodes_count);
	ao.progress = report_progress;
	ao.progress_ctx = &prog;
	rc = audit_run(v->fs, &ao, f, st, e);
	progress_end(&prog);
	return rc;
}

/* What the view could not use: the primary superblock, the journal. */
static void damage_findings(const struct view *v, struct findings *f)
{
	struct finding x = { .code = F_CORRUPT, .severity = SEV_ERROR, .group = NO_GROUP };

	if (v->sb_used && v->sb_problem[0])
		snprintf(x.detail, sizeof(x.detail),
			 "the primary superblock is unusable (%.60s): audited with the backup superblock "
			 "at block %llu (as e2fsck -b %llu)", v->sb_problem,
			 (unsigned long long)v->sb_used, (unsigned long long)v->sb_used);
	else if (v->sb_used)
		snprintf(x.detail, sizeof(x.detail),
			 "audited with the superblock at block %llu (--superblock)",
			 (unsigned long long)v->sb_used);
	if (v->sb_used) {
		x.severity = v->sb_problem[0] ? SEV_ERROR : SEV_INFO;
		findings_add(f, &x);
	}
	if (!v->journal_damage[0])
		return;
	x.severity = SEV_ERROR;
	x.ino = v->fs->super->s_journal_inum;
	snprintf(x.detail, sizeof(x.detail), "journal damaged (%.120s): not replayed; audited the %s state",
		 v->journal_damage, v->needed_recovery ? "raw" : "on-disk");
	findings_add(f, &x);
}

/* The fast commit replayed after the full commits, if any. */
static const char *fast_commit_note(const struct view *v)
{
	static char note[96];

	if (!v->log.fc.present)
		return "";
	if (v->result.fc.failed)
		snprintf(note, sizeof(note), ", then the fast commit for tid %u until it failed",
			 v->log.fc.log.expected_tid);
	else
		snprintf(note, sizeof(note), ", then the fast commit for tid %u (%zu tags)",
			 v->log.fc.log.expected_tid, v->result.fc.applied);
	return note;
}

static void journal_findings(const struct view *v, struct findings *f)
{
	struct finding x = { .code = F_JOURNAL, .severity = SEV_INFO, .group = NO_GROUP };

	damage_findings(v, f);
	if (!v->has_journal || v->journal_damage[0])
		return;
	if (v->replayed && replay_incomplete(&v->result))
		x.severity = SEV_ERROR;
	if (v->replayed && v->result.transactions) {
		char line[512];

		snprintf(line, sizeof(line),
			 "journal needed recovery: replayed %zu transaction(s), tid %u to %u, in memory "
			 "(%zu home blocks)%s%s", v->result.transactions, v->result.first_tid,
			 v->result.end_tid - 1, v->result.blocks_written, fast_commit_note(v),
			 replay_incomplete(&v->result) ? "; some committed data could not be replayed "
							 "(ext4da-replay --dry-run says which)" : "");
		memcpy(x.detail, line, sizeof(x.detail) - 1);
		x.detail[sizeof(x.detail) - 1] = 0;
	} else if (v->replayed)
		snprintf(x.detail, sizeof(x.detail),
			 "journal needed recovery but held no committed transaction%s",
			 replay_incomplete(&v->result) ? "; its log is corrupt (ext4da-replay --dry-run "
							 "says how)" : "");
	else if (v->stale_log)
		snprintf(x.detail, sizeof(x.detail),
			 "the log is not empty but needs_recovery is clear: the kernel discards it at "
			 "mount, so it was not replayed");
	else if (v->needed_recovery)
		snprintf(x.detail, sizeof(x.detail),
			 "journal needs recovery (%zu committed transaction(s)); audited the raw "
			 "on-disk state", jlog_committed(&v->log));
	else
		return;
	findings_add(f, &x);
}

int main(int argc, char **argv)
{
	struct check_cmd cmd = { .cli = { .tool = "ext4da-check", .progress = -1 },
				 .data = { .forced = -1 } };
	struct view_opts vo = { 0 };
	struct findings f = { 0 };
	struct audit_stats st;
	struct err e = { 0 };
	struct view v;
	char undo[4096] = "";
	int code;

	argp_err_exit_status = EXIT_USAGE;
	argv[0] = (char *)cmd.cli.tool;
	argp_parse(&argp, argc, argv, 0, NULL, &cmd);
	cancel_init(cmd.cli.tool, cmd.image);
	vo.replay = !cmd.no_replay;
	vo.journal_path = cmd.journal_path;
	vo.keep_damage = 1;
	vo.superblock = cmd.superblock;
	if (cmd.repair && repair_undo_free(&cmd, &e))
		return cli_fail(&cmd.cli, cmd.image, &e);
	if (view_open(cmd.image, &vo, &v, &e))
		return cli_fail(&cmd.cli, cmd.image, &e);
	journal_findings(&v, &f);
	if (run_audit(&cmd, &v, &f, &st, &e)) {
		view_close(&v);
		findings_free(&f);
		return cli_fail(&cmd.cli, cmd.image, &e);
	}
	if (findings_name_paths(v.fs, &f))
		cli_warn(&cmd.cli, cmd.image, "out of memory naming the findings' inodes");
	code = findings_errors(&f) ? EXIT_PROBLEMS : EXIT_CLEAN;
	if (cmd.repair && code == EXIT_PROBLEMS) {
		if (v.sb_used) {
			cli_warn(&cmd.cli, cmd.image,
				 "not repairing: audited a backup superblock; repair with e2fsck -b %llu",
				 (unsigned long long)v.sb_used);
		} else if (v.needed_recovery && v.journal_damage[0]) {
			cli_warn(&cmd.cli, cmd.image, "not repairing: the journal is damaged");
		} else if (v.needed_recovery) {
			fail(&e, EXIT_OPERATIONAL,
			     "the journal needs recovery: replay it first (ext4da-replay --undo FILE)");
			code = -1;
		} else {
			/* The repair's writes are few: once begun they finish, and
			 * a signal before them stops the run with nothing written. */
			cancel_defer();
			code = repair_image(&cmd, &f, &st, undo, sizeof(undo), &e);
			cancel_undefer();
		}
	}
	if (code >= 0)
		print_check_report(&cmd, &v, &f, &st, code, undo[0] ? undo : NULL);
	if (st.owner_map)
		ext2fs_free_block_bitmap(st.owner_map);
	view_close(&v);
	free(st.dirs_per_group);
	findings_free(&f);
	return code < 0 ? cli_fail(&cmd.cli, cmd.image, &e) : code;
}
