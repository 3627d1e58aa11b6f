/* view.h: a filesystem as the audit should see it: the image through an
 * in-memory overlay, with its journal replayed into the overlay when it
 * needs recovery, so the image itself is never written. */
#ifndef EXT4DA_VIEW_H
#define EXT4DA_VIEW_H

#include "lib/audit/audit.h"
#include "lib/blockdev/overlay.h"
#include "lib/journal/replay.h"

struct view_opts {
	int replay;			/* replay the journal if it needs recovery */
	const char *journal_path;	/* external journal (--journal) */
	struct verify_cache *vcache;	/* crash states: checksums already verified */
	struct scan_resume *resume;	/* crash states: the last state's journal scan */
	/* ext4da-check: audit what can be read.  Unusable descriptor
	 * locations, a bad primary superblock (a backup is used) and a
	 * damaged journal (not replayed) are recorded, not refused. */
	int keep_damage;
	uint64_t superblock;		/* open with this backup superblock */
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
	struct desc_damage *desc_damage;	/* per group, NULL if none */
	uint64_t sb_used;		/* a backup superblock was used: where */
	unsigned int sb_blocksize;	/* ... and with which block size */
	char sb_problem[160];		/* why the primary was not (empty if asked) */
	char journal_damage[200];	/* why the journal was not replayed */
};

int view_open(const char *path, const struct view_opts *opts, struct view *v, struct err *e);
/* The same over an existing overlay (a crash state); lower is not owned. */
int view_open_on(struct overlay *lower, const struct view_opts *opts, struct view *v,
		 struct err *e);
void view_close(struct view *v);

#endif
