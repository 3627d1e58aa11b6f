/* verify_cache.c: see verify_cache.h. */
#include <stdlib.h>

#include "lib/blockdev/overlay.h"
#include "lib/journal/verify_cache.h"

int verify_cache_init(struct verify_cache *c)
{
	c->v = NULL;
	c->n = c->cap = 0;
	c->blocksize = 0;
	c->ov = NULL;
	c->hits = c->misses = 0;
	c->off = state_cache_disabled();
	return blockmap_init(&c->map, 1024);
}

void verify_cache_free(struct verify_cache *c)
{
	blockmap_free(&c->map);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

void verify_cache_bind(struct verify_cache *c, const struct overlay *ov)
{
	c->ov = ov;
}

static uint64_t generation(const struct verify_cache *c, uint64_t dev, unsigned blocksize)
{
	return overlay_generation(c->ov, dev * blocksize, blocksize);
}

int verify_cache_known(struct verify_cache *c, uint64_t dev, unsigned blocksize, uint32_t tid)
{
	uint32_t *slot;
	int hit;

	if (!c || !c->ov || c->off || c->blocksize != blocksize)
		return 0;
	slot = blockmap_find(&c->map, dev);
	hit = slot && c->v[*slot].tid == tid && c->v[*slot].gen == generation(c, dev, blocksize);
	hit ? c->hits++ : c->misses++;
	return hit;
}

void verify_cache_note(struct verify_cache *c, uint64_t dev, unsigned blocksize, uint32_t tid)
{
	uint32_t *slot;
	int ins;

	if (!c || !c->ov || c->off)
		return;
	if (!c->blocksize)
		c->blocksize = blocksize;
	if (c->blocksize != blocksize || !(slot = blockmap_slot(&c->map, dev, &ins)))
		return;
	if (ins) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 256;
			struct verify_entry *v = realloc(c->v, cap * sizeof(*v));

			if (!v) {
				/* Unfillable: the slot must not point past v. */
				c->blocksize = ~0U;
				return;
			}
			c->v = v;
			c->cap = cap;
		}
		*slot = (uint32_t)c->n++;
	}
	c->v[*slot] = (struct verify_entry){ tid, generation(c, dev, blocksize) };
}
