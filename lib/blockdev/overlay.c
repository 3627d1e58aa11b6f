/* overlay.c: chunks of OVERLAY_CHUNK bytes in a hash map keyed by chunk
 * number; a chunk is filled from below the first time it is written.  Each
 * chunk carries the generation of its last write, drawn from one counter
 * for every overlay of the process, so a generation names one write.  A
 * chunk's bytes are its own memory, or borrowed from a mapping that
 * outlives the overlay (overlay_write_shared) until a write copies them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/blockdev/blockmap.h"
#include "lib/blockdev/overlay.h"

struct overlay {
	int fd;
	const uint8_t *base;	/* a read-only mapping of the image, or NULL */
	uint64_t size;
	struct overlay *lower;
	struct blockmap map;	/* chunk number -> slot */
	const uint8_t **slots;	/* per slot: the chunk's bytes (own[] or borrowed) */
	uint8_t **own;		/* per slot: memory of its own, kept for reuse */
	uint64_t *gens;		/* per slot: generation of its last write */
	size_t used, cap;	/* slots in use; slots allocated (reused after reset) */
	uint64_t id;		/* names this overlay until its next reset */
	int tracking;		/* keep writes[]: overlay_track_writes */
	uint64_t *writes;	/* chunk of each write since the last reset */
	size_t nwrites, writes_cap;
};

/* Never 0: 0 is the generation of what no overlay ever wrote. */
static uint64_t write_clock;
/* Identities of overlays (and of an overlay after each reset). */
static uint64_t id_clock;

/* A chunk takes a new generation: remember which, when tracking.  A
 * failed allocation stops tracking, which makes stamps of the stack
 * unusable (never wrong). */
static void note_write(struct overlay *ov, uint64_t chunk)
{
	if (!ov->tracking)
		return;
	if (ov->nwrites == ov->writes_cap) {
		size_t cap = ov->writes_cap ? ov->writes_cap * 2 : 256;
		uint64_t *w = realloc(ov->writes, cap * sizeof(*w));

		if (!w) {
			ov->tracking = 0;
			return;
		}
		ov->writes = w;
		ov->writes_cap = cap;
	}
	ov->writes[ov->nwrites++] = chunk;
}

struct overlay *overlay_new(int fd, uint64_t size, struct overlay *lower)
{
	struct overlay *ov = calloc(1, sizeof(*ov));

	if (!ov)
		return NULL;
	ov->fd = fd;
	ov->id = ++id_clock;
	ov->size = lower ? lower->size : size;
	ov->lower = lower;
	if (blockmap_init(&ov->map, 1024)) {
		free(ov);
		return NULL;
	}
	return ov;
}

struct overlay *overlay_new_mapped(const void *base, uint64_t size)
{
	struct overlay *ov = overlay_new(-1, size, NULL);

	if (ov)
		ov->base = base;
	return ov;
}

void overlay_free(struct overlay *ov)
{
	if (!ov)
		return;
	for (size_t i = 0; i < ov->cap; i++)
		free(ov->own[i]);
	free(ov->own);
	free(ov->slots);
	free(ov->gens);
	free(ov->writes);
	blockmap_free(&ov->map);
	free(ov);
}

void overlay_reset(struct overlay *ov)
{
	blockmap_free(&ov->map);
	blockmap_init(&ov->map, 1024);
	ov->used = 0;
	ov->id = ++id_clock;
	ov->nwrites = 0;
}

void overlay_track_writes(struct overlay *ov)
{
	/* Only from a known start: before any write since the last reset. */
	ov->tracking = ov->used == 0;
}

void overlay_stamp(const struct overlay *ov, struct overlay_stamp *s)
{
	s->ok = 1;
	s->n = 0;
	for (; ov; ov = ov->lower) {
		if (!ov->used)
			continue;
		if (!ov->tracking || s->n == OVERLAY_STAMP_DEPTH) {
			s->ok = 0;
			return;
		}
		s->level[s->n].id = ov->id;
		s->level[s->n].writes = ov->nwrites;
		s->n++;
	}
}

