/* log_reader.h: the live log read once.  Where the journal lies in a file
 * or block device opened with the unix io manager, the reader maps it
 * read-only and hands out pointers into the page cache: no copy of the
 * log, no memory of our own to fill, and read-ahead asked for along the
 * log's order.  Elsewhere (an overlay, the undo manager, a mapping the
 * kernel refuses) the scan pass reads ahead along the log's order
 * (wrapping at its end) in chunks that grow to 4 MiB, and keeps what it
 * read, up to a memory budget, so that the replay pass takes its copies
 * from memory instead of reading the log again.  Blocks past the budget,
 * or outside the circular log, come through a window of consecutive
 * blocks read with one I/O.  Through an overlay stack over a mapped base
 * (a crash state) the reader hands out the stack's own chunks instead
 * (not with EXT4DA_NO_STATE_CACHE=1, which tests compare against). */
#ifndef EXT4DA_LOG_READER_H
#define EXT4DA_LOG_READER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/journal/journal.h"

struct overlay;

#define LOG_READER_BUDGET ((size_t)256 << 20)	/* bytes of log kept in memory */

struct log_reader {
	struct journal *j;	/* read through j->io; replaced by log_reader_bind */
	uint32_t start;		/* journal block that is first in log order */
	uint32_t span;		/* blocks in the circular log (last - first) */
	uint8_t *mem;		/* log order [0, have) from start */
	size_t mem_len;
	uint32_t have, cap;	/* cap: the budget, in blocks */
	uint32_t chunk;		/* next read-ahead, in blocks */
	uint8_t *win;		/* fallback window */
	uint32_t win_first, win_count, win_cap;
	uint64_t reads, bytes;	/* I/O done, for tests and benchmarks */
	/* The mapped journal (map != NULL): device block d is at
	 * map + (d - map_first) * blocksize. */
	const uint8_t *map;
	void *map_base;		/* what munmap takes */
	size_t map_len;
	uint64_t map_first;
	uint64_t *extents;	/* the journal's device runs, [first, end) pairs, sorted */
	size_t nextents;
	uint32_t advised;	/* read-ahead asked for up to this log position */
	/* A journal read through an overlay stack over a mapped base (crash
	 * states): blocks are handed out from the stack's own chunks, no copy.
	 * The stack is the one below the (empty) overlay the journal was
	 * opened on, so that replaying into that overlay never changes what
	 * the reader shows. */
	const struct overlay *peek;
};

/* A reader of j's log starting at jblk start, keeping at most budget bytes. */
int log_reader_init(struct log_reader *r, struct journal *j, uint32_t start, size_t budget,
		    struct err *e);
void log_reader_free(struct log_reader *r);

/* Read through another open of the same journal from now on (what was read
 * stays valid: the log's content is the same). */
void log_reader_bind(struct log_reader *r, struct journal *j);

/* Journal block jblk if it is already in memory (no I/O), else NULL.  The
 * pointer stays valid until log_reader_free (or log_reader_unmap); blocks
 * next to each other in log order are next to each other there, when
 * they are on the device too. */
const uint8_t *log_reader_kept(const struct log_reader *r, uint32_t jblk);

/* Journal block jblk (< j->maxlen), valid until the next call. */
const uint8_t *log_reader_get(struct log_reader *r, uint32_t jblk, struct err *e);

/* Does device block dev hold a block of the journal?  Only answered for a
 * mapped journal (0 otherwise): a write there would change what the
 * mapping shows. */
int log_reader_maps(const struct log_reader *r, uint64_t dev);

/* Stop using the mapping and read the log into memory from now on, as an
 * unmapped reader does: before writing over the journal's own blocks,
 * so that the log read stays the log as it was.  Pointers handed out
 * before are invalid after. */
int log_reader_unmap(struct log_reader *r, struct err *e);

#endif
