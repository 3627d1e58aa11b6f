/* crash.h: crash states of a block-write log.  A state is the base image
 * plus a durable prefix of the log (entries 0..entry), and, when writes
 * are reordered, a subset of the writes still in flight after it.  States
 * are reached incrementally: moving from one to the next applies only the
 * entries in between. */
#ifndef EXT4DA_CRASH_H
#define EXT4DA_CRASH_H

#include "lib/audit/audit.h"
#include "lib/blockdev/overlay.h"
#include "lib/journal/replay.h"
#include "lib/crash/writelog.h"

#define NO_ENTRY UINT64_MAX

struct crash_state {
	uint64_t entry;		/* last durable entry; NO_ENTRY: the base image */
	uint32_t nsubset;	/* reordered writes applied on top, in log order */
	uint64_t *subset;
};

enum points_mode { POINTS_FLUSH, POINTS_MARK, POINTS_EVERY, POINTS_LIST };

struct plan_opts {
	enum points_mode mode;
	const uint64_t *list;	/* POINTS_LIST */
	size_t nlist;
	int reorder;		/* add subsets of each epoch's unflushed writes */
	uint64_t max_states;	/* per epoch, when subsets are sampled */
	uint64_t seed;
	const uint64_t *mark_entries;	/* log entries that wrote a mark record */
	size_t nmark_entries;
};

struct crash_plan {
	struct crash_state *states;
	size_t n, cap;
	size_t sampled_epochs;	/* epochs too large to enumerate, sampled with seed */
};

int crash_plan_build(const struct wl_index *idx, const struct plan_opts *o,
		     struct crash_plan *p, struct err *e);
void crash_plan_free(struct crash_plan *p);
/* Is entry a flush point (FLUSH or FUA)? */
int entry_is_flush(const struct wl_entry *en);

/* Moves an overlay stack through the states of a plan. */
struct crash_cursor {
	struct writelog *wl;
	const struct wl_index *idx;
	struct overlay *durable;	/* base + entries [0, applied] */
	struct overlay *reordered;	/* durable + a state's subset */
	uint64_t applied;		/* NO_ENTRY: nothing applied yet */
	uint8_t *buf;
	size_t buf_len;
	struct verify_cache vcache;	/* checked by generation: valid for every state */
	struct scan_resume resume;	/* the last state's journal scan, to go on from */
};

/* Over the base image: a read-only mapping of it when base_map is not
 * NULL, else the file descriptor. */
int crash_cursor_init(struct crash_cursor *c, struct writelog *wl, const struct wl_index *idx,
		      int base_fd, const void *base_map, uint64_t base_size, struct err *e);
void crash_cursor_free(struct crash_cursor *c);
/* Bring the stack to state s; *top is the overlay holding it. */
int crash_cursor_seek(struct crash_cursor *c, const struct crash_state *s, struct overlay **top,
		      struct err *e);

/* Apply one entry (write or discard) to an overlay, or to a file. */
int apply_entry(struct crash_cursor *c, struct overlay *ov, int fd, const struct wl_entry *en,
		struct err *e);

#endif
