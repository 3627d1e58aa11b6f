/* replay.h: the revoke and replay passes over a scanned log, writing into a
 * pluggable sink: the image itself, an in-memory overlay, or nothing (dry run).
 * Each home block is written once, with its newest valid copy, which is
 * the state sequential jbd2 replay leaves behind. */
#ifndef EXT4DA_REPLAY_H
#define EXT4DA_REPLAY_H

#include "lib/blockdev/blockmap.h"
#include "lib/journal/journal_scan.h"
#include "lib/journal/verify_cache.h"

struct replay_sink {
	/* buf holds count adjacent home blocks from fs_block on, already
	 * un-escaped.  Replay calls it in increasing block order. */
	int (*write)(struct replay_sink *sink, uint64_t fs_block, uint32_t count, const void *buf,
		     struct err *e);
	void *ctx;
	uint64_t unsynced;	/* io sink: bytes written since write-back was started */
};

/* Sink writing home blocks through an io channel: the image itself, an
 * --output copy, the undo manager, or an overlay.  One channel write per
 * run of adjacent blocks; on a file or device of the unix manager, the
 * kernel is asked to start writing them back every 16 MiB. */
void io_sink_init(struct replay_sink *sink, io_channel io);

/* Sink that writes nothing (dry run). */
void null_sink_init(struct replay_sink *sink);

struct replay_opts {
	int has_upto;
	uint32_t upto;		/* replay transactions up to and including this tid */
	uint64_t fs_blocks;	/* size of the filesystem; copies beyond it are bad */
	/* Called now and then with the number of logged copies handled so far
	 * (verification) and then home blocks written, out of total. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	struct verify_cache *vcache;	/* optional: checksums already verified */
	/* Verify the copies that a newer valid copy superseded after the
	 * home blocks are written, in a thread, while the caller flushes
	 * them; the caller calls replay_settle before it uses the result.
	 * Done only where that is safe (a mapped log that nothing written
	 * lands in), else everything is verified before writing, as without. */
	int defer_superseded;
};

enum bad_reason { BAD_CHECKSUM, BAD_BEYOND_FS };

struct bad_copy {
	enum bad_reason reason;
	uint32_t tid;
	uint64_t fs_block;
	uint32_t log_block;
};

struct replay_result {
	uint32_t first_tid, end_tid;	/* replayed transactions [first_tid, end_tid) */
	size_t transactions;
	size_t tags;			/* logged copies in those transactions */
	size_t revoked;			/* copies skipped because a revoke covers them */
	size_t blocks_written;		/* distinct home blocks written */
	size_t blocks_lost;		/* home blocks whose newest copy was unusable */
	struct bad_copy *bad;		/* copies skipped: bad tag checksum, or beyond the fs */
	size_t nbad, bad_cap;
	int fatal;			/* nothing replayed: the kernel would refuse */
	uint32_t failed_commit;		/* e2fsck's j_failed_commit: fs marked with errors */
	uint32_t corrupt_commit;	/* first commit that failed its checksum: it and all
					 * later transactions were not replayed */
	uint32_t new_sequence;		/* s_sequence for the emptied journal */
	struct fc_result fc;		/* the fast commit replayed after them */
	int fc_dropped;			/* a fast commit was there but not replayed (--upto) */
	struct replay_pending *pending;	/* defer_superseded: not settled yet */
};

/* Check --upto against the log: it must name a replayable transaction. */
int replay_check_upto(const struct jlog *log, uint32_t upto, struct err *e);

int replay_into(struct journal *j, const struct jlog *log, const struct replay_opts *opts,
		struct replay_sink *sink, struct replay_result *r, struct err *e);
/* Wait for the verification left running by defer_superseded and
 * complete r with it: the bad copies, the home blocks lost.  Nothing to
 * do otherwise. */
int replay_settle(struct replay_result *r, struct err *e);

/* Frees r (settling it first if it is still pending). */
void replay_result_free(struct replay_result *r);

/* Did anything committed fail to reach the image?  (exit 4) */
int replay_incomplete(const struct replay_result *r);

#endif
