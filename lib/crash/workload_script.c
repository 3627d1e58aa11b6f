/* workload_script.c: a workload as a busybox sh script, with the claims
 * marks of its expected state.  What each persistence point claims (and
 * nothing more, so that a failure is the kernel's and not the oracle's):
 *   fsync, fdatasync of a file   its data and exact size (--synced)
 *   fsync of a directory         its names, and which universe names are
 *                                gone (--names, --absent)
 *   fdatasync of a directory     nothing: POSIX leaves open whether a
 *                                directory's entries are its "data"
 *   sync                         every file and every name
 *   sync_file_range, none        nothing
 *   msync(MS_SYNC) of mmap       the file, if nothing else of it was
 *                                pending (msync syncs only its range)
 * Before a step changes what a claim pinned, a release mark ends it. */
#include "config.h"	/* PACKAGE_VERSION, for the script's header */

#include <string.h>

#include "lib/crash/workload.h"

/* --- claims, as ext4da-mark arguments ----------------------------------------- */

/* Children of the universe in directory d: name claims and absent claims. */
static void dir_claims(FILE *out, struct wl_model *m, int d)
{
	fprintf(out, " --names %s", wl_path_name(d));
	for (int p = 0; p < WL_NPATHS; p++) {
		if (wl_path_parent(p) != d)
			continue;
		if (!m->present[p])
			fprintf(out, " --absent %s", wl_path_name(p));
		m->name_claimed[p] = 1;
	}
}

static void file_claim(FILE *out, struct wl_model *m, int p)
{
	fprintf(out, " --synced %s", wl_path_name(p));
	m->file_claimed[(int)m->obj[p]] = 1;
	m->file_dirty[(int)m->obj[p]] = 0;
}

static void sync_claims(FILE *out, struct wl_model *m)
{
	int seen[3] = { 0 };

	for (int p = 0; p < WL_NPATHS; p++)
		if (m->present[p] && m->obj[p] >= 0 && !seen[(int)m->obj[p]]) {
			seen[(int)m->obj[p]] = 1;
			file_claim(out, m, p);
		}
	for (int p = 0; p < WL_NPATHS; p++)
		if (wl_path_is_dir(p) && m->present[p])
			dir_claims(out, m, p);
}

/* --- one step --------------------------------------------------------------------- */

static int needs_release(const struct wl_model *m, int p)
{
	return p >= 0 && (m->name_claimed[p] || (m->present[p] && m->obj[p] >= 0 &&
						 m->file_claimed[(int)m->obj[p]]));
}

static void release_one(FILE *out, struct wl_model *m, int p)
{
	fprintf(out, " --release %s", wl_path_name(p));
	m->name_claimed[p] = 0;
	if (m->present[p] && m->obj[p] >= 0)
		m->file_claimed[(int)m->obj[p]] = 0;
}

/* The names (and the files behind them) the step is about to change. */
static void release(FILE *out, struct wl_model *m, const struct wl_action *a, unsigned i)
{
	int p1 = a->file >= 0 ? a->file : a->op == WOP_LINK ? a->to : a->from;
	int p2 = a->op == WOP_RENAME_NEW || a->op == WOP_RENAME_OVER ? a->to : -1;

	if (!needs_release(m, p1) && !needs_release(m, p2))
		return;
	fprintf(out, "ext4da-mark -q step%u-release", i);
	if (p1 >= 0)
		release_one(out, m, p1);
	if (p2 >= 0)
		release_one(out, m, p2);
	fprintf(out, "\n");
}