int overlay_changed_since(const struct overlay *ov, const struct overlay_stamp *s,
			  int (*fn)(void *ctx, uint64_t chunk), void *ctx)
{
	struct overlay_stamp now;
	size_t k = 0;
	int rc;

	overlay_stamp(ov, &now);
	if (!s->ok || !now.ok)
		return -1;
	/* Every overlay that held chunks then must still be there, in the
	 * same order and not reset: what it held still shadows what is
	 * below.  Overlays that hold chunks now but did not then add theirs. */
	for (size_t i = 0; i < now.n; i++)
		if (k < s->n && now.level[i].id == s->level[k].id)
			k++;
	if (k != s->n)
		return -1;
	k = 0;
	for (; ov; ov = ov->lower) {
		size_t from = 0;

		if (!ov->used)
			continue;
		if (k < s->n && ov->id == s->level[k].id)
			from = s->level[k++].writes;
		for (size_t w = from; w < ov->nwrites; w++)
			if ((rc = fn(ctx, ov->writes[w])) != 0)
				return rc;
	}
	return 0;
}

uint64_t overlay_size(const struct overlay *ov)
{
	return ov->size;
}

size_t overlay_chunks(const struct overlay *ov)
{
	return ov->used;
}

/* Read from whatever lies below this overlay; past the end reads zeros. */
static int read_below(struct overlay *ov, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (ov->lower)
		return overlay_read(ov->lower, off, buf, len);
	if (ov->base) {
		size_t in = off < ov->size ? (size_t)(ov->size - off < len ? ov->size - off : len) : 0;

		memcpy(p, ov->base + off, in);
		memset(p + in, 0, len - in);
		return 0;
	}
	while (len) {
		ssize_t n = off < ov->size ? pread(ov->fd, p, len, (off_t)off) : 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static const uint8_t *chunk_of(const struct overlay *ov, uint64_t chunk)
{
	uint32_t *slot = blockmap_find(&ov->map, chunk);

	return slot ? ov->slots[*slot] : NULL;
}

int overlay_read(struct overlay *ov, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	/* An overlay that holds nothing (a view before replay): straight
	 * below, without a lookup per chunk. */
	if (!ov->map.len)
		return read_below(ov, off, buf, len);
	while (len) {
		uint64_t chunk = off / OVERLAY_CHUNK;
		size_t in = (size_t)(off % OVERLAY_CHUNK);
		size_t n = OVERLAY_CHUNK - in;
		const uint8_t *c = chunk_of(ov, chunk);

		if (n > len)
			n = len;
		if (c) {
			memcpy(p, c + in, n);
		} else {
			/* Extend over following absent chunks: one read below. */
			while (n < len && !chunk_of(ov, (off + n) / OVERLAY_CHUNK))
				n = len - n < OVERLAY_CHUNK ? len : n + OVERLAY_CHUNK;
			if (read_below(ov, off, p, n))
				return -1;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Slot arrays with room for one more slot. */
static int grow_slots(struct overlay *ov)
{
	size_t cap = ov->cap ? ov->cap * 2 : 256;
	const uint8_t **s;
	uint8_t **o;
	uint64_t *g;

	if (ov->used < ov->cap)
		return 0;
	s = realloc(ov->slots, cap * sizeof(*s));
	if (!s)
		return -1;
	ov->slots = s;
	o = realloc(ov->own, cap * sizeof(*o));
	if (!o)
		return -1;
	memset(o + ov->cap, 0, (cap - ov->cap) * sizeof(*o));
	ov->own = o;
	g = realloc(ov->gens, cap * sizeof(*g));
	if (!g)
		return -1;
	ov->gens = g;
	ov->cap = cap;
	return 0;
}

/* A new slot for chunk, holding bytes (or, with bytes NULL, its own
 * memory filled from below unless whole).  Nothing is inserted on failure. */
static const uint8_t *new_slot(struct overlay *ov, uint64_t chunk, const uint8_t *bytes, int whole)
{
	uint32_t *slot;
	size_t i;
	int ins;

	if (grow_slots(ov))
		return NULL;
	i = ov->used;
	if (!bytes) {
		if (!ov->own[i] && !(ov->own[i] = malloc(OVERLAY_CHUNK)))
			return NULL;
		if (!whole && read_below(ov, chunk * OVERLAY_CHUNK, ov->own[i], OVERLAY_CHUNK))
			return NULL;
		bytes = ov->own[i];
	}
	slot = blockmap_slot(&ov->map, chunk, &ins);
	if (!slot)
		return NULL;
	*slot = (uint32_t)i;
	ov->slots[i] = bytes;
	ov->gens[i] = ++write_clock;
	ov->used++;
	note_write(ov, chunk);
	return bytes;
}

/* The chunk's own memory, to write into: filled from below (or from the
 * bytes it borrowed) unless the write covers it whole. */
static uint8_t *chunk_for_write(struct overlay *ov, uint64_t chunk, int whole)
{
	uint32_t *slot = blockmap_find(&ov->map, chunk);
	uint8_t *mem;

	if (!slot)
		return (uint8_t *)new_slot(ov, chunk, NULL, whole);
	if (!ov->own[*slot] && !(ov->own[*slot] = malloc(OVERLAY_CHUNK)))
		return NULL;
	mem = ov->own[*slot];
	if (ov->slots[*slot] != mem) {
		if (!whole)
			memcpy(mem, ov->slots[*slot], OVERLAY_CHUNK);
		ov->slots[*slot] = mem;
	}
	ov->gens[*slot] = ++write_clock;
	note_write(ov, chunk);
	return mem;
}

uint64_t overlay_generation(const struct overlay *ov, uint64_t off, uint64_t len)
{
	uint64_t gen = 0;

	if (!len)
		return 0;
	for (uint64_t c = off / OVERLAY_CHUNK; c <= (off + len - 1) / OVERLAY_CHUNK; c++)
		for (const struct overlay *o = ov; o; o = o->lower) {
			uint32_t *slot = blockmap_find(&o->map, c);

			if (slot) {
				if (o->gens[*slot] > gen)
					gen = o->gens[*slot];
				break;
			}
		}
	return gen;
}

const uint8_t *overlay_peek(const struct overlay *ov, uint64_t off)
{
	uint64_t chunk = off / OVERLAY_CHUNK;

	if (off % OVERLAY_CHUNK || off >= ov->size || ov->size - off < OVERLAY_CHUNK)
		return NULL;
	for (; ov; ov = ov->lower) {
		const uint8_t *c = ov->map.len ? chunk_of(ov, chunk) : NULL;

		if (c)
			return c;
		if (!ov->lower)
			return ov->base ? ov->base + off : NULL;
	}
	return NULL;
}

int overlay_peekable(const struct overlay *ov)
{
	while (ov->lower)
		ov = ov->lower;
	return ov->base != NULL;
}

struct overlay *overlay_lower(const struct overlay *ov)
{
	return ov->lower;
}

int overlay_write(struct overlay *ov, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		size_t in = (size_t)(off % OVERLAY_CHUNK);
		size_t n = OVERLAY_CHUNK - in;
		uint8_t *c;

		if (n > len)
			n = len;
		c = chunk_for_write(ov, off / OVERLAY_CHUNK, n == OVERLAY_CHUNK);
		if (!c)
			return -1;
		if (p)
			memcpy(c + in, p, n);
		else
			memset(c + in, 0, n);
		if (p)
			p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int state_cache_disabled(void)
{
	const char *v = getenv("EXT4DA_NO_STATE_CACHE");

	return v && *v && strcmp(v, "0") != 0;
}

int overlay_write_shared(struct overlay *ov, uint64_t off, const void *buf, size_t len)
{
	static int copy = -1;	/* EXT4DA_NO_STATE_CACHE: copy, as before borrowing */
	const uint8_t *p = buf;

	if (copy < 0)
		copy = state_cache_disabled();
	if (copy)
		return overlay_write(ov, off, buf, len);

	while (len) {
		size_t in = (size_t)(off % OVERLAY_CHUNK);
		size_t n = OVERLAY_CHUNK - in;

		if (n > len)
			n = len;
		if (n < OVERLAY_CHUNK) {
			if (overlay_write(ov, off, p, n))
				return -1;
		} else {
			uint32_t *slot = blockmap_find(&ov->map, off / OVERLAY_CHUNK);

			if (!slot) {
				if (!new_slot(ov, off / OVERLAY_CHUNK, p, 1))
					return -1;
			} else {
				ov->slots[*slot] = p;
				ov->gens[*slot] = ++write_clock;
				note_write(ov, off / OVERLAY_CHUNK);
			}
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int overlay_zero(struct overlay *ov, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = len > (1U << 20) ? (1U << 20) : (size_t)len;

		if (overlay_write(ov, off, NULL, n))
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

int overlay_materialize(struct overlay *ov, int fd)
{
	if (ov->lower && overlay_materialize(ov->lower, fd))
		return -1;
	for (size_t i = 0; i < ov->map.cap; i++) {
		const uint8_t *c;
		uint64_t off;

		if (!ov->map.used[i])
			continue;
		c = ov->slots[ov->map.vals[i]];
		off = ov->map.keys[i] * OVERLAY_CHUNK;
		if (off >= ov->size)
			continue;
		if (pwrite(fd, c, off + OVERLAY_CHUNK > ov->size ? ov->size - off : OVERLAY_CHUNK,
			   (off_t)off) < 0)
			return -1;
	}
	return 0;
}

int overlay_each(struct overlay *ov, int (*fn)(void *ctx, uint64_t off, const void *data,
						size_t len), void *ctx)
{
	for (size_t i = 0; i < ov->map.cap; i++) {
		uint64_t off;

		if (!ov->map.used[i])
			continue;
		off = ov->map.keys[i] * OVERLAY_CHUNK;
		if (off >= ov->size)
			continue;
		if (fn(ctx, off, ov->slots[ov->map.vals[i]],
		       off + OVERLAY_CHUNK > ov->size ? ov->size - off : OVERLAY_CHUNK))
			return -1;
	}
	return 0;
}

/* ---- io_manager ---- */

void overlay_io_name(struct overlay *ov, char *buf, size_t len)
{
	snprintf(buf, len, "ext4da-overlay:%" PRIxPTR, (uintptr_t)ov);
}

static errcode_t ov_open(const char *name, int flags, io_channel *channel)
{
	uintptr_t addr;
	io_channel io;

	(void)flags;
	if (sscanf(name, "ext4da-overlay:%" SCNxPTR, &addr) != 1 || !addr)
		return EXT2_ET_BAD_DEVICE_NAME;
	io = calloc(1, sizeof(*io));
	if (!io)
		return EXT2_ET_NO_MEMORY;
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = overlay_io_manager;
	io->name = strdup(name);
	io->block_size = 1024;
	io->refcount = 1;
	io->private_data = (void *)addr;
	*channel = io;
	return 0;
}

static errcode_t ov_close(io_channel io)
{
	if (--io->refcount > 0)
		return 0;
	free(io->name);
	free(io);
	return 0;
}

static errcode_t ov_set_blksize(io_channel io, int blksize)
{
	io->block_size = blksize;
	return 0;
}

/* libext2fs passes a negative count to mean a byte count. */
static size_t io_bytes(io_channel io, int count)
{
	return count < 0 ? (size_t)-count : (size_t)count * (size_t)io->block_size;
}

static errcode_t ov_read64(io_channel io, unsigned long long block, int count, void *data)
{
	struct overlay *ov = io->private_data;
	uint64_t off = block * (uint64_t)io->block_size;
	size_t len = io_bytes(io, count);

	if (off + len > ov->size) {
		memset(data, 0, len);
		return EXT2_ET_SHORT_READ;
	}
	return overlay_read(ov, off, data, len) ? EXT2_ET_SHORT_READ : 0;
}

static errcode_t ov_write64(io_channel io, unsigned long long block, int count, const void *data)
{
	struct overlay *ov = io->private_data;
	uint64_t off = block * (uint64_t)io->block_size;
	size_t len = io_bytes(io, count);

	if (off + len > ov->size)
		return EXT2_ET_SHORT_WRITE;
	return overlay_write(ov, off, data, len) ? EXT2_ET_NO_MEMORY : 0;
}

static errcode_t ov_read(io_channel io, unsigned long block, int count, void *data)
{
	return ov_read64(io, block, count, data);
}

static errcode_t ov_write(io_channel io, unsigned long block, int count, const void *data)
{
	return ov_write64(io, block, count, data);
}

static errcode_t ov_write_byte(io_channel io, unsigned long offset, int count, const void *data)
{
	struct overlay *ov = io->private_data;

	if (count < 0 || offset + (unsigned long)count > ov->size)
		return EXT2_ET_SHORT_WRITE;
	return overlay_write(ov, offset, data, (size_t)count) ? EXT2_ET_NO_MEMORY : 0;
}

static errcode_t ov_flush(io_channel io)
{
	(void)io;
	return 0;
}

static errcode_t ov_set_option(io_channel io, const char *option, const char *arg)
{
	(void)io, (void)option, (void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t ov_zeroout(io_channel io, unsigned long long block, unsigned long long count)
{
	struct overlay *ov = io->private_data;

	return overlay_zero(ov, block * (uint64_t)io->block_size, count * (uint64_t)io->block_size)
		       ? EXT2_ET_NO_MEMORY
		       : 0;
}

static struct struct_io_manager overlay_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "ext4da overlay",
	.open = ov_open,
	.close = ov_close,
	.set_blksize = ov_set_blksize,
	.read_blk = ov_read,
	.write_blk = ov_write,
	.flush = ov_flush,
	.write_byte = ov_write_byte,
	.set_option = ov_set_option,
	.read_blk64 = ov_read64,
	.write_blk64 = ov_write64,
	.discard = ov_zeroout,
	.zeroout = ov_zeroout,
};

io_manager overlay_io_manager = &overlay_manager;
