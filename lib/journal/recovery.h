/* recovery.h: one journal recovery session, as the kernel recovers at
 * mount: open the journal, scan the log once, resolve --upto, replay the
 * full commits into a sink, and finish the superblocks (an empty log with
 * a fresh sequence number, needs_recovery cleared, and the state flags
 * that tell fsck what went wrong).  ext4da-replay's list, dry run and
 * replay, the check view and (through it) the crash states are its
 * callers; the fast commit is replayed by lib/journal/fc_replay.c after it. */
#ifndef EXT4DA_RECOVERY_H
#define EXT4DA_RECOVERY_H

#include "lib/journal/replay.h"

struct recovery_opts {
	const char *journal_path;	/* external journal (--journal); NULL: by UUID */
	int writable;			/* open an external journal read-write */
	int has_upto;
	uint32_t upto;			/* replay up to and including this tid */
	struct verify_cache *vcache;	/* crash states: checksums already verified */
	/* replay_opts.defer_superseded: recovery_finish settles the result
	 * after its flush of the home blocks.  Only for callers that go on
	 * to recovery_finish before they read the result. */
	int defer_superseded;
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	struct scan_resume *resume;	/* crash states: go on from the last state's scan */
};

struct recovery {
	ext2_filsys fs;			/* the filesystem replayed into; not owned */
	struct journal *j;
	struct recovery_opts opts;
	struct jlog log;		/* the one scan of this session */
	struct replay_result result;	/* what recovery_replay did */
	int replayed;
};

/* Open fs's journal and scan its log; with --upto, check that it names a
 * replayable transaction.  On failure nothing is left to close. */
int recovery_open(struct recovery *rs, ext2_filsys fs, const struct recovery_opts *o,
		  struct err *e);
void recovery_close(struct recovery *rs);

/* Is there anything to recover: a log, or needs_recovery set? */
int recovery_needed(const struct recovery *rs);

/* Go on in another open of the same image (read-write, through the undo
 * manager, or an --output copy): the journal is opened again there, and
 * the scan, already made, is kept.  Fails if the journal superblock is
 * not the one that was scanned. */
int recovery_rebind(struct recovery *rs, ext2_filsys fs, struct err *e);

/* Replay the full commits (up to --upto) into sink; the result is in
 * rs->result.  A fast commit there is left to the caller, or marked
 * dropped with --upto. */
int recovery_replay(struct recovery *rs, struct replay_sink *sink, struct err *e);

/* After the replay: the journal's superblock (empty log, new sequence,
 * errno cleared) and the filesystem's (needs_recovery cleared, state).
 * The home blocks are flushed before the journal's superblock is written,
 * and that before the filesystem's; the last write is durable once the
 * image is closed (image_close flushes).  A deferred verification
 * (defer_superseded) runs beside the first flush and is settled before
 * anything is written after it. */
int recovery_finish(struct recovery *rs, struct err *e);

/* Only the filesystem superblock's part, for in-memory views where the
 * journal itself need not be marked empty. */
int recovery_finish_fs_only(struct recovery *rs, struct err *e);

/* Hand the scan (without the log's bytes) and the result over to the
 * caller, which frees them with jlog_free and replay_result_free: a view
 * that outlives the session. */
void recovery_take(struct recovery *rs, struct jlog *log, struct replay_result *r);

#endif