static void stamp_data(FILE *out, const struct wl_action *a, unsigned gen)
{
	static const char *const via[WOP_NOPS] = {
		[WOP_DIRECT] = "--direct ", [WOP_MMAP] = "--mmap ",
		[WOP_KEEP_SIZE] = "--fallocate keep-size ", [WOP_PUNCH] = "--fallocate punch ",
		[WOP_ZERO] = "--fallocate zero ",
	};
	const char *f = wl_path_name(a->file);

	if (a->op == WOP_TRUNC_UP || a->op == WOP_TRUNC_DOWN)
		fprintf(out, "ext4da-stamp -q truncate %s %llu\n", f, (unsigned long long)a->size);
	else if (a->op == WOP_APPEND)
		fprintf(out, "ext4da-stamp -q --gen %u append %s %llu\n", gen, f,
			(unsigned long long)a->len);
	else
		fprintf(out, "ext4da-stamp -q --gen %u %soverwrite %s %llu %llu\n", gen,
			via[a->op] ? via[a->op] : "", f, (unsigned long long)a->off,
			(unsigned long long)a->len);
}

static void operation(FILE *out, const struct wl_action *a, unsigned gen)
{
	switch (a->op) {
	case WOP_LINK: fprintf(out, "ln %s %s\n", wl_path_name(a->from), wl_path_name(a->to)); break;
	case WOP_UNLINK: fprintf(out, "rm %s\n", wl_path_name(a->from)); break;
	case WOP_RENAME_NEW:
	case WOP_RENAME_OVER:
		fprintf(out, "mv -f %s %s\n", wl_path_name(a->from), wl_path_name(a->to));
		break;
	case WOP_MKDIR: fprintf(out, "mkdir %s\n", wl_path_name(a->from)); break;
	case WOP_RMDIR: fprintf(out, "rmdir %s\n", wl_path_name(a->from)); break;
	default: stamp_data(out, a, gen); break;
	}
}

static int range_target(const struct wl_action *a)
{
	if (a->file >= 0)
		return a->file;
	return a->op == WOP_LINK ? a->from : a->to;
}

/* The persistence point itself: busybox sync does fsync (sync FILE),
 * fdatasync (sync -d FILE) and sync(2); ext4da-stamp sync_file_range. */
static void persist(FILE *out, const struct wl_action *a)
{
	const char *d = a->persist == WP_FDATASYNC ? "-d " : "";

	switch (a->persist) {
	case WP_FSYNC:
	case WP_FDATASYNC:
		if (a->file >= 0) {
			fprintf(out, "sync %s%s\n", d, wl_path_name(a->file));
			break;
		}
		fprintf(out, "sync %s%s", d, wl_path_name(a->dirs[0]));
		if (a->ndirs > 1)
			fprintf(out, " %s", wl_path_name(a->dirs[1]));
		fprintf(out, "\n");
		break;
	case WP_SYNC_RANGE:
		fprintf(out, "ext4da-stamp -q --sync-range overwrite %s 0 0\n",
			wl_path_name(range_target(a)));
		break;
	case WP_SYNC: fprintf(out, "sync\n"); break;
	default: break;
	}
}

/* What the persistence point guarantees, as one claims mark (or none). */
static void claims(FILE *out, struct wl_model *m, const struct wl_action *a, unsigned i)
{
	int file = a->file >= 0 && (a->persist == WP_FSYNC || a->persist == WP_FDATASYNC);
	int dirs = a->file < 0 && a->persist == WP_FSYNC;

	if (a->persist == WP_SYNC)
		for (int k = 0; k < 3; k++)
			m->file_dirty[k] = 0;
	if (!file && !dirs && a->persist != WP_SYNC)
		return;
	fprintf(out, "ext4da-mark -q step%u-%s-%s", i, wl_op_name(a->op),
		wl_persist_name(a->persist));
	if (a->persist == WP_SYNC)
		sync_claims(out, m);
	else if (file)
		file_claim(out, m, a->file);
	else
		for (int k = 0; k < a->ndirs; k++)
			dir_claims(out, m, a->dirs[k]);
	fprintf(out, "\n");
}

