/* test_workload.c: unit tests for the workload generator (lib/crash/workload.c,
 * lib/crash/workload_script.c): how many workloads there are, that workload K
 * is always the same, that one operation covers the whole vocabulary,
 * that samples do not repeat, and what the scripts claim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crash/workload.h"
#include "tests/unit/check.h"

/* The script of workload k, in a malloc'd string. */
static char *script_of(const struct wl_space *s, uint64_t k)
{
	struct wl_step steps[WL_MAX_SEQ];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (wl_get(s, k, steps))
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	if (wl_script(f, s, k, steps)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

/* sync_file_range needs a file, and unlink, mkdir and rmdir leave none. */
static void test_count(void)
{
	struct wl_space one = { .seq = 1 }, two = { .seq = 2 }, bad = { .seq = 3 };
	uint64_t n1 = wl_count(&one), n2 = wl_count(&two);

	CHECK(n1 == (uint64_t)WOP_NOPS * WP_NPERSIST - 3);
	CHECK(n2 > n1 * 70 && n2 < n1 * n1);	/* most pairs run, not all */
	CHECK(wl_count(&bad) == 0);
	two.sample = 50;
	CHECK(wl_count(&two) == 50);
	two.sample = n2 + 10;
	CHECK(wl_count(&two) == n2);
}

static void test_every_op_in_seq1(void)
{
	struct wl_space one = { .seq = 1 };
	int seen[WOP_NOPS][WP_NPERSIST] = { { 0 } };
	struct wl_step st;

	for (uint64_t k = 0; k < wl_count(&one); k++) {
		CHECK(wl_get(&one, k, &st) == 0);
		seen[st.op][st.persist]++;
	}
	for (int op = 0; op < WOP_NOPS; op++)
		for (int p = 0; p < WP_NPERSIST; p++) {
			int no_file = p == WP_SYNC_RANGE &&
				      (op == WOP_UNLINK || op == WOP_MKDIR || op == WOP_RMDIR);

			CHECK(seen[op][p] == !no_file);
		}
	CHECK(wl_get(&one, wl_count(&one), &st) == -1);
}

static void test_index_is_deterministic(void)
{
	struct wl_space two = { .seq = 2 };
	uint64_t n = wl_count(&two);
	char *a = script_of(&two, 1234), *b = script_of(&two, 1234), *c = script_of(&two, 1235);
	struct wl_step prev[2], cur[2];

	CHECK(a && b && c && strcmp(a, b) == 0 && strcmp(a, c) != 0);
	free(a);
	free(b);
	free(c);
	/* The first step varies slowest, so the numbering is stable when the
	 * vocabulary grows at its end. */
	CHECK(wl_get(&two, 0, prev) == 0);
	for (uint64_t k = 1; k < n; k++) {
		CHECK(wl_get(&two, k, cur) == 0);
		if (cur[0].op != prev[0].op || cur[0].persist != prev[0].persist)
			CHECK(cur[0].op * WP_NPERSIST + cur[0].persist >
			      prev[0].op * WP_NPERSIST + prev[0].persist);
		memcpy(prev, cur, sizeof(cur));
	}
}

static void test_samples(void)
{
	struct wl_space all = { .seq = 2 }, s = { .seq = 2, .sample = 200, .seed = 7 };
	struct wl_space big = { .seq = 2, .sample = 300, .seed = 7 }, other = s;
	uint64_t n = wl_count(&all);
	char *seen = calloc(n, 1), *x, *y;
	struct wl_step a[2], b[2];
	int repeats = 0, differ = 0;

	other.seed = 8;
	for (uint64_t k = 0; k < s.sample; k++) {
		char what[256];
		uint64_t j;

		CHECK(wl_get(&s, k, a) == 0 && wl_get(&big, k, b) == 0);
		CHECK(memcmp(a, b, sizeof(a)) == 0);	/* a larger sample extends it */
		wl_get(&other, k, b);
		differ += memcmp(a, b, sizeof(a)) != 0;
		wl_describe(a, 2, what, sizeof(what));
		for (j = 0; j < n; j++) {	/* where it is in the full numbering */
			wl_get(&all, j, b);
			if (!memcmp(a, b, sizeof(a)))
				break;
		}
		CHECK(j < n);
		if (j < n)
			repeats += seen[j]++;
	}
	CHECK(repeats == 0 && differ > 100);
	CHECK(wl_get(&s, s.sample, a) == -1);
	x = script_of(&s, 5);
	y = script_of(&s, 5);
	CHECK(x && y && strcmp(x, y) == 0 && strstr(x, "--sample 200 --seed 7"));
	free(x);
	free(y);
	free(seen);
}

/* The index of a step sequence in a space, or -1. */
static int64_t find(const struct wl_space *s, const struct wl_step *want)
{
	struct wl_step st[WL_MAX_SEQ];

	for (uint64_t k = 0; k < wl_count(s); k++)
		if (wl_get(s, k, st) == 0 && !memcmp(st, want, s->seq * sizeof(st[0])))
			return (int64_t)k;
	return -1;
}

static void test_model(void)
{
	struct wl_space two = { .seq = 2 };
	struct wl_step unlink_then_hole[2] = { { WOP_UNLINK, WP_NONE }, { WOP_HOLE, WP_NONE } };
	struct wl_step up_then_hole[2] = { { WOP_TRUNC_UP, WP_NONE }, { WOP_HOLE, WP_NONE } };
	struct wl_step rmdir_twice[2] = { { WOP_RMDIR, WP_NONE }, { WOP_RMDIR, WP_NONE } };
	struct wl_step link_over[2] = { { WOP_LINK, WP_NONE }, { WOP_RENAME_OVER, WP_FSYNC } };
	char what[256];

	/* b is the one file with a hole: without it there is no hole op; after
	 * truncate-up a has one too, but b comes first. */
	CHECK(find(&two, unlink_then_hole) < 0);
	CHECK(find(&two, up_then_hole) >= 0);
	wl_describe(up_then_hole, 2, what, sizeof(what));
	CHECK(strcmp(what, "truncate-up d0/a none; hole d0/b none") == 0);
	CHECK(find(&two, rmdir_twice) < 0);	/* e and x: x does not exist */
	wl_describe(link_over, 2, what, sizeof(what));
	CHECK(strcmp(what, "link d0/a->d1/l none; rename-over d0/a->d0/b fsync") == 0);
}

static int has(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

static char *seq1_script(enum wl_op op, enum wl_persist p)
{
	struct wl_space one = { .seq = 1 };
	struct wl_step st = { op, p };
	int64_t k = find(&one, &st);

	return k < 0 ? NULL : script_of(&one, (uint64_t)k);
}

/* What the persistence points claim (workload_script.c's table). */
static void test_claims(void)
{
	char *s;

	s = seq1_script(WOP_UNLINK, WP_FSYNC);
	CHECK(has(s, "rm d0/b\nsync d0\n"));
	CHECK(has(s, "ext4da-mark -q step1-release --release d0/b\n"));
	CHECK(has(s, "ext4da-mark -q step1-unlink-fsync --names d0 --absent d0/b --absent d0/x\n"));
	free(s);
	s = seq1_script(WOP_UNLINK, WP_FDATASYNC);	/* a directory: nothing */
	CHECK(has(s, "sync -d d0\n") && !has(s, "step1-unlink-fdatasync"));
	free(s);
	s = seq1_script(WOP_RENAME_NEW, WP_FSYNC);	/* both directories */
	CHECK(has(s, "mv -f d0/a d1/n\nsync d0 d1\n"));
	CHECK(has(s, "--release d0/a --release d1/n\n"));
	free(s);
	s = seq1_script(WOP_APPEND, WP_FDATASYNC);
	CHECK(has(s, "append d0/a 8192\nsync -d d0/a\n"));
	CHECK(has(s, "ext4da-mark -q step1-append-fdatasync --synced d0/a\n"));
	free(s);
	s = seq1_script(WOP_OVERWRITE, WP_SYNC_RANGE);	/* guarantees nothing */
	CHECK(has(s, "--sync-range overwrite d0/a 0 0\n") && !has(s, "step1-overwrite-sync-range"));
	free(s);
	s = seq1_script(WOP_PUNCH, WP_SYNC);
	CHECK(has(s, "--fallocate punch overwrite d0/a 4096 4096\nsync\n"));
	CHECK(has(s, "step1-punch-sync --synced d0/a --synced d0/b --synced d1/c --names ."));
	free(s);
	s = seq1_script(WOP_MMAP, WP_NONE);	/* msync claims the file */
	CHECK(has(s, "--mmap overwrite d0/a 0 4096\next4da-mark -q step1-mmap-msync --synced d0/a\n"));
	free(s);
	s = seq1_script(WOP_DIRECT, WP_NONE);
	CHECK(has(s, "--direct overwrite d0/a 4096 4096\n"));
	free(s);
}

/* A claim made at step 1 is released before step 2 changes it; msync
 * claims nothing while other writes of the file are pending. */
static void test_seq2_claims(void)
{
	struct wl_space two = { .seq = 2 };
	struct wl_step fsync_then_trunc[2] = { { WOP_APPEND, WP_FSYNC },
					      { WOP_TRUNC_DOWN, WP_NONE } };
	struct wl_step append_then_mmap[2] = { { WOP_APPEND, WP_NONE }, { WOP_MMAP, WP_NONE } };
	int64_t k = find(&two, fsync_then_trunc);
	char *s = k < 0 ? NULL : script_of(&two, (uint64_t)k);

	CHECK(has(s, "ext4da-mark -q step2-release --release d0/a\next4da-stamp -q truncate d0/a 12288\n"));
	free(s);
	k = find(&two, append_then_mmap);
	s = k < 0 ? NULL : script_of(&two, (uint64_t)k);
	CHECK(s && !has(s, "mmap-msync"));
	free(s);
}

int main(void)
{
	test_count();
	test_every_op_in_seq1();
	test_index_is_deterministic();
	test_samples();
	test_model();
	test_claims();
	test_seq2_claims();
	return CHECK_SUMMARY();
}
