/* log_reader.c: see log_reader.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/journal/log_reader.h"

#define LOG_CHUNK_MIN ((size_t)256 << 10)
#define LOG_CHUNK_MAX ((size_t)4 << 20)
#define LOG_WINDOW ((size_t)1 << 20)
#define LOG_WINDOW_JUMP 16	/* blocks */

static uint32_t blocks_in(size_t bytes, unsigned bs)
{
	return bytes / bs ? (uint32_t)(bytes / bs) : 1;
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
	/* Pages of mem are only touched as the log is read into them; huge
	 * pages where the kernel gives them, so that filling it costs a few
	 * page faults instead of one per 4 KiB. */
	r->mem_len = (size_t)r->cap * j->blocksize;
	r->mem = mmap(NULL, r->mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->mem == MAP_FAILED)
		r->mem = NULL;
#ifdef MADV_HUGEPAGE
	else
		madvise(r->mem, r->mem_len, MADV_HUGEPAGE);
#endif
	r->win = malloc((size_t)r->win_cap * j->blocksize);
	if (!r->mem || !r->win) {
		log_reader_free(r);
		return fail(e, EXIT_OPERATIONAL, "out of memory for the journal's log");
	}
	return 0;
}

void log_reader_free(struct log_reader *r)
{
	if (r->mem)
		munmap(r->mem, r->mem_len);
	free(r->win);
	r->mem = r->win = NULL;
	r->have = r->cap = r->win_count = 0;
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

const uint8_t *log_reader_get(struct log_reader *r, uint32_t jblk, struct err *e)
{
	uint32_t idx;

	if (jblk >= r->j->maxlen) {
		fail(e, EXIT_OPERATIONAL, "journal block %u is past the journal's end (%u)", jblk,
		     r->j->maxlen);
		return NULL;
	}
	idx = log_order(r, jblk);
	if (idx < r->cap) {
		if (fill_to(r, idx, e))
			return NULL;
		return r->mem + (size_t)idx * r->j->blocksize;
	}
	return from_window(r, jblk, e);
}

const uint8_t *log_reader_kept(const struct log_reader *r, uint32_t jblk)
{
	uint32_t idx = log_order(r, jblk);

	return idx < r->have ? r->mem + (size_t)idx * r->j->blocksize : NULL;
}
