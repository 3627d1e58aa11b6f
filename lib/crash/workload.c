/* workload.c: the model, the operations on it, and the numbering of
 * workloads (see workload.h). */
#include <stdlib.h>
#include <string.h>

#include "lib/crash/workload.h"

#define BLK 4096u

static const char *const op_names[WOP_NOPS] = {
	[WOP_APPEND] = "append", [WOP_OVERWRITE] = "overwrite",
	[WOP_UNALIGNED] = "unaligned", [WOP_PAST_EOF] = "past-eof", [WOP_HOLE] = "hole",
	[WOP_DIRECT] = "direct", [WOP_MMAP] = "mmap", [WOP_KEEP_SIZE] = "keep-size",
	[WOP_PUNCH] = "punch", [WOP_ZERO] = "zero-range", [WOP_TRUNC_UP] = "truncate-up",
	[WOP_TRUNC_DOWN] = "truncate-down", [WOP_LINK] = "link", [WOP_UNLINK] = "unlink",
	[WOP_RENAME_NEW] = "rename-new", [WOP_RENAME_OVER] = "rename-over",
	[WOP_MKDIR] = "mkdir", [WOP_RMDIR] = "rmdir",
};

static const char *const persist_names[WP_NPERSIST] = {
	[WP_NONE] = "none", [WP_FSYNC] = "fsync", [WP_FDATASYNC] = "fdatasync",
	[WP_SYNC_RANGE] = "sync-range", [WP_SYNC] = "sync",
};

static const struct {
	const char *name;
	int parent, dir;
} paths[WL_NPATHS] = {
	[WL_ROOT] = { ".", -1, 1 }, [WL_D0] = { "d0", WL_ROOT, 1 }, [WL_D1] = { "d1", WL_ROOT, 1 },
	[WL_A] = { "d0/a", WL_D0, 0 }, [WL_B] = { "d0/b", WL_D0, 0 }, [WL_C] = { "d1/c", WL_D1, 0 },
	[WL_E] = { "d1/e", WL_D1, 1 }, [WL_X] = { "d0/x", WL_D0, 1 }, [WL_L] = { "d1/l", WL_D1, 0 },
	[WL_N] = { "d1/n", WL_D1, 0 },
};

const char *wl_op_name(enum wl_op op)
{
	return op < WOP_NOPS ? op_names[op] : "?";
}

const char *wl_persist_name(enum wl_persist p)
{
	return p < WP_NPERSIST ? persist_names[p] : "?";
}

const char *wl_path_name(int p)
{
	return paths[p].name;
}

int wl_path_parent(int p)
{
	return paths[p].parent;
}

int wl_path_is_dir(int p)
{
	return paths[p].dir;
}

/* a: 16 KiB of data; b: 4 KiB of data, then a hole to 16 KiB; c: 8 KiB;
 * e: an empty directory for rmdir.  x, l and n are names to create. */
void wl_model_init(struct wl_model *m)
{
	memset(m, 0, sizeof(*m));
	for (int p = WL_ROOT; p <= WL_E; p++)
		m->present[p] = 1;
	memset(m->obj, -1, sizeof(m->obj));
	m->obj[WL_A] = 0;
	m->obj[WL_B] = 1;
	m->obj[WL_C] = 2;
	m->file[0].size = 4 * BLK;
	m->file[1] = (struct wl_file){ 4 * BLK, BLK, 4 * BLK };
	m->file[2].size = 2 * BLK;
}

/* --- resolving an operation ------------------------------------------------ */

static int is_file(const struct wl_model *m, int p)
{
	return m->present[p] && m->obj[p] >= 0;
}

static const struct wl_file *file_of(const struct wl_model *m, int p)
{
	return &m->file[m->obj[p]];
}

static uint64_t round_up(uint64_t v)
{
	return (v + BLK - 1) / BLK * BLK;
}

/* What a data operation needs of its file. */
static int data_fits(const struct wl_model *m, enum wl_op op, int p)
{
	const struct wl_file *f = file_of(m, p);

	switch (op) {
	case WOP_HOLE: return f->hole_hi > f->hole_lo;
	case WOP_PUNCH:
	case WOP_TRUNC_DOWN: return f->size >= 2 * BLK;
	case WOP_OVERWRITE:
	case WOP_UNALIGNED:
	case WOP_MMAP:
	case WOP_ZERO: return f->size >= BLK;
	default: return 1;
	}
}

/* The range or size a data operation uses on a file of this shape. */
static void data_numbers(const struct wl_file *f, struct wl_action *a)
{
	a->off = 0;
	a->len = BLK;
	switch (a->op) {
	case WOP_APPEND: a->off = f->size; a->len = 2 * BLK; break;
	case WOP_UNALIGNED: a->off = 1536; a->len = 1024; break;
	case WOP_PAST_EOF: a->off = round_up(f->size) + 2 * BLK; break;
	case WOP_HOLE:
		a->off = f->hole_lo;
		a->len = f->hole_hi - f->hole_lo < BLK ? f->hole_hi - f->hole_lo : BLK;
		break;
	case WOP_DIRECT: a->off = f->size >= 2 * BLK ? BLK : f->size; break;
	case WOP_KEEP_SIZE: a->off = round_up(f->size); a->len = 4 * BLK; break;
	case WOP_PUNCH: a->off = BLK; break;
	case WOP_TRUNC_UP: a->size = f->size + 4 * BLK; break;
	case WOP_TRUNC_DOWN: a->size = f->size / 2 / BLK * BLK; break;
	default: break;
	}
}

