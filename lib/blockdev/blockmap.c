/* blockmap.c: open addressing with linear probing; grows at 50% load. */
#include <stdlib.h>

#include "lib/blockdev/blockmap.h"

static size_t hash64(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

int blockmap_init(struct blockmap *m, size_t expected)
{
	size_t cap = 64;

	while (cap < expected * 2)
		cap *= 2;
	m->keys = malloc(cap * sizeof(*m->keys));
	m->vals = malloc(cap * sizeof(*m->vals));
	m->used = calloc(cap, 1);
	m->cap = cap;
	m->len = 0;
	if (!m->keys || !m->vals || !m->used) {
		blockmap_free(m);
		return -1;
	}
	return 0;
}

void blockmap_free(struct blockmap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	m->keys = NULL;
	m->vals = NULL;
	m->used = NULL;
	m->cap = m->len = 0;
}

uint32_t *blockmap_find(const struct blockmap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = hash64(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->used[i])
			return NULL;
		if (m->keys[i] == key)
			return &m->vals[i];
	}
}

static int rehash(struct blockmap *m)
{
	struct blockmap bigger;

	if (blockmap_init(&bigger, m->cap))
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		int ins;

		if (m->used[i])
			*blockmap_slot(&bigger, m->keys[i], &ins) = m->vals[i];
	}
	blockmap_free(m);
	*m = bigger;
	return 0;
}

uint32_t *blockmap_slot(struct blockmap *m, uint64_t key, int *inserted)
{
	size_t i;

	*inserted = 0;
	if ((m->len + 1) * 2 > m->cap && rehash(m))
		return NULL;
	for (i = hash64(key, m->cap); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return &m->vals[i];
	m->used[i] = 1;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->len++;
	*inserted = 1;
	return &m->vals[i];
}
