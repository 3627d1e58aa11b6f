/* log_reader.c: see log_reader.h. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/blockdev/overlay.h"
#include "lib/core/fdio.h"
#include "lib/journal/log_reader.h"

#define LOG_CHUNK_MIN ((size_t)256 << 10)
#define LOG_CHUNK_MAX ((size_t)4 << 20)
#define LOG_ADVISE_MAX ((size_t)16 << 20)
#define LOG_WINDOW ((size_t)1 << 20)
#define LOG_WINDOW_JUMP 16	/* blocks */

/* The memory of the last reader freed, kept for the next one: a crash
 * campaign scans one journal per state, and memory already faulted in
 * costs nothing to fill again, where a fresh mapping costs a page fault
 * and a page clear per page.  One spare per process (workers fork). */
static uint8_t *spare;
static size_t spare_len;

static uint8_t *map_mem(size_t len)
{
	uint8_t *m;

	if (spare && spare_len == len) {
		m = spare;
		spare = NULL;
		return m;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(m, len, MADV_HUGEPAGE);
#endif
	return m;
}

static void unmap_mem(uint8_t *m, size_t len)
{
	if (!spare) {
		spare = m;
		spare_len = len;
		return;
	}
	munmap(m, len);
}

static uint32_t blocks_in(size_t bytes, unsigned bs)
{
	return bytes / bs ? (uint32_t)(bytes / bs) : 1;
}

static uint64_t dev_block(const struct journal *j, uint32_t jblk)
{
	return j->map ? j->map[jblk] : jblk;
}

/* Blocks of the log in memory of our own: the budget, and the window. */
static int alloc_buffers(struct log_reader *r, struct err *e)
{
	const struct journal *j = r->j;

	/* Pages of mem are only touched as the log is read into them; huge
	 * pages where the kernel gives them, so that filling it costs a few
	 * page faults instead of one per 4 KiB. */
	r->mem_len = (size_t)r->cap * j->blocksize;
	r->mem = map_mem(r->mem_len);
	r->win = malloc((size_t)r->win_cap * j->blocksize);
	if (!r->mem || !r->win)
		return fail(e, EXIT_OPERATIONAL, "out of memory for the journal's log");
	return 0;
}

static int by_first(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/* The journal's device blocks as sorted, disjoint [first, end) runs. */
static int collect_extents(struct log_reader *r)
{
	const struct journal *j = r->j;
	size_t n = 0, cap = 8, k = 0;
	uint64_t *x = malloc(cap * 2 * sizeof(*x));

	for (uint32_t b = 0, len; x && b < j->maxlen; b += len) {
		uint64_t d = dev_block(j, b);

		for (len = 1; b + len < j->maxlen && dev_block(j, b + len) == d + len; len++)
			;
		if (n == cap) {
			uint64_t *p = realloc(x, cap * 4 * sizeof(*x));

			if (!p) {
				free(x);
				return -1;
			}
			x = p;
			cap *= 2;
		}
		x[2 * n] = d;
		x[2 * n + 1] = d + len;
		n++;
	}
	if (!x || n == 0) {
		free(x);
		return -1;
	}
	qsort(x, n, 2 * sizeof(*x), by_first);
	for (size_t i = 1; i < n; i++) {
		if (x[2 * i] <= x[2 * k + 1]) {
			if (x[2 * i + 1] > x[2 * k + 1])
				x[2 * k + 1] = x[2 * i + 1];
		} else {
			k++;
			x[2 * k] = x[2 * i];
			x[2 * k + 1] = x[2 * i + 1];
		}
	}
	r->extents = x;
	r->nextents = k + 1;
	return 0;
}

static const uint8_t *mapped(const struct log_reader *r, uint64_t dev)
{
	return r->map + (size_t)(dev - r->map_first) * r->j->blocksize;
}

static void drop_map(struct log_reader *r)
{
	if (r->map_base)
		munmap(r->map_base, r->map_len);
	free(r->extents);
	r->map = NULL;
	r->map_base = NULL;
	r->extents = NULL;
	r->map_len = r->nextents = 0;
}

/* Map the device span of the journal read-only, where the journal is read
 * through a unix io channel (the path is the channel's name); 0 if done. */
static int map_journal(struct log_reader *r)
{
	const struct journal *j = r->j;
	io_channel io = j->io;
	uint64_t lo, hi, size, off, end, pg = (uint64_t)sysconf(_SC_PAGESIZE);
	struct stat st;
	void *m;
	int fd;

	if (!io || io->manager != unix_io_manager || !io->name ||
	    (unsigned)io->block_size != j->blocksize || collect_extents(r))
		return -1;
	lo = r->extents[0];
	hi = r->extents[2 * r->nextents - 1];
	fd = open(io->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		drop_map(r);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) ||
	    fd_size_bytes(fd, &size) != 0 || hi > size / j->blocksize ||
	    (hi - lo) * j->blocksize + pg > SIZE_MAX) {
		close(fd);
		drop_map(r);
		return -1;
	}
	off = lo * j->blocksize / pg * pg;
	end = hi * j->blocksize;
	m = mmap(NULL, (size_t)(end - off), PROT_READ, MAP_SHARED, fd, (off_t)off);
	close(fd);
	if (m == MAP_FAILED) {
		drop_map(r);
		return -1;
	}
	r->map_base = m;
	r->map_len = (size_t)(end - off);
	r->map = (const uint8_t *)m + (lo * j->blocksize - off);
	r->map_first = lo;
	/* The file at that name must be the one the channel read the
	 * journal's superblock from. */
	if (!log_reader_maps(r, j->sb_block) ||
	    memcmp(mapped(r, j->sb_block) + j->sb_offset, j->sb, JSB_SIZE) != 0) {
		drop_map(r);
		return -1;
	}
	return 0;
}

/* Read the journal's blocks straight from the overlay stack it is opened
 * on, where that stack ends in a mapping (every block is then a pointer
 * into memory that stays put) and journal blocks are its chunks; 0 if so.
 * Only an overlay that holds nothing yet is looked through, to the one
 * below: what is written into it later (the replay) stays out of view. */
static int peek_journal(struct log_reader *r)
{
	static int copy = -1;	/* EXT4DA_NO_STATE_CACHE: copy, as before, to compare */
	const struct journal *j = r->j;
	io_channel io = j->io;
	const struct overlay *ov;

	if (copy < 0)
		copy = state_cache_disabled();
	if (copy || !io || io->manager != overlay_io_manager || j->blocksize != OVERLAY_CHUNK)
		return -1;
	ov = io->private_data;
	if (overlay_chunks(ov) != 0 || !overlay_lower(ov) || !overlay_peekable(ov))
		return -1;
	r->peek = overlay_lower(ov);
	return 0;
}

int log_reader_init(struct log_reader *r, struct journal *j, uint32_t start, size_t budget,
		    struct err *e)
{
	memset(r, 0, sizeof(*r));
	r->j = j;
	r->span = j->last - j->first;
	r->start = start >= j->first && start < j->last ? start : j->first;
	r->cap = blocks_in(budget, j->blocksize);
	if (r->cap > r->span)
		r->cap = r->span;
	r->chunk = blocks_in(LOG_CHUNK_MIN, j->blocksize);
	r->win_cap = blocks_in(LOG_WINDOW, j->blocksize);
	if (map_journal(r) == 0 || peek_journal(r) == 0)
		return 0;
	if (alloc_buffers(r, e)) {
		log_reader_free(r);
		return -1;
	}
	return 0;
}

void log_reader_free(struct log_reader *r)
{
	drop_map(r);
	if (r->mem)
		unmap_mem(r->mem, r->mem_len);
	free(r->win);
	r->mem = r->win = NULL;
	r->have = r->cap = r->win_count = 0;
}

int log_reader_maps(const struct log_reader *r, uint64_t dev)
{
	size_t lo = 0, hi = r->nextents;

	if (!r->map)
		return 0;
	/* the last run starting at or before dev */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->extents[2 * mid] <= dev)
			lo = mid;
		else
			hi = mid;
	}
	return dev >= r->extents[2 * lo] && dev < r->extents[2 * lo + 1];
}