static int resolve_data(const struct wl_model *m, struct wl_action *a)
{
	static const int order[] = { WL_A, WL_B, WL_C, WL_N, WL_L };
	static const int hole_order[] = { WL_B, WL_A, WL_C, WL_N, WL_L };
	const int *o = a->op == WOP_HOLE ? hole_order : order;

	for (int i = 0; i < 5; i++)
		if (is_file(m, o[i]) && data_fits(m, a->op, o[i])) {
			a->file = o[i];
			data_numbers(file_of(m, o[i]), a);
			return 0;
		}
	return -1;
}

static int first_file(const struct wl_model *m, const int *o, int n)
{
	for (int i = 0; i < n; i++)
		if (is_file(m, o[i]))
			return o[i];
	return -1;
}

/* rename-over: a pair of live names in one directory, of different files. */
static int over_pair(const struct wl_model *m, struct wl_action *a)
{
	static const int pairs[][2] = { { WL_A, WL_B }, { WL_B, WL_A }, { WL_N, WL_C },
					{ WL_L, WL_C }, { WL_C, WL_N }, { WL_C, WL_L } };

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		int f = pairs[i][0], t = pairs[i][1];

		if (is_file(m, f) && is_file(m, t) && m->obj[f] != m->obj[t]) {
			a->from = f;
			a->to = t;
			return 0;
		}
	}
	return -1;
}

static int resolve_names(const struct wl_model *m, struct wl_action *a)
{
	static const int link_src[] = { WL_A, WL_C, WL_B, WL_N };
	static const int unlink_order[] = { WL_B, WL_C, WL_A, WL_L, WL_N };
	static const int rename_src[] = { WL_A, WL_B, WL_C };

	switch (a->op) {
	case WOP_LINK:
		a->from = first_file(m, link_src, 4);
		a->to = m->present[WL_L] ? -1 : WL_L;
		break;
	case WOP_UNLINK: a->from = first_file(m, unlink_order, 5); break;
	case WOP_RENAME_NEW:
		a->from = first_file(m, rename_src, 3);
		a->to = m->present[WL_N] ? -1 : WL_N;
		break;
	case WOP_RENAME_OVER: return over_pair(m, a);
	case WOP_MKDIR: a->from = m->present[WL_X] ? -1 : WL_X; break;
	case WOP_RMDIR: a->from = m->present[WL_E] ? WL_E : m->present[WL_X] ? WL_X : -1; break;
	default: return -1;
	}
	if (a->from < 0 || (a->to < 0 && (a->op == WOP_LINK || a->op == WOP_RENAME_NEW)))
		return -1;
	return 0;
}

/* The directories whose entries the operation changes: what fsync and
 * fdatasync of "the operation" apply to. */
static void touched_dirs(struct wl_action *a)
{
	int d1 = wl_path_parent(a->from), d2 = a->to >= 0 ? wl_path_parent(a->to) : d1;

	a->dirs[0] = a->op == WOP_LINK ? d2 : d1;
	a->ndirs = 1;
	if (a->op != WOP_LINK && d2 != d1)
		a->dirs[a->ndirs++] = d2;
}

/* sync_file_range needs a file to open: the one acted on, or the file a
 * namespace operation leaves under its new name. */
static int range_file(const struct wl_action *a)
{
	switch (a->op) {
	case WOP_LINK: return a->from;
	case WOP_RENAME_NEW:
	case WOP_RENAME_OVER: return a->to;
	case WOP_UNLINK:
	case WOP_MKDIR:
	case WOP_RMDIR: return -1;
	default: return a->file;
	}
}

int wl_resolve(const struct wl_model *m, const struct wl_step *step, struct wl_action *a)
{
	memset(a, 0, sizeof(*a));
	a->op = step->op;
	a->persist = step->persist;
	a->file = a->from = a->to = -1;
	if (step->op >= WOP_NOPS || step->persist >= WP_NPERSIST)
		return -1;
	if (step->op < WOP_LINK) {
		if (resolve_data(m, a))
			return -1;
	} else {
		if (resolve_names(m, a))
			return -1;
		touched_dirs(a);
	}
	if (step->persist == WP_SYNC_RANGE && range_file(a) < 0)
		return -1;
	return 0;
}

/* --- applying it to the model ---------------------------------------------- */

static void forget_hole_in(struct wl_file *f, uint64_t off, uint64_t len)
{
	if (off < f->hole_hi && off + len > f->hole_lo)
		f->hole_lo = f->hole_hi = 0;
}

static void new_hole(struct wl_file *f, uint64_t lo, uint64_t hi)
{
	if (hi > lo && f->hole_hi <= f->hole_lo) {
		f->hole_lo = lo;
		f->hole_hi = hi;
	}
}

