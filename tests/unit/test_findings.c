/* test_findings.c: unit tests for the merging of findings into ranges
 * (lib/audit/findings.c), as ext4da-check(8) describes it: a finding that
 * continues an earlier one (same code, severity, group, inodes and detail;
 * the next blocks, and the next logical blocks if it has a logical range)
 * extends it instead of being listed again. */
#include <string.h>

#include "lib/audit/findings.h"
#include "tests/unit/check.h"

static struct finding mk(enum finding_code code, int64_t group, uint64_t block, uint64_t blocks,
			 uint32_t ino, int logical, uint64_t lblk, const char *detail)
{
	struct finding f = { .code = code, .severity = SEV_ERROR, .group = group, .block = block,
			     .blocks = blocks, .ino = ino, .has_logical = logical, .lblk = lblk,
			     .lblocks = logical ? blocks : 0 };

	strcpy(f.detail, detail);
	return f;
}

static void add(struct findings *fs, struct finding f)
{
	CHECK(findings_add(fs, &f) == 0);
}

/* Single blocks in a row become one range, counted once. */
static void test_adjacent_blocks(void)
{
	struct findings fs = { 0 };

	for (uint64_t b = 100; b < 105; b++)
		add(&fs, mk(F_LEAKED, 0, b, 1, 0, 0, 0, "leak"));
	CHECK(fs.n == 1);
	CHECK(fs.v[0].block == 100 && fs.v[0].blocks == 5);
	CHECK(fs.count[F_LEAKED] == 1);
	findings_free(&fs);
}

/* Runs of several blocks join too; a gap starts a new range. */
static void test_runs_and_gaps(void)
{
	struct findings fs = { 0 };

	add(&fs, mk(F_LEAKED, 0, 10, 3, 0, 0, 0, "leak"));
	add(&fs, mk(F_LEAKED, 0, 13, 4, 0, 0, 0, "leak"));
	add(&fs, mk(F_LEAKED, 0, 18, 1, 0, 0, 0, "leak"));	/* 17 missing */
	CHECK(fs.n == 2);
	CHECK(fs.v[0].block == 10 && fs.v[0].blocks == 7);
	CHECK(fs.v[1].block == 18 && fs.v[1].blocks == 1);
	CHECK(fs.count[F_LEAKED] == 2);
	/* going backwards is not a continuation */
	add(&fs, mk(F_LEAKED, 0, 9, 1, 0, 0, 0, "leak"));
	CHECK(fs.n == 3);
	findings_free(&fs);
}

/* Physically adjacent, logically not: two ranges. */
static void test_logical_must_continue(void)
{
	struct findings fs = { 0 };

	add(&fs, mk(F_PAST_EOF, 1, 500, 2, 12, 1, 40, "past"));
	add(&fs, mk(F_PAST_EOF, 1, 502, 2, 12, 1, 42, "past"));
	CHECK(fs.n == 1 && fs.v[0].blocks == 4 && fs.v[0].lblocks == 4 && fs.v[0].lblk == 40);
	add(&fs, mk(F_PAST_EOF, 1, 504, 1, 12, 1, 90, "past"));
	CHECK(fs.n == 2);
	CHECK(fs.v[1].lblk == 90 && fs.v[1].lblocks == 1);
	findings_free(&fs);
}

/* Anything else that differs keeps findings apart. */
static void test_keys_must_match(void)
{
	struct findings fs = { 0 };
	struct finding f;

	add(&fs, mk(F_UNMARKED, 0, 100, 1, 12, 1, 0, "unmarked"));
	add(&fs, mk(F_UNMARKED, 0, 101, 1, 13, 1, 1, "unmarked"));	/* other inode */
	add(&fs, mk(F_LEAKED, 0, 102, 1, 0, 0, 0, "unmarked"));		/* other code */
	add(&fs, mk(F_LEAKED, 1, 103, 1, 0, 0, 0, "unmarked"));		/* other group */
	add(&fs, mk(F_LEAKED, 1, 104, 1, 0, 0, 0, "other detail"));
	f = mk(F_LEAKED, 1, 105, 1, 0, 0, 0, "other detail");
	f.severity = SEV_WARNING;
	add(&fs, f);							/* other severity */
	f = mk(F_MULTIPLY_OWNED, 1, 106, 1, 12, 1, 0, "dup");
	f.other_ino = 13;
	add(&fs, f);
	f = mk(F_MULTIPLY_OWNED, 1, 107, 1, 12, 1, 1, "dup");
	f.other_ino = 14;						/* other second owner */
	add(&fs, f);
	CHECK(fs.n == 8);
	/* no physical range: never merged */
	add(&fs, mk(F_ORPHAN, NO_GROUP, 0, 0, 20, 0, 0, "orphan"));
	add(&fs, mk(F_ORPHAN, NO_GROUP, 0, 0, 20, 0, 0, "orphan"));
	CHECK(fs.n == 10 && fs.count[F_ORPHAN] == 2);
	findings_free(&fs);
}

/* Another finding in between does not stop a range from growing. */
static void test_interleaved(void)
{
	struct findings fs = { 0 };

	add(&fs, mk(F_PAST_EOF, 0, 300, 1, 12, 1, 7, "past"));
	add(&fs, mk(F_CORRUPT, 0, 900, 1, 12, 1, 50, "bad entry"));
	add(&fs, mk(F_PAST_EOF, 0, 301, 1, 12, 1, 8, "past"));
	CHECK(fs.n == 2);
	CHECK(fs.v[0].code == F_PAST_EOF && fs.v[0].blocks == 2 && fs.v[0].lblocks == 2);
	CHECK(fs.count[F_PAST_EOF] == 1 && fs.count[F_CORRUPT] == 1);
	findings_free(&fs);
}

/* ... within a bounded window: far apart, they stay two. */
static void test_window_is_bounded(void)
{
	struct findings fs = { 0 };

	add(&fs, mk(F_PAST_EOF, 0, 300, 1, 12, 1, 7, "past"));
	for (uint64_t k = 0; k < 100; k++)
		add(&fs, mk(F_STALE, 0, 1000 + 2 * k, 1, 13, 1, 2 * k, "stale"));
	add(&fs, mk(F_PAST_EOF, 0, 301, 1, 12, 1, 8, "past"));
	CHECK(fs.count[F_PAST_EOF] == 2);
	CHECK(fs.n == 102);
	findings_free(&fs);
}

/* Many findings: the array grows, and findings_errors counts errors. */
static void test_growth_and_errors(void)
{
	struct findings fs = { 0 };

	for (uint64_t k = 0; k < 1000; k++) {
		struct finding f = mk(F_LEAKED, 0, 10 * k, 1, 0, 0, 0, "leak");

		f.severity = k % 2 ? SEV_ERROR : SEV_INFO;
		add(&fs, f);
	}
	CHECK(fs.n == 1000);
	CHECK(findings_errors(&fs) == 500);
	findings_free(&fs);
	CHECK(fs.n == 0 && fs.v == NULL);
}

int main(void)
{
	test_adjacent_blocks();
	test_runs_and_gaps();
	test_logical_must_continue();
	test_keys_must_match();
	test_interleaved();
	test_window_is_bounded();
	test_growth_and_errors();
	return CHECK_SUMMARY();
}
