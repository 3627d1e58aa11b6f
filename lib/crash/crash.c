/* crash.c: crash plans and the incremental cursor. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/blockdev/blockmap.h"
#include "lib/crash/crash.h"

#define APPLY_BUF (1U << 20)
#define MAX_EXHAUSTIVE_WRITES 20

int entry_is_flush(const struct wl_entry *en)
{
	return (en->flags & (WL_FLUSH | WL_FUA)) != 0;
}

static int entry_writes(const struct wl_entry *en)
{
	return !(en->flags & WL_MARK) && en->nr_sectors > 0;
}

static struct crash_state *new_state(struct crash_plan *p, uint64_t entry)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct crash_state *s = realloc(p->states, cap * sizeof(*s));

		if (!s)
			return NULL;
		p->states = s;
		p->cap = cap;
	}
	memset(&p->states[p->n], 0, sizeof(p->states[0]));
	p->states[p->n].entry = entry;
	return &p->states[p->n++];
}

static uint64_t next_random(uint64_t *x)
{
	/* xorshift64*: reproducible from the printed seed. */
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545F4914F6CDD1DULL;
}

static int add_subset(struct crash_plan *p, uint64_t prefix, const uint64_t *writes, size_t n,
		      uint64_t mask_lo, const uint8_t *pick)
{
	struct crash_state *s = new_state(p, prefix);
	uint32_t k = 0;

	if (!s)
		return -1;
	s->subset = malloc(n * sizeof(uint64_t));
	if (!s->subset)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (pick ? pick[i] : (mask_lo >> i) & 1)
			s->subset[k++] = writes[i];
	s->nsubset = k;
	return 0;
}

/* Draw a random subset that is neither empty nor (unless allowed) full and
 * that was not drawn before; 0 when none was found in a bounded number of
 * tries. */
static int draw_subset(uint8_t *pick, size_t n, int allow_full, uint64_t *rng,
		       struct blockmap *seen)
{
	for (int tries = 0; tries < 64; tries++) {
		uint64_t h = 1469598103934665603ULL;
		size_t ones = 0;
		int ins;

		for (size_t i = 0; i < n; i++) {
			pick[i] = next_random(rng) >> 63;
			ones += pick[i];
			h = (h ^ pick[i]) * 1099511628211ULL;
			h = (h ^ i) * 1099511628211ULL;
		}
		if (ones == 0 || (ones == n && !allow_full))
			continue;
		if (blockmap_slot(seen, h, &ins) && ins)
			return 1;
	}
	return 0;
}

/* Subsets of the writes between two flushes: all proper non-empty ones
 * when few, else max_states distinct random ones.  For the writes after
 * the last flush (final), all of them arriving is a state too: the epoch's
 * closing flush never came, so no other state covers it. */
static int add_epoch_subsets(struct crash_plan *p, const struct plan_opts *o, uint64_t prefix,
			     const uint64_t *writes, size_t n, int final, uint64_t *rng)
{
	uint64_t full = final ? 1 : 0;
	struct blockmap seen;
	uint8_t *pick;

	if (n < 1 || (n < 2 && !final))
		return 0;
	if (n <= MAX_EXHAUSTIVE_WRITES && ((1ULL << n) - 2 + full) <= o->max_states) {
		for (uint64_t m = 1; m < (1ULL << n) - 1 + full; m++)
			if (add_subset(p, prefix, writes, n, m, NULL))
				return -1;
		return 0;
	}
	p->sampled_epochs++;
	pick = malloc(n);
	if (!pick || blockmap_init(&seen, o->max_states)) {
		free(pick);
		return -1;
	}
	for (uint64_t k = 0; k < o->max_states; k++) {
		int got = final && k == 0 ? (memset(pick, 1, n), 1)
					 : draw_subset(pick, n, final, rng, &seen);

		if (!got)
			break;
		if (add_subset(p, prefix, writes, n, 0, pick)) {
			blockmap_free(&seen);
			free(pick);
			return -1;
		}
	}
	blockmap_free(&seen);
	free(pick);
	return 0;
}

static int writes_mark_record(const struct plan_opts *o, uint64_t entry)
{
	for (size_t i = 0; i < o->nmark_entries; i++)
		if (o->mark_entries[i] == entry)
			return 1;
	return 0;
}

static int point_wanted(const struct plan_opts *o, const struct wl_entry *en)
{
	switch (o->mode) {
	case POINTS_FLUSH: return entry_is_flush(en);
	case POINTS_MARK: return (en->flags & WL_MARK) != 0 || writes_mark_record(o, en->index);
	case POINTS_EVERY: return 1;
	default: return 0;
	}
}

static int plan_reorder(const struct wl_index *idx, const struct plan_opts *o,
			struct crash_plan *p, struct err *e)
{
	uint64_t *writes = malloc((idx->nr + 1) * sizeof(uint64_t));
	uint64_t prefix = NO_ENTRY, rng = o->seed ? o->seed : 1;
	size_t n = 0;