static void apply_data(struct wl_file *f, const struct wl_action *a)
{
	uint64_t end = a->off + a->len;

	switch (a->op) {
	case WOP_HOLE:
		f->hole_lo += a->len;
		break;
	case WOP_PAST_EOF:
		new_hole(f, round_up(f->size), a->off);
		break;
	case WOP_KEEP_SIZE:
		return;	/* blocks past EOF: the size stays */
	case WOP_PUNCH:
		f->hole_lo = a->off;
		f->hole_hi = end;
		return;
	case WOP_TRUNC_UP:
		new_hole(f, f->size, a->size);
		f->size = a->size;
		return;
	case WOP_TRUNC_DOWN:
		f->size = a->size;
		if (f->hole_hi > f->size)
			f->hole_hi = f->size;
		if (f->hole_lo >= f->hole_hi)
			f->hole_lo = f->hole_hi = 0;
		return;
	default:
		forget_hole_in(f, a->off, a->len);
		break;
	}
	if (end > f->size)
		f->size = end;
}

static void apply_names(struct wl_model *m, const struct wl_action *a)
{
	switch (a->op) {
	case WOP_LINK:
		m->present[a->to] = 1;
		m->obj[a->to] = m->obj[a->from];
		break;
	case WOP_UNLINK:
	case WOP_RMDIR:
		m->present[a->from] = 0;
		break;
	case WOP_RENAME_NEW:
	case WOP_RENAME_OVER:
		m->present[a->to] = 1;
		m->obj[a->to] = m->obj[a->from];
		m->present[a->from] = 0;
		break;
	case WOP_MKDIR:
		m->present[a->from] = 1;
		break;
	default:
		break;
	}
}

void wl_apply(struct wl_model *m, const struct wl_action *a)
{
	if (a->file >= 0)
		apply_data(&m->file[m->obj[a->file]], a);
	else
		apply_names(m, a);
}

/* --- numbering ---------------------------------------------------------------- */

#define NSTEPS ((unsigned)WOP_NOPS * WP_NPERSIST)

static void step_of(unsigned i, struct wl_step *s)
{
	s->op = (enum wl_op)(i / WP_NPERSIST);
	s->persist = (enum wl_persist)(i % WP_NPERSIST);
}

/* Do the steps run one after the other from the initial model? */
static int runs(const struct wl_step *steps, unsigned n)
{
	struct wl_model m;
	struct wl_action a;

	wl_model_init(&m);
	for (unsigned i = 0; i < n; i++) {
		if (wl_resolve(&m, &steps[i], &a))
			return 0;
		wl_apply(&m, &a);
	}
	return 1;
}

static void decode(uint64_t code, unsigned n, struct wl_step *steps)
{
	for (unsigned i = n; i-- > 0; code /= NSTEPS)
		step_of((unsigned)(code % NSTEPS), &steps[i]);
}

/* The runnable sequences of n steps, in order (the first step varies
 * slowest), as codes: computed once per process and length, since
 * listing a space asks for each of them. */
static const uint64_t *runnable(unsigned n, uint64_t *count)
{
	static uint64_t *codes[WL_MAX_SEQ + 1];
	static uint64_t counts[WL_MAX_SEQ + 1];
	struct wl_step steps[WL_MAX_SEQ];
	uint64_t total = 1;

	if (codes[n]) {
		*count = counts[n];
		return codes[n];
	}
	for (unsigned i = 0; i < n; i++)
		total *= NSTEPS;
	codes[n] = malloc(total * sizeof(uint64_t));
	if (!codes[n]) {
		*count = 0;
		return NULL;
	}
	for (uint64_t code = 0; code < total; code++) {
		decode(code, n, steps);
		if (runs(steps, n))
			codes[n][counts[n]++] = code;
	}
	*count = counts[n];
	return codes[n];
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The k-th sample: position k of a seeded Fisher-Yates shuffle of the
 * whole numbering, so samples never repeat and a larger sample of the
 * same seed starts with the smaller one. */
static uint64_t sample_index(uint64_t total, uint64_t seed, uint64_t k)
{
	uint64_t *perm = malloc(total * sizeof(*perm)), x = seed, r;

	if (!perm)
		return UINT64_MAX;
	for (uint64_t i = 0; i < total; i++)
		perm[i] = i;
	for (uint64_t i = 0; i <= k; i++) {
		uint64_t j = i + splitmix(&x) % (total - i), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	r = perm[k];
	free(perm);
	return r;
}

uint64_t wl_count(const struct wl_space *s)
{
	uint64_t all;

	if (s->seq < 1 || s->seq > WL_MAX_SEQ)
		return 0;
	runnable(s->seq, &all);
	return s->sample && s->sample < all ? s->sample : all;
}

int wl_get(const struct wl_space *s, uint64_t k, struct wl_step *steps)
{
	uint64_t all, idx = k;
	const uint64_t *codes;

	if (k >= wl_count(s))
		return -1;
	codes = runnable(s->seq, &all);
	if (s->sample)
		idx = sample_index(all, s->seed, k);
	if (!codes || idx >= all)
		return -1;
	decode(codes[idx], s->seq, steps);
	return 0;
}