int log_reader_unmap(struct log_reader *r, struct err *e)
{
	if (!r->map && !r->peek)
		return 0;
	drop_map(r);
	r->peek = NULL;
	r->have = r->win_count = r->advised = 0;
	r->chunk = blocks_in(LOG_CHUNK_MIN, r->j->blocksize);
	if (alloc_buffers(r, e)) {
		log_reader_free(r);
		return -1;
	}
	return 0;
}

void log_reader_bind(struct log_reader *r, struct journal *j)
{
	r->j = j;
}

/* Position of jblk in log order from start, or UINT32_MAX outside the log. */
static uint32_t log_order(const struct log_reader *r, uint32_t jblk)
{
	const struct journal *j = r->j;

	if (jblk < j->first || jblk >= j->last)
		return UINT32_MAX;
	return jblk >= r->start ? jblk - r->start : jblk - j->first + (j->last - r->start);
}

static int read_run(struct log_reader *r, uint32_t jblk, uint32_t n, uint8_t *buf,
		    struct err *e)
{
	if (journal_read_blocks(r->j, jblk, n, buf, e))
		return -1;
	r->reads++;
	r->bytes += (uint64_t)n * r->j->blocksize;
	return 0;
}

/* Read ahead in log order until position idx is in memory. */
static int fill_to(struct log_reader *r, uint32_t idx, struct err *e)
{
	const struct journal *j = r->j;

	while (r->have <= idx) {
		uint32_t want = r->chunk, pos = r->start + r->have, n;

		if (pos >= j->last)
			pos -= r->span;
		if (want < idx + 1 - r->have)
			want = idx + 1 - r->have;
		if (want > r->cap - r->have)
			want = r->cap - r->have;
		/* One read never wraps: the end of the log ends it. */
		n = want < j->last - pos ? want : j->last - pos;
		if (read_run(r, pos, n, r->mem + (size_t)r->have * j->blocksize, e))
			return -1;
		r->have += n;
		if ((size_t)r->chunk * 2 * j->blocksize <= LOG_CHUNK_MAX)
			r->chunk *= 2;
	}
	return 0;
}