static void step(FILE *out, struct wl_model *m, const struct wl_action *a, unsigned i)
{
	int clean = a->file >= 0 && !m->file_dirty[(int)m->obj[a->file]];

	fprintf(out, "\necho 'EXT4DA-STEP %u %s %s'\n", i, wl_op_name(a->op),
		wl_persist_name(a->persist));
	release(out, m, a, i);
	operation(out, a, 1000 + i);
	wl_apply(m, a);
	if (a->file >= 0)
		m->file_dirty[(int)m->obj[a->file]] = 1;
	if (a->op == WOP_MMAP && clean) {
		fprintf(out, "ext4da-mark -q step%u-mmap-msync", i);
		file_claim(out, m, a->file);
		fprintf(out, "\n");
	}
	persist(out, a);
	claims(out, m, a, i);
}

/* --- the script ---------------------------------------------------------------- */

static void setup(FILE *out, struct wl_model *m)
{
	fprintf(out, "mkdir d0 d1 d1/e\n"
		     "ext4da-stamp -q --gen 1 create d0/a 16384\n"
		     "ext4da-stamp -q --gen 2 create d0/b 4096\n"
		     "ext4da-stamp -q truncate d0/b 16384\n"
		     "ext4da-stamp -q --gen 3 create d1/c 8192\n"
		     "sync\n"
		     "ext4da-mark -q setup-sync");
	sync_claims(out, m);
	fprintf(out, "\n");
}

static void header(FILE *out, const struct wl_space *s, uint64_t k, const struct wl_step *steps)
{
	char what[512];

	wl_describe(steps, s->seq, what, sizeof(what));
	fprintf(out, "#!/bin/sh\n# ext4da-workload %s: --seq %u --index %llu", PACKAGE_VERSION,
		s->seq, (unsigned long long)k);
	if (s->sample)
		fprintf(out, " --sample %llu --seed %llu", (unsigned long long)s->sample,
			(unsigned long long)s->seed);
	fprintf(out, "\n# %s\n"
		     "# For ext4da-record (busybox sh, run from the filesystem's root, with\n"
		     "# ext4da-stamp and ext4da-mark on PATH).  After each persistence point\n"
		     "# a claims mark records what it guarantees; ext4da-crash checks it.\n"
		     "set -e\necho 'EXT4DA-WORKLOAD %s'\n", what, what);
}

int wl_script(FILE *out, const struct wl_space *s, uint64_t k, const struct wl_step *steps)
{
	struct wl_model m;
	struct wl_action a;

	wl_model_init(&m);
	header(out, s, k, steps);
	setup(out, &m);
	for (unsigned i = 0; i < s->seq; i++) {
		if (wl_resolve(&m, &steps[i], &a))
			return -1;
		step(out, &m, &a, i + 1);
	}
	fprintf(out, "\necho 'EXT4DA-WORKLOAD-DONE'\n");
	return fflush(out) || ferror(out) ? -1 : 0;
}

static void describe_action(const struct wl_action *a, char *buf, size_t len)
{
	if (a->file >= 0)
		snprintf(buf, len, "%s %s %s", wl_op_name(a->op), wl_path_name(a->file),
			 wl_persist_name(a->persist));
	else if (a->to >= 0)
		snprintf(buf, len, "%s %s->%s %s", wl_op_name(a->op), wl_path_name(a->from),
			 wl_path_name(a->to), wl_persist_name(a->persist));
	else
		snprintf(buf, len, "%s %s %s", wl_op_name(a->op), wl_path_name(a->from),
			 wl_persist_name(a->persist));
}

void wl_describe(const struct wl_step *steps, unsigned n, char *buf, size_t len)
{
	struct wl_model m;
	struct wl_action a;
	size_t used = 0;

	wl_model_init(&m);
	buf[0] = '\0';
	for (unsigned i = 0; i < n && used < len; i++) {
		char one[128];

		if (wl_resolve(&m, &steps[i], &a)) {
			snprintf(one, sizeof(one), "%s ? %s", wl_op_name(steps[i].op),
				 wl_persist_name(steps[i].persist));
		} else {
			describe_action(&a, one, sizeof(one));
			wl_apply(&m, &a);
		}
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "; " : "", one);
	}
}
