/* campaign.h: a crash campaign as one object: the base image (mapped once,
 * read by every state and every worker without a system call), the write
 * log and its index, the durability marks, and the plan of crash states
 * with named marks resolved.  Opened once; a cursor then walks its states
 * forward, each reached from the previous one by the entries in between,
 * and a state is opened (replayed and audited) or written out from the
 * cursor where it stands, never by replaying the log from the base again
 * (design.md §3). */
#ifndef EXT4DA_CAMPAIGN_H
#define EXT4DA_CAMPAIGN_H

#include "lib/crash/crash.h"
#include "lib/crash/durability.h"
#include "lib/audit/view.h"

struct campaign_opts {
	const char *base, *log;
	struct plan_opts plan;		/* mark_entries are filled in by the campaign */
	const char *mark_names;		/* --points mark:NAME,...: comma-separated */
	const char *start_mark, *end_mark;	/* keep the states between these marks */
};

struct campaign {
	const char *base_path, *log_path;
	int base_fd;
	uint64_t base_size;
	const uint8_t *base_map;	/* NULL: read through base_fd */
	struct writelog *wl;
	struct wl_index idx;
	struct log_marks marks;
	uint64_t *mark_entries;		/* entries that wrote a mark record */
	uint64_t *points;		/* resolved --points mark:NAME entries */
	size_t npoints;
	struct crash_plan plan;
};

/* Bad input fails with EXIT_OPERATIONAL (base, log) or EXIT_USAGE (an
 * unknown mark name), one line naming the input.  c is closable after a
 * failure too. */
int campaign_open(const struct campaign_opts *o, struct campaign *c, struct err *e);
void campaign_close(struct campaign *c);

/* Is entry i the mark called name: a dm-log-writes MARK with that text, or
 * a write of an ext4da-mark record with that name? */
int campaign_is_mark(const struct campaign *c, uint64_t i, const char *name);

/* A cursor over this campaign's states, on the shared base. */
int campaign_cursor(const struct campaign *c, struct crash_cursor *cur, struct err *e);
/* Bring cur to state i; *top holds it (before journal replay). */
int campaign_seek(const struct campaign *c, struct crash_cursor *cur, size_t i,
		  struct overlay **top, struct err *e);

/* One state, opened at the cursor: replayed as a mount would and audited. */
struct campaign_state {
	size_t index;
	const struct crash_state *s;
	struct overlay *top;		/* the state before journal replay */
	struct view view;		/* the state recovered; valid if opened */
	int opened;
	int unreadable;			/* could not be opened or audited: note says why */
	int durability_broken;		/* a mark's claim does not hold: note says which */
	struct findings findings;
	struct audit_stats stats;
	char note[600];
};

int campaign_state_open(const struct campaign *c, struct crash_cursor *cur, size_t i,
			int data_scan, struct campaign_state *st);
void campaign_state_close(struct campaign_state *st);

/* Write the image ov holds (the base plus its writes) to path, never
 * leaving a partial file under that name: a temporary file beside it,
 * removed on SIGINT/SIGTERM, fsynced, then linked into place.  An existing
 * path is an error unless replace. */
int campaign_write_image(const struct campaign *c, struct overlay *ov, const char *path,
			 int replace, struct err *e);

/* A scratch copy of the image ov holds, for a hook to read: a file in dir
 * that is unlinked at once, so that nothing is left behind however this
 * process ends (even SIGKILL), and is reached by the name /proc/PID/fd/N,
 * which goes to name.  Returns its fd (the caller closes it), or -1 with e
 * set. */
int campaign_scratch_image(const struct campaign *c, struct overlay *ov, const char *dir,
			   char *name, size_t len, struct err *e);

#endif
