/* blockmap.h: a hash map from 64-bit block numbers to 32-bit values, used
 * for revoke records and for the newest copy of each logged block. */
#ifndef EXT4DA_BLOCKMAP_H
#define EXT4DA_BLOCKMAP_H

#include <stddef.h>
#include <stdint.h>

struct blockmap {
	uint64_t *keys;
	uint32_t *vals;
	uint8_t *used;
	size_t cap, len;
};

int blockmap_init(struct blockmap *m, size_t expected);
void blockmap_free(struct blockmap *m);
/* Returns a pointer to the value slot for key, inserting it (value 0 and
 * *inserted = 1) if absent; NULL on allocation failure. */
uint32_t *blockmap_slot(struct blockmap *m, uint64_t key, int *inserted);
uint32_t *blockmap_find(const struct blockmap *m, uint64_t key);

#endif
