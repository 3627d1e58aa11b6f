/* test_crash_plan.c: unit tests for the crash-state planner.  Write logs
 * are indexes built in memory (no file, no root): which entries become
 * states for each --points mode, the reordered subsets of each epoch
 * (all of them when few, distinct samples when many, the full set only
 * after the last flush), the order states come in, seeds, and errors. */
#include <stdlib.h>
#include <string.h>

#include "lib/crash/crash.h"
#include "tests/unit/check.h"

#define W 0u		/* a plain write */
#define F WL_FLUSH
#define U WL_FUA
#define M WL_MARK

/* An index of n entries with these flags; writes are one sector each at
 * sector = entry number. */
static struct wl_index index_of(const uint64_t *flags, size_t n)
{
	struct wl_index idx;

	memset(&idx, 0, sizeof(idx));
	idx.entries = calloc(n, sizeof(*idx.entries));
	idx.nr = idx.nr_super = n;
	idx.sector_size = 512;
	for (size_t i = 0; i < n; i++) {
		idx.entries[i].index = i;
		idx.entries[i].flags = flags[i];
		idx.entries[i].sector = i;
		idx.entries[i].nr_sectors = flags[i] & M ? 0 : 1;
		idx.entries[i].mark = flags[i] & M ? strdup("m") : NULL;
	}
	return idx;
}

static struct plan_opts opts(enum points_mode mode)
{
	struct plan_opts o;

	memset(&o, 0, sizeof(o));
	o.mode = mode;
	o.max_states = 32;
	o.seed = 1;
	return o;
}

/* The prefixes of a plan's states with no subset, as a list. */
static size_t plain_states(const struct crash_plan *p, uint64_t *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < p->n && k < cap; i++)
		if (p->states[i].nsubset == 0)
			out[k++] = p->states[i].entry;
	return k;
}

static void test_points_modes(void)
{
	const uint64_t flags[] = { W, W, F, W, M, U, W, F | U };
	struct wl_index idx = index_of(flags, 8);
	struct crash_plan p;
	struct plan_opts o = opts(POINTS_FLUSH);
	struct err e = { 0 };
	uint64_t got[16];

	/* Flush points: every FLUSH or FUA entry. */
	CHECK(crash_plan_build(&idx, &o, &p, &e) == 0);
	CHECK(plain_states(&p, got, 16) == 3 && got[0] == 2 && got[1] == 5 && got[2] == 7);
	CHECK(p.n == 3 && p.sampled_epochs == 0);
	crash_plan_free(&p);
	CHECK(p.n == 0 && p.states == NULL);

	/* Every entry. */
	o = opts(POINTS_EVERY);
	CHECK(crash_plan_build(&idx, &o, &p, &e) == 0);
	CHECK(p.n == 8);
	for (size_t i = 0; i < p.n; i++)
		CHECK(p.states[i].entry == i && p.states[i].nsubset == 0);
	crash_plan_free(&p);

	/* Marks: the log's own marks and the writes of mark records. */
	const uint64_t mark_writes[] = { 6 };
	o = opts(POINTS_MARK);
	o.mark_entries = mark_writes;
	o.nmark_entries = 1;
	CHECK(crash_plan_build(&idx, &o, &p, &e) == 0);
	CHECK(plain_states(&p, got, 16) == 2 && got[0] == 4 && got[1] == 6);
	crash_plan_free(&p);

	/* A log without marks plans no mark state: the caller must say so. */
	o = opts(POINTS_MARK);
	const uint64_t nomarks[] = { W, F };
	struct wl_index idx2 = index_of(nomarks, 2);
	CHECK(crash_plan_build(&idx2, &o, &p, &e) == 0);
	CHECK(p.n == 0);
	crash_plan_free(&p);
	wl_index_free(&idx2);

	/* A list, taken as given; an entry past the log is a usage error. */
	const uint64_t list[] = { 1, 3 }, bad[] = { 1, 8 };
	o = opts(POINTS_LIST);
	o.list = list;
	o.nlist = 2;
	CHECK(crash_plan_build(&idx, &o, &p, &e) == 0);
	CHECK(p.n == 2 && p.states[0].entry == 1 && p.states[1].entry == 3);
	crash_plan_free(&p);
	o.list = bad;
	CHECK(crash_plan_build(&idx, &o, &p, &e) == -1);
	CHECK(e.exit_code == EXIT_USAGE && strstr(e.msg, "entry 8 is past the log's 8 entries"));
	CHECK(p.n == 0 && p.states == NULL);
	wl_index_free(&idx);
}

/* Is s->subset strictly increasing and inside (lo, hi), all writes? */
static int subset_ok(const struct wl_index *idx, const struct crash_state *s, uint64_t lo,
		     uint64_t hi)
{
	for (uint32_t i = 0; i < s->nsubset; i++) {
		uint64_t w = s->subset[i];

		if ((lo != NO_ENTRY && w <= lo) || w >= hi || (i && w <= s->subset[i - 1]))
			return 0;
		if (idx->entries[w].flags & (M | F | U))
			return 0;
	}
	return 1;
}

