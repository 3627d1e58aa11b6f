/* test_fc_extents: the extent list fast-commit replay edits
 * (lib/journal/fc_extents.c): adding ranges over mapped ones, punching holes,
 * splitting, merging, and the physical blocks each change unmaps. */
#include <stdlib.h>
#include <string.h>

#include "lib/journal/fc_extents.h"
#include "tests/unit/check.h"

struct unmapped {
	uint64_t pblk[16], len[16];
	int n;
};

static void note(void *ctx, uint64_t pblk, uint64_t len)
{
	struct unmapped *u = ctx;

	if (u->n < 16) {
		u->pblk[u->n] = pblk;
		u->len[u->n] = len;
		u->n++;
	}
}

static struct fc_extent ex(uint32_t lblk, uint32_t len, uint64_t pblk, int unwritten)
{
	return (struct fc_extent){ lblk, len, pblk, unwritten };
}

static int is(const struct fc_extent_list *l, size_t i, uint32_t lblk, uint32_t len, uint64_t pblk,
	      int unwritten)
{
	return i < l->n && l->ex[i].lblk == lblk && l->ex[i].len == len &&
	       l->ex[i].pblk == pblk && l->ex[i].unwritten == unwritten;
}

static void test_append_merges(void)
{
	struct fc_extent_list l = { 0 };
	struct fc_extent a = ex(0, 4, 100, 0), b = ex(4, 4, 104, 0), c = ex(8, 2, 200, 0);

	CHECK(fc_extents_append(&l, &a) == 0);
	CHECK(fc_extents_append(&l, &b) == 0);
	CHECK(fc_extents_append(&l, &c) == 0);
	CHECK(l.n == 2 && is(&l, 0, 0, 8, 100, 0) && is(&l, 1, 8, 2, 200, 0));
	fc_extents_reset(&l);
	CHECK(l.n == 0 && l.ex == NULL);
}

static void test_add(void)
{
	struct fc_extent_list l = { 0 };
	struct unmapped u = { 0 };
	struct fc_extent e;

	/* Into an empty list, out of order: sorted, adjacent ones merged. */
	e = ex(10, 5, 510, 0);
	CHECK(fc_extents_add(&l, &e, note, &u) == 0);
	e = ex(0, 5, 500, 0);
	CHECK(fc_extents_add(&l, &e, note, &u) == 0);
	e = ex(5, 5, 505, 0);
	CHECK(fc_extents_add(&l, &e, note, &u) == 0);
	CHECK(l.n == 1 && is(&l, 0, 0, 15, 500, 0));
	CHECK(u.n == 0);

	/* Remapping the middle splits the old extent and unmaps its blocks. */
	e = ex(6, 2, 900, 0);
	CHECK(fc_extents_add(&l, &e, note, &u) == 0);
	CHECK(l.n == 3 && is(&l, 0, 0, 6, 500, 0) && is(&l, 1, 6, 2, 900, 0) &&
	      is(&l, 2, 8, 7, 508, 0));
	CHECK(u.n == 1 && u.pblk[0] == 506 && u.len[0] == 2);

	/* Same blocks, now unwritten: a state change, no merging across kinds. */
	u.n = 0;
	e = ex(6, 2, 900, 1);
	CHECK(fc_extents_add(&l, &e, note, &u) == 0);
	CHECK(l.n == 3 && is(&l, 1, 6, 2, 900, 1));
	CHECK(u.n == 1 && u.pblk[0] == 900 && u.len[0] == 2);

	/* Covering several extents at once, from inside the first to inside
	 * the last. */
	u.n = 0;
	e = ex(3, 10, 700, 0);
	CHECK(fc_extents_add(&l, &e, note, &u) == 0);
	CHECK(l.n == 3 && is(&l, 0, 0, 3, 500, 0) && is(&l, 1, 3, 10, 700, 0) &&
	      is(&l, 2, 13, 2, 513, 0));
	CHECK(u.n == 3);
	CHECK(u.pblk[0] == 503 && u.len[0] == 3);
	CHECK(u.pblk[1] == 900 && u.len[1] == 2);
	CHECK(u.pblk[2] == 508 && u.len[2] == 5);
	fc_extents_reset(&l);
}

static void test_del(void)
{
	struct fc_extent_list l = { 0 };
	struct unmapped u = { 0 };
	struct fc_extent e = ex(0, 100, 1000, 0);

	CHECK(fc_extents_add(&l, &e, note, &u) == 0);
	/* A hole in the middle. */
	CHECK(fc_extents_del(&l, 10, 5, note, &u) == 0);
	CHECK(l.n == 2 && is(&l, 0, 0, 10, 1000, 0) && is(&l, 1, 15, 85, 1015, 0));
	CHECK(u.n == 1 && u.pblk[0] == 1010 && u.len[0] == 5);
	/* Truncate: everything from 50 on, far past the end. */
	u.n = 0;
	CHECK(fc_extents_del(&l, 50, 0xffffffffu - 50, note, &u) == 0);
	CHECK(l.n == 2 && is(&l, 1, 15, 35, 1015, 0));
	CHECK(u.n == 1 && u.pblk[0] == 1050 && u.len[0] == 50);
	/* A range mapping nothing changes nothing. */
	u.n = 0;
	CHECK(fc_extents_del(&l, 10, 5, note, &u) == 0);
	CHECK(l.n == 2 && u.n == 0);
	/* Everything. */
	CHECK(fc_extents_del(&l, 0, 1000, note, &u) == 0);
	CHECK(l.n == 0 && u.n == 2);
	/* Re-adding what a hole removed merges back. */
	e = ex(0, 10, 1000, 0);
	CHECK(fc_extents_add(&l, &e, NULL, NULL) == 0);
	e = ex(10, 5, 1010, 0);
	CHECK(fc_extents_add(&l, &e, NULL, NULL) == 0);
	CHECK(l.n == 1 && is(&l, 0, 0, 15, 1000, 0));
	fc_extents_reset(&l);
}

/* Many single-block extents (a sparse file): the list stays sorted. */
static void test_many(void)
{
	struct fc_extent_list l = { 0 };
	struct fc_extent e;
	int sorted = 1;

	for (int i = 199; i >= 0; i--) {
		e = ex((uint32_t)i * 2, 1, 5000u + (uint32_t)i * 7, 0);
		CHECK(fc_extents_add(&l, &e, NULL, NULL) == 0);
	}
	CHECK(l.n == 200);
	for (size_t i = 1; i < l.n; i++)
		sorted &= l.ex[i - 1].lblk < l.ex[i].lblk;
	CHECK(sorted);
	fc_extents_reset(&l);
}

/* A zero-length range (a damaged tag) into an empty list changes nothing. */
static void test_empty(void)
{
	struct fc_extent_list l = { 0 };
	struct fc_extent e = ex(5, 0, 100, 0);

	CHECK(fc_extents_add(&l, &e, NULL, NULL) == 0);
	CHECK(l.n == 0);
	CHECK(fc_extents_del(&l, 0, 10, NULL, NULL) == 0);
	CHECK(l.n == 0);
	fc_extents_reset(&l);
}

int main(void)
{
	test_empty();
	test_append_merges();
	test_add();
	test_del();
	test_many();
	return CHECK_SUMMARY();
}
