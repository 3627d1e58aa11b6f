/* fc_extents.c: see fc_extents.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/journal/fc_extents.h"

static uint64_t ex_end(const struct fc_extent *e)	/* one past the last lblk */
{
	return (uint64_t)e->lblk + e->len;
}

static int room(struct fc_extent_list *l, size_t need)
{
	struct fc_extent *p;
	size_t ncap;

	if (need <= l->cap)
		return 0;
	ncap = l->cap ? l->cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	p = realloc(l->ex, ncap * sizeof(*p));
	if (!p)
		return -1;
	l->ex = p;
	l->cap = ncap;
	return 0;
}

static int joinable(const struct fc_extent *a, const struct fc_extent *b)
{
	return ex_end(a) == b->lblk && a->pblk + a->len == b->pblk &&
	       a->unwritten == b->unwritten && (uint64_t)a->len + b->len <= UINT32_MAX;
}

int fc_extents_append(struct fc_extent_list *l, const struct fc_extent *ex)
{
	if (!ex->len)
		return 0;
	if (l->n && joinable(&l->ex[l->n - 1], ex)) {
		l->ex[l->n - 1].len += ex->len;
		return 0;
	}
	if (room(l, l->n + 1))
		return -1;
	l->ex[l->n++] = *ex;
	return 0;
}

/* Cut [lblk, end) out of every extent, reporting the physical blocks that
 * stop being mapped.  An extent straddling the whole range splits in two. */
static int punch(struct fc_extent_list *l, uint64_t lblk, uint64_t end, fc_unmap_fn fn,
		 void *ctx)
{
	for (size_t i = 0; i < l->n; i++) {
		struct fc_extent *e = &l->ex[i];
		uint64_t s = e->lblk > lblk ? e->lblk : lblk;
		uint64_t t = ex_end(e) < end ? ex_end(e) : end;

		if (s >= t)
			continue;
		if (fn)
			fn(ctx, e->pblk + (s - e->lblk), t - s);
		if (s > e->lblk && t < ex_end(e)) {
			struct fc_extent tail = *e;

			if (room(l, l->n + 1))
				return -1;
			e = &l->ex[i];
			tail.lblk = (uint32_t)t;
			tail.pblk = e->pblk + (t - e->lblk);
			tail.len = (uint32_t)(ex_end(e) - t);
			e->len = (uint32_t)(s - e->lblk);
			memmove(&l->ex[i + 2], &l->ex[i + 1], (l->n - i - 1) * sizeof(*l->ex));
			l->ex[i + 1] = tail;
			l->n++;
			i++;
		} else if (s > e->lblk) {
			e->len = (uint32_t)(s - e->lblk);
		} else {
			/* Cut from the front (possibly all of it). */
			e->pblk += t - e->lblk;
			e->len = (uint32_t)(ex_end(e) - t);
			e->lblk = (uint32_t)t;
		}
	}
	return 0;
}

static int by_lblk(const void *a, const void *b)
{
	const struct fc_extent *x = a, *y = b;

	return x->lblk < y->lblk ? -1 : x->lblk > y->lblk;
}

/* Drop emptied extents, sort, merge neighbours. */
static void tidy(struct fc_extent_list *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->ex[i].len)
			l->ex[k++] = l->ex[i];
	l->n = k;
	if (!l->n)
		return;
	qsort(l->ex, l->n, sizeof(*l->ex), by_lblk);
	k = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (k && joinable(&l->ex[k - 1], &l->ex[i]))
			l->ex[k - 1].len += l->ex[i].len;
		else
			l->ex[k++] = l->ex[i];
	}
	l->n = k;
}

int fc_extents_add(struct fc_extent_list *l, const struct fc_extent *ex, fc_unmap_fn fn,
		   void *ctx)
{
	if (punch(l, ex->lblk, ex_end(ex), fn, ctx))
		return -1;
	if (ex->len) {
		if (room(l, l->n + 1))
			return -1;
		l->ex[l->n++] = *ex;
	}
	tidy(l);
	return 0;
}

int fc_extents_del(struct fc_extent_list *l, uint32_t lblk, uint32_t len, fc_unmap_fn fn,
		   void *ctx)
{
	if (punch(l, lblk, (uint64_t)lblk + len, fn, ctx))
		return -1;
	tidy(l);
	return 0;
}

void fc_extents_reset(struct fc_extent_list *l)
{
	free(l->ex);
	memset(l, 0, sizeof(*l));
}
