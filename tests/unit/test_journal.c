/* test_journal.c: unit tests for the pieces of the journal library that
 * need no image: the block map, tid arithmetic, log wrapping and tag decoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/blockdev/blockmap.h"
#include "lib/core/crc32c.h"
#include "lib/journal/journal.h"
#include "tests/unit/check.h"


static void test_blockmap(void)
{
	struct blockmap m;
	int ins;

	CHECK(blockmap_init(&m, 4) == 0);
	for (uint64_t k = 0; k < 100000; k++) {
		uint32_t *v = blockmap_slot(&m, k * 7919 + (k << 40), &ins);

		CHECK(v && ins);
		*v = (uint32_t)k;
	}
	CHECK(m.len == 100000);
	for (uint64_t k = 0; k < 100000; k += 97) {
		uint32_t *v = blockmap_find(&m, k * 7919 + (k << 40));

		CHECK(v && *v == k);
	}
	CHECK(blockmap_find(&m, 3) == NULL);
	CHECK(*blockmap_slot(&m, 0, &ins) == 0 && !ins);
	blockmap_free(&m);
}

static void test_tids(void)
{
	CHECK(tid_gt(5, 4));
	CHECK(!tid_gt(4, 4));
	CHECK(tid_geq(4, 4));
	CHECK(tid_gt(2, 0xfffffff0U)); /* wraps around */
	CHECK(!tid_gt(0xfffffff0U, 2));
}

static void test_wrap(void)
{
	struct journal j = { .first = 1, .last = 1024, .maxlen = 1024 };

	CHECK(journal_next(&j, 5) == 6);
	CHECK(journal_next(&j, 1023) == 1);
	CHECK(journal_wrap(&j, 1024 + 5) == 6);
	/* With a fast-commit area the main log still wraps at last. */
	j.maxlen = 1280;
	CHECK(journal_next(&j, 1023) == 1);
}

static void test_tags(void)
{
	uint8_t tag[16] = { 0 };
	struct journal j = { .incompat = JBD2_INCOMPAT_64BIT };

	put_be32(tag, 0, 0x12345678);
	put_be32(tag, 8, 0x9);
	tag[6] = 0;
	tag[7] = JBD2_FLAG_LAST_TAG | JBD2_FLAG_SAME_UUID;
	CHECK(journal_tag_block(&j, tag) == 0x912345678ULL);
	j.incompat = 0;
	CHECK(journal_tag_block(&j, tag) == 0x12345678ULL);
	CHECK(journal_tag_flags(tag) == (JBD2_FLAG_LAST_TAG | JBD2_FLAG_SAME_UUID));
}

static void test_crc32c(void)
{
	uint8_t buf[4099];

	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	/* Every length and misalignment agrees with libext2fs's table version. */
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += 1 + len / 3)
			CHECK(crc32c(~0U, buf + off, len) == ext2fs_crc32c_le(~0U, buf + off, len));
	CHECK(crc32c(0x12345678, buf, 4096) == ext2fs_crc32c_le(0x12345678, buf, 4096));
}

int main(void)
{
	test_crc32c();
	test_blockmap();
	test_tids();
	test_wrap();
	test_tags();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
