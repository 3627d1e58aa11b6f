/* verify_cache.h: which journal blocks passed their tag checksum for which
 * transaction, kept across the replays of successive crash states of one
 * device.  An entry holds the generation of the block's bytes in the
 * overlay stack (overlay_generation()), and counts only while the block
 * still has that generation: nobody needs to say what changed.
 * EXT4DA_NO_STATE_CACHE=1 in the environment turns it off (every state
 * verifies every checksum again), for tests that compare the two. */
#ifndef EXT4DA_VERIFY_CACHE_H
#define EXT4DA_VERIFY_CACHE_H

#include <stdint.h>

#include "lib/blockdev/blockmap.h"

struct overlay;

struct verify_entry {
	uint32_t tid;
	uint64_t gen;
};

struct verify_cache {
	struct blockmap map;		/* device block -> index in v */
	struct verify_entry *v;
	size_t n, cap;
	unsigned blocksize;		/* of the blocks cached; set by the first note */
	const struct overlay *ov;	/* the stack the journal is read through */
	uint64_t hits, misses;		/* for tests and benchmarks */
	int off;			/* EXT4DA_NO_STATE_CACHE: answers nothing */
};

int verify_cache_init(struct verify_cache *c);
void verify_cache_free(struct verify_cache *c);
/* Read generations from ov from now on (each state's replay binds its own
 * view); unbound, the cache answers nothing. */
void verify_cache_bind(struct verify_cache *c, const struct overlay *ov);
/* Did device block dev, of blocksize bytes, pass its checksum for tid,
 * and has it not been written since? */
int verify_cache_known(struct verify_cache *c, uint64_t dev, unsigned blocksize, uint32_t tid);
/* Block dev passed its checksum for tid. */
void verify_cache_note(struct verify_cache *c, uint64_t dev, unsigned blocksize, uint32_t tid);

#endif