	if (!writes)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	for (uint64_t i = 0; i < idx->nr; i++) {
		const struct wl_entry *en = &idx->entries[i];

		if (!entry_is_flush(en)) {
			if (entry_writes(en))
				writes[n++] = i;
			continue;
		}
		if (add_epoch_subsets(p, o, prefix, writes, n, 0, &rng)) {
			free(writes);
			return fail(e, EXIT_OPERATIONAL, "out of memory");
		}
		prefix = i;
		n = 0;
	}
	/* Writes after the last flush were in flight when the log ended. */
	if (add_epoch_subsets(p, o, prefix, writes, n, 1, &rng)) {
		free(writes);
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	free(writes);
	return 0;
}

static int by_prefix(const void *a, const void *b)
{
	const struct crash_state *x = a, *y = b;
	uint64_t px = x->entry + 1, py = y->entry + 1;	/* NO_ENTRY sorts first */

	if (px != py)
		return px < py ? -1 : 1;
	return (x->nsubset > 0) - (y->nsubset > 0);
}

int crash_plan_build(const struct wl_index *idx, const struct plan_opts *o,
		     struct crash_plan *p, struct err *e)
{
	memset(p, 0, sizeof(*p));
	if (o->mode == POINTS_LIST) {
		for (size_t i = 0; i < o->nlist; i++) {
			if (o->list[i] >= idx->nr) {
				crash_plan_free(p);
				return fail(e, EXIT_USAGE, "--points: entry %llu is past the log's %llu entries",
					    (unsigned long long)o->list[i], (unsigned long long)idx->nr);
			}
			if (!new_state(p, o->list[i]))
				return fail(e, EXIT_OPERATIONAL, "out of memory");
		}
	} else {
		for (uint64_t i = 0; i < idx->nr; i++)
			if (point_wanted(o, &idx->entries[i]) && !new_state(p, i))
				return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	if (o->reorder && plan_reorder(idx, o, p, e)) {
		crash_plan_free(p);
		return -1;
	}
	/* In log order, so the cursor only ever moves forward. */
	if (p->n > 1)
		qsort(p->states, p->n, sizeof(*p->states), by_prefix);
	return 0;
}

void crash_plan_free(struct crash_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->states[i].subset);
	free(p->states);
	memset(p, 0, sizeof(*p));
}

int crash_cursor_init(struct crash_cursor *c, struct writelog *wl, const struct wl_index *idx,
		      int base_fd, const void *base_map, uint64_t base_size, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->wl = wl;
	c->idx = idx;
	c->applied = NO_ENTRY;
	c->buf_len = APPLY_BUF;
	c->buf = malloc(c->buf_len);
	c->durable = base_map ? overlay_new_mapped(base_map, base_size)
			      : overlay_new(base_fd, base_size, NULL);
	if (c->durable)
		c->reordered = overlay_new(-1, 0, c->durable);
	if (!c->buf || !c->durable || !c->reordered || verify_cache_init(&c->vcache) ||
	    scan_resume_init(&c->resume)) {
		crash_cursor_free(c);
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	/* What changed from one state to the next, for the journal scan to
	 * resume where the previous state's scan left off. */
	overlay_track_writes(c->durable);
	overlay_track_writes(c->reordered);
	return 0;
}

void crash_cursor_free(struct crash_cursor *c)
{
	overlay_free(c->reordered);
	overlay_free(c->durable);
	verify_cache_free(&c->vcache);
	scan_resume_free(&c->resume);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

int apply_entry(struct crash_cursor *c, struct overlay *ov, int fd, const struct wl_entry *en,
		struct err *e)
{
	uint64_t ss = c->idx->sector_size, off = en->sector * ss, len = en->nr_sectors * ss;

	if (en->flags & WL_MARK || len == 0)
		return 0;
	if (ov && !(en->flags & WL_DISCARD) && en->payload_len >= len) {
		/* Straight from the mapped log, which outlives the cursor's
		 * overlays: whole chunks are borrowed, not copied. */
		const uint8_t *data = writelog_payload(c->wl, en);

		if (data)
			return overlay_write_shared(ov, off, data, (size_t)len)
				       ? fail(e, EXIT_OPERATIONAL, "applying entry %llu failed",
					      (unsigned long long)en->index)
				       : 0;
	}
	if (en->flags & WL_DISCARD) {
		/* Discarded sectors read back as zeros: deterministic. */
		if (ov)
			return overlay_zero(ov, off, len) ? fail(e, EXIT_OPERATIONAL, "out of memory") : 0;
		memset(c->buf, 0, c->buf_len);
	}
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < c->buf_len ? (size_t)(len - done) : c->buf_len;

		if (!(en->flags & WL_DISCARD) && writelog_read_data(c->wl, en, done, c->buf, n, e))
			return -1;
		if (ov ? overlay_write(ov, off + done, c->buf, n) != 0
		       : pwrite(fd, c->buf, n, (off_t)(off + done)) != (ssize_t)n)
			return fail(e, EXIT_OPERATIONAL, "applying entry %llu failed",
				    (unsigned long long)en->index);
		done += n;
	}
	return 0;
}

int crash_cursor_seek(struct crash_cursor *c, const struct crash_state *s, struct overlay **top,
		      struct err *e)
{
	uint64_t want = s->entry;

	/* Going back means starting again from the base (a shard's first state). */
	if (c->applied != NO_ENTRY && (want == NO_ENTRY || want < c->applied)) {
		overlay_reset(c->durable);
		c->applied = NO_ENTRY;
	}
	while (want != NO_ENTRY && (c->applied == NO_ENTRY || c->applied < want)) {
		uint64_t next = c->applied == NO_ENTRY ? 0 : c->applied + 1;

		if (apply_entry(c, c->durable, -1, &c->idx->entries[next], e))
			return -1;
		c->applied = next;
	}
	overlay_reset(c->reordered);
	*top = c->durable;
	if (s->nsubset == 0)
		return 0;
	for (uint32_t i = 0; i < s->nsubset; i++)
		if (apply_entry(c, c->reordered, -1, &c->idx->entries[s->subset[i]], e))
			return -1;
	*top = c->reordered;
	return 0;
}
