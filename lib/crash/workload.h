/* workload.h: bounded workloads for crash-consistency campaigns (issue 12,
 * after CrashMonkey's ACE idea, written from its description): every
 * sequence of one operation, and every (or a seeded sample of the)
 * sequence of two, from a small vocabulary over three files in two
 * directories, each operation followed by one persistence point.
 *
 * The filesystem is modelled (which names exist, file sizes, one known
 * hole per file), so that each operation picks a target it applies to and
 * the sequences that cannot run (unlinking a file twice, sync_file_range
 * after rmdir) are left out of the numbering.  Workload k of a space is a
 * pure function of (seq, k) and, for samples, of (seed, sample size).
 *
 * The script (workload_script.c) sets up the files, syncs, and runs each
 * step, and records through ext4da-mark what each persistence point
 * guarantees (a claims mark, lib/core/mark.h): ext4da-crash checks it. */
#ifndef EXT4DA_WORKLOAD_H
#define EXT4DA_WORKLOAD_H

#include <stdint.h>
#include <stdio.h>

#define WL_MAX_SEQ 2

enum wl_op {
	WOP_APPEND,		/* buffered write at EOF */
	WOP_OVERWRITE,		/* buffered, a whole block inside the file */
	WOP_UNALIGNED,		/* buffered, 1 KiB inside a block */
	WOP_PAST_EOF,		/* buffered, leaving a hole before it */
	WOP_HOLE,		/* buffered, into a hole */
	WOP_DIRECT,		/* O_DIRECT write */
	WOP_MMAP,		/* store through a shared mapping, msync */
	WOP_KEEP_SIZE,		/* fallocate KEEP_SIZE past EOF */
	WOP_PUNCH,		/* fallocate PUNCH_HOLE */
	WOP_ZERO,		/* fallocate ZERO_RANGE */
	WOP_TRUNC_UP,
	WOP_TRUNC_DOWN,
	WOP_LINK,
	WOP_UNLINK,
	WOP_RENAME_NEW,		/* to a name that does not exist, across directories */
	WOP_RENAME_OVER,	/* over an existing file, in one directory */
	WOP_MKDIR,
	WOP_RMDIR,
	WOP_NOPS
};

enum wl_persist { WP_NONE, WP_FSYNC, WP_FDATASYNC, WP_SYNC_RANGE, WP_SYNC, WP_NPERSIST };

struct wl_step {
	enum wl_op op;
	enum wl_persist persist;
};

const char *wl_op_name(enum wl_op op);
const char *wl_persist_name(enum wl_persist p);

/* A space of workloads: every sequence of seq steps, or sample of them
 * drawn without repetition by seed. */
struct wl_space {
	unsigned seq;		/* 1..WL_MAX_SEQ */
	uint64_t sample;	/* 0: all */
	uint64_t seed;
};

/* How many workloads the space holds. */
uint64_t wl_count(const struct wl_space *s);

/* The steps of workload k (steps[] has s->seq slots); -1 if k >= count. */
int wl_get(const struct wl_space *s, uint64_t k, struct wl_step *steps);

/* "append d0/a fsync; unlink d0/b none": the steps with their targets. */
void wl_describe(const struct wl_step *steps, unsigned n, char *buf, size_t len);

/* Print the busybox sh script of workload k (steps from wl_get).
 * Returns 0, or -1 if out reported a write error. */
int wl_script(FILE *out, const struct wl_space *s, uint64_t k, const struct wl_step *steps);

/* --- the model, shared by workload.c and workload_script.c ------------ */

/* The names a workload can use: fixed, so that scripts are reproducible. */
enum wl_path { WL_ROOT, WL_D0, WL_D1, WL_A, WL_B, WL_C, WL_E, WL_X, WL_L, WL_N, WL_NPATHS };

struct wl_file {
	uint64_t size;
	uint64_t hole_lo, hole_hi;	/* a known hole, if hole_hi > hole_lo */
};

struct wl_model {
	int8_t present[WL_NPATHS];	/* the name exists */
	int8_t obj[WL_NPATHS];		/* file paths: the file (wl_file) it names */
	struct wl_file file[3];
	/* Claims the marks made so far, which a change must release first. */
	int8_t name_claimed[WL_NPATHS];
	int8_t file_claimed[3];
	/* Written since its last sync: msync of a range claims the whole file
	 * only when nothing else of it is pending. */
	int8_t file_dirty[3];
};

/* An operation resolved against a model: its targets and numbers. */
struct wl_action {
	enum wl_op op;
	enum wl_persist persist;
	int file;		/* the file path acted on, or -1 */
	int from, to;		/* namespace operations: source and target path */
	uint64_t off, len, size;
	int dirs[2];		/* directories fsync/fdatasync applies to */
	int ndirs;
};

const char *wl_path_name(int p);
int wl_path_parent(int p);
int wl_path_is_dir(int p);
void wl_model_init(struct wl_model *m);
/* Fill a for step on m; -1 if the step cannot run there. */
int wl_resolve(const struct wl_model *m, const struct wl_step *step, struct wl_action *a);
void wl_apply(struct wl_model *m, const struct wl_action *a);

#endif