static void test_reorder_exhaustive(void)
{
	/* Epoch 1: writes 0,1,2 before flush 3; a mark in epoch 2 is not a
	 * write; epoch 3: writes 6,7 with no flush after them. */
	const uint64_t flags[] = { W, W, W, F, M, W, F, W, W };
	struct wl_index idx = index_of(flags, 9);
	struct plan_opts o = opts(POINTS_FLUSH);
	struct crash_plan p;
	struct err e = { 0 };
	size_t first = 0, after3 = 0, after6 = 0, full_final = 0;

	o.reorder = 1;
	CHECK(crash_plan_build(&idx, &o, &p, &e) == 0);
	/* 2 flush states; epoch 1: 2^3 - 2 proper subsets; epoch 2: one
	 * write, nothing to reorder; the last: 2^2 - 1, the full set too. */
	CHECK(p.n == 2 + 6 + 3);
	CHECK(p.sampled_epochs == 0);
	for (size_t i = 0; i < p.n; i++) {
		const struct crash_state *s = &p.states[i];

		if (i)	/* in log order: the cursor only moves forward */
			CHECK(s->entry + 1 >= p.states[i - 1].entry + 1);
		if (s->nsubset == 0)
			continue;
		if (s->entry == NO_ENTRY) {
			first++;
			CHECK(s->nsubset < 3 && subset_ok(&idx, s, NO_ENTRY, 3));
		} else if (s->entry == 3) {
			after3++;
		} else if (s->entry == 6) {
			after6++;
			CHECK(subset_ok(&idx, s, 6, 9));
			full_final += s->nsubset == 2;
		}
	}
	CHECK(first == 6 && after3 == 0 && after6 == 3 && full_final == 1);
	/* The base image (NO_ENTRY) sorts before every entry. */
	CHECK(p.states[0].entry == NO_ENTRY);
	crash_plan_free(&p);
	wl_index_free(&idx);
}

static int same_plan(const struct crash_plan *a, const struct crash_plan *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		if (a->states[i].entry != b->states[i].entry ||
		    a->states[i].nsubset != b->states[i].nsubset)
			return 0;
		if (a->states[i].nsubset &&
		    memcmp(a->states[i].subset, b->states[i].subset,
			   a->states[i].nsubset * sizeof(uint64_t)))
			return 0;
	}
	return 1;
}

static void test_reorder_sampled(void)
{
	enum { NW = 40 };
	uint64_t flags[NW + 1];
	struct wl_index idx;
	struct plan_opts o = opts(POINTS_FLUSH);
	struct crash_plan p, q, r;
	struct err e = { 0 };
	size_t subsets = 0;

	for (size_t i = 0; i < NW; i++)
		flags[i] = W;
	flags[NW] = F;
	idx = index_of(flags, NW + 1);
	o.reorder = 1;
	o.max_states = 8;
	CHECK(crash_plan_build(&idx, &o, &p, &e) == 0);
	CHECK(p.sampled_epochs == 1);
	for (size_t i = 0; i < p.n; i++) {
		const struct crash_state *s = &p.states[i];

		if (!s->nsubset)
			continue;
		subsets++;
		/* Never empty, never everything (the flush state covers that). */
		CHECK(s->entry == NO_ENTRY && s->nsubset > 0 && s->nsubset < NW);
		CHECK(subset_ok(&idx, s, NO_ENTRY, NW));
		for (size_t j = 0; j < i; j++)
			CHECK(p.states[j].nsubset == 0 || p.states[j].nsubset != s->nsubset ||
			      memcmp(p.states[j].subset, s->subset, s->nsubset * sizeof(uint64_t)));
	}
	CHECK(subsets == 8);

	/* The same seed plans the same states; another seed other ones. */
	CHECK(crash_plan_build(&idx, &o, &q, &e) == 0);
	CHECK(same_plan(&p, &q));
	o.seed = 2;
	CHECK(crash_plan_build(&idx, &o, &r, &e) == 0);
	CHECK(!same_plan(&p, &r));
	crash_plan_free(&p);
	crash_plan_free(&q);
	crash_plan_free(&r);
	wl_index_free(&idx);
}

static void test_empty_log(void)
{
	struct wl_index idx;
	struct plan_opts o = opts(POINTS_FLUSH);
	struct crash_plan p;
	struct err e = { 0 };

	memset(&idx, 0, sizeof(idx));
	idx.sector_size = 512;
	o.reorder = 1;
	CHECK(crash_plan_build(&idx, &o, &p, &e) == 0);
	CHECK(p.n == 0);
	crash_plan_free(&p);
}

int main(void)
{
	test_points_modes();
	test_reorder_exhaustive();
	test_reorder_sampled();
	test_empty_log();
	return CHECK_SUMMARY();
}
