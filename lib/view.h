/* view.h: a filesystem as the audit should see it: the image through an
 * in-memory overlay, with its journal replayed into the overlay when it
 * needs recovery, so the image itself is never written. */
#ifndef EXT4DA_VIEW_H
#define EXT4DA_VIEW_H

#include "lib/overlay.h"
#include "lib/replay.h"

struct view_opts {
	int replay;			/* replay the journal if it needs recovery */
	const char *journal_path;	/* external journal (--journal) */
	struct verify_cache *vcache;	/* crash states: checksums already verified */
};

struct view {
	ext2_filsys fs;			/* open on the overlay */
	struct overlay *ov;
	int fd;
	int needed_recovery;		/* needs_recovery was set, or the log was not empty */
	int replayed;			/* the journal was replayed into the overlay */
	int stale_log;			/* log not empty, needs_recovery clear: discarded */
	int has_journal;
	struct jlog log;		/* what the journal held */
	struct replay_result result;	/* what replay did */
	uint32_t journal_blocks;
};

int view_open(const char *path, const struct view_opts *opts, struct view *v, struct err *e);
/* The same over an existing overlay (a crash state); lower is not owned. */
int view_open_on(struct overlay *lower, const struct view_opts *opts, struct view *v,
		 struct err *e);
void view_close(struct view *v);

#endif