static const uint8_t *from_window(struct log_reader *r, uint32_t jblk, struct err *e)
{
	const struct journal *j = r->j;
	uint32_t end = jblk < j->last ? j->last : j->maxlen, n;

	if (r->win_count && jblk >= r->win_first && jblk - r->win_first < r->win_count)
		return r->win + (size_t)(jblk - r->win_first) * j->blocksize;
	/* A full window only where reading goes on in order; a jump reads a
	 * few blocks, so random access costs no more than it must. */
	n = r->win_count && jblk == r->win_first + r->win_count ? r->win_cap : LOG_WINDOW_JUMP;
	if (n > r->win_cap)
		n = r->win_cap;
	if (n > end - jblk)
		n = end - jblk;
	r->win_count = 0;
	if (read_run(r, jblk, n, r->win, e))
		return NULL;
	r->win_first = jblk;
	r->win_count = n;
	return r->win;
}

/* Ask the kernel to read ahead the log from position idx on, in chunks
 * that grow as the log goes on, one request per run of device blocks. */
static void advise_from(struct log_reader *r, uint32_t idx)
{
	const struct journal *j = r->j;
	uint32_t pos, n, want;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	if (idx == UINT32_MAX || idx < r->advised || idx >= r->span)
		return;
	want = r->chunk;
	if (want > r->span - idx)
		want = r->span - idx;
	pos = r->start + idx;
	if (pos >= j->last)
		pos -= r->span;
	if (want > j->last - pos)
		want = j->last - pos;	/* a request never wraps */
	for (uint32_t done = 0; done < want; done += n) {
		uint64_t dev = dev_block(j, pos + done);
		uintptr_t a, b;

		for (n = 1; done + n < want && dev_block(j, pos + done + n) == dev + n; n++)
			;
		a = (uintptr_t)mapped(r, dev) / pg * pg;
		b = (uintptr_t)mapped(r, dev) + (size_t)n * j->blocksize;
		madvise((void *)a, b - a, MADV_WILLNEED);
	}
	r->advised = idx + want;
	if ((size_t)r->chunk * 2 * j->blocksize <= LOG_ADVISE_MAX)
		r->chunk *= 2;
}

const uint8_t *log_reader_get(struct log_reader *r, uint32_t jblk, struct err *e)
{
	uint32_t idx;

	if (jblk >= r->j->maxlen) {
		fail(e, EXIT_OPERATIONAL, "journal block %u is past the journal's end (%u)", jblk,
		     r->j->maxlen);
		return NULL;
	}
	idx = log_order(r, jblk);
	if (r->map) {
		advise_from(r, idx);
		return mapped(r, dev_block(r->j, jblk));
	}
	if (r->peek) {
		const uint8_t *p = overlay_peek(r->peek, dev_block(r->j, jblk) * r->j->blocksize);

		if (p)
			return p;
		if (!r->win && !(r->win = malloc((size_t)r->win_cap * r->j->blocksize))) {
			fail(e, EXIT_OPERATIONAL, "out of memory for the journal's log");
			return NULL;
		}
		return from_window(r, jblk, e);
	}
	if (idx < r->cap) {
		if (fill_to(r, idx, e))
			return NULL;
		return r->mem + (size_t)idx * r->j->blocksize;
	}
	return from_window(r, jblk, e);
}

const uint8_t *log_reader_kept(const struct log_reader *r, uint32_t jblk)
{
	uint32_t idx;

	if (r->map)
		return jblk < r->j->maxlen ? mapped(r, dev_block(r->j, jblk)) : NULL;
	if (r->peek)
		return jblk < r->j->maxlen
			       ? overlay_peek(r->peek, dev_block(r->j, jblk) * r->j->blocksize)
			       : NULL;
	idx = log_order(r, jblk);

	return idx < r->have ? r->mem + (size_t)idx * r->j->blocksize : NULL;
}
