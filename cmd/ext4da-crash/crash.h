/* crash.h: pieces of the ext4da-crash front-end. */
#ifndef EXT4DA_CMD_CRASH_H
#define EXT4DA_CMD_CRASH_H

#include <stdio.h>

#include "lib/crash/campaign.h"
#include "lib/core/cli.h"
#include "lib/crash/crash.h"
#include "lib/crash/layout.h"
#include "lib/core/datascan.h"

/* Failure classes beyond the audit's finding codes. */
enum { FAIL_UNREADABLE = F_NCODES, FAIL_FSCK, FAIL_DURABILITY, FAIL_CHECK, FAIL_NCLASSES };

struct crash_cmd {
	struct cli cli;
	const char *base, *log;
	struct plan_opts plan;
	uint64_t *points;
	size_t npoints;
	int seed_given;
	unsigned fail_mask;		/* finding codes that fail a state */
	const char *fsck_cmd;
	const char *check_cmd;		/* --check-cmd: its exit status decides */
	const char *save_dir;
	int has_materialize;
	uint64_t materialize;
	const char *materialize_file;
	unsigned jobs;
	unsigned shard_k, shard_n;	/* 1-based; 0/0: no sharding */
	struct datascan data;		/* forced: 1 --data, 0 --no-data, -1 if the base carries poison */
	int allow_empty;		/* zero states is not an error */
	char *mark_names;		/* --points mark:NAME,...: the names, comma-separated */
	const char *start_mark, *end_mark;	/* keep the states between these marks */
	char *plan_args;		/* options that rebuild the same plan, shell-quoted */
	int list;			/* --list */
	int has_explain;
	uint64_t explain;		/* --explain N */
};

/* A failing finding, small enough that a state's result crosses a pipe
 * from a worker in one atomic write. */
#define STATE_FINDINGS 8
struct state_finding {
	uint8_t code;
	uint32_t ino;
	uint64_t block, blocks;		/* physical range; blocks == 0 if none */
	int has_logical;
	uint64_t lblk, lblocks;
	char detail[112];		/* cut to fit; --save keeps ext4da-check's whole JSON */
	char path[96];			/* the inode's pathname, "" if none */
};

struct state_result {
	size_t state;			/* index in the plan */
	uint64_t entry;
	uint32_t nsubset;
	int failed;
	unsigned classes;		/* bit per failing class */
	size_t count[F_NCODES];		/* error findings per code */
	int fsck_exit;			/* -1: not run */
	int check_exit;			/* -1: not run */
	/* UNCONVERTED, an information class: unwritten extents inside i_size
	 * (data written and lost, or fallocate's own). */
	uint32_t unconverted_files;
	uint64_t unconverted_blocks;
	char note[480];			/* why, for UNREADABLE/DURABILITY */
	char fsck_output[640];		/* the end of --fsck-cmd's output when it failed */
	char check_output[640];		/* the same for --check-cmd */
	uint32_t nfindings;		/* in findings[], merged into ranges */
	uint32_t findings_omitted;	/* failing findings beyond STATE_FINDINGS */
	struct state_finding findings[STATE_FINDINGS];
};

/* What the summary says beyond the per-state results. */
struct campaign_summary {
	size_t first_bad, last_good;	/* indexes into the results; SIZE_MAX: none */
	char empty[160];		/* why no state was checked, or "" */
};

_Static_assert(sizeof(struct state_result) <= 4096,
	       "a state's result must fit one atomic pipe write (PIPE_BUF)");

/* run.c: the campaign and what this run does with it */
struct run {
	struct crash_cmd *cmd;
	struct campaign c;
};

int open_run(struct run *rn, struct crash_cmd *cmd, struct err *e);
/* Decide the data scan from the base, once. */
void sample_base(struct run *rn);
/* Evaluate state i at the cursor into r; with keep, the opened state is
 * handed over (campaign_state_close it) instead of closed, and with
 * hook_out the descriptors holding all --fsck-cmd and --check-cmd printed
 * (-1 if it did not run; the caller closes them). */
void evaluate_state(struct run *rn, struct crash_cursor *cur, size_t i, int data,
		    struct state_result *r, struct campaign_state *keep, int *hook_out);
int run_campaign(struct crash_cmd *cmd, struct err *e);
int materialize_state(struct crash_cmd *cmd, uint64_t state, const char *file, struct err *e);

/* list.c: --list */
int list_log(struct crash_cmd *cmd, struct err *e);
int log_layout(struct campaign *c, struct fs_layout *l);
void entry_hits(const struct campaign *c, const struct fs_layout *l, const struct wl_entry *en,
		unsigned *kinds, char *buf, size_t len);
const char *entry_mark_record(const struct campaign *c, uint64_t i);

/* explain.c: --explain N */
int explain_state(struct crash_cmd *cmd, uint64_t state, struct err *e);

/* report.c */
void describe_state(const struct crash_plan *p, size_t i, char *buf, size_t len);
void print_finding(const char *indent, const struct finding *x);
const char *fail_class_name(int c);
void state_json(FILE *out, const struct crash_cmd *cmd, const struct crash_plan *p,
		const struct state_result *r);
void print_summary(const struct crash_cmd *cmd, const struct crash_plan *p,
		   const struct state_result *results, size_t n, const struct campaign_summary *sum);

#endif
