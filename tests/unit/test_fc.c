/* test_fc: the fast-commit scan (lib/journal/fc_scan.c) on areas built here tag by
 * tag: which tags count, and when the kernel's rules stop or refuse. */
#include <stdlib.h>
#include <string.h>

#include "lib/core/crc32c.h"
#include "lib/core/endian.h"
#include "lib/journal/fc.h"
#include "lib/journal/jbd2.h"
#include "tests/unit/check.h"

#define BS 1024
#define TID 42

struct area {
	uint8_t *buf;
	uint32_t blocks;
	size_t off;		/* write position */
	uint32_t crc;		/* running checksum since the last tail */
};

static void area_init(struct area *a, uint32_t blocks)
{
	a->buf = calloc(blocks, BS);
	a->blocks = blocks;
	a->off = 0;
	a->crc = 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

/* Append a tag with value val (len bytes); head, tail and pad included in
 * the running checksum as the kernel does. */
static void tag(struct area *a, uint16_t type, const void *val, uint16_t len)
{
	uint8_t *p = a->buf + a->off;

	put16(p, type);
	put16(p + 2, len);
	memcpy(p + 4, val, len);
	a->crc = crc32c(a->crc, p, 4u + len);
	a->off += 4u + len;
}

static void head(struct area *a, uint32_t features, uint32_t tid)
{
	uint8_t v[8];

	le32_put(v, features);
	le32_put(v + 4, tid);
	tag(a, FC_HEAD, v, 8);
}

/* A tail (with a good checksum unless bad), padded to the block's end. */
static void tail(struct area *a, uint32_t tid, int bad)
{
	uint8_t *p = a->buf + a->off;
	size_t len = BS - a->off % BS - 4;

	put16(p, FC_TAIL);
	put16(p + 2, (uint16_t)len);
	le32_put(p + 4, tid);
	a->crc = crc32c(a->crc, p, 8);
	le32_put(p + 8, a->crc + (bad ? 1 : 0));
	a->crc = 0;
	a->off += 4 + len;
}

static void add_range(struct area *a, uint32_t ino, uint32_t lblk, uint16_t len, uint64_t pblk)
{
	uint8_t v[16] = { 0 };

	le32_put(v, ino);
	le32_put(v + 4, lblk);
	put16(v + 8, len);
	put16(v + 10, (uint16_t)(pblk >> 32));
	le32_put(v + 12, (uint32_t)pblk);
	tag(a, FC_ADD_RANGE, v, 16);
}

static void inode_tag(struct area *a, uint32_t ino)
{
	uint8_t v[4 + 128] = { 0 };

	le32_put(v, ino);
	tag(a, FC_INODE, v, sizeof(v));
}

static void dentry(struct area *a, uint16_t type, uint32_t dir, uint32_t ino, const char *name)
{
	uint8_t v[8 + 255];
	size_t n = strlen(name);

	le32_put(v, dir);
	le32_put(v + 4, ino);
	memcpy(v + 8, name, n);
	tag(a, type, v, (uint16_t)(8 + n));
}

static void del_range(struct area *a, uint32_t ino, uint32_t lblk, uint32_t len)
{
	uint8_t v[12];

	le32_put(v, ino);
	le32_put(v + 4, lblk);
	le32_put(v + 8, len);
	tag(a, FC_DEL_RANGE, v, 12);
}

/* Parse a copy (fc_parse takes ownership). */
static void parse(const struct area *a, struct fc_log *log)
{
	uint8_t *copy = malloc((size_t)a->blocks * BS);

	memcpy(copy, a->buf, (size_t)a->blocks * BS);
	CHECK(fc_parse(log, copy, a->blocks, BS, TID, 256) == 0);
}

/* One commit of every replayable kind, then stale leftovers. */
static void test_every_tag(void)
{
	struct area a;
	struct fc_log log;

	area_init(&a, 4);
	head(&a, 0, TID);
	inode_tag(&a, 12);
	add_range(&a, 12, 0, 8, 5000);
	add_range(&a, 12, 8, 32768 + 4, 0x100000010ULL);	/* unwritten, 48-bit */
	del_range(&a, 12, 20, 4);
	dentry(&a, FC_CREAT, 2, 12, "new");
	dentry(&a, FC_LINK, 2, 12, "other");
	dentry(&a, FC_UNLINK, 2, 13, "gone");
	tag(&a, FC_PAD, "\0\0\0", 3);
	tail(&a, TID, 0);
	parse(&a, &log);
	CHECK(log.verdict == FC_REPLAY);
	CHECK(log.nreplay == 10);
	CHECK(log.commits == 1);
	CHECK(log.tags[0].type == FC_HEAD && log.tags[9].type == FC_TAIL);
	CHECK(fc_tag_ino(&log.tags[2]) == 12);
	CHECK(fc_tag_ino(&log.tags[7]) == 13);
	{
		struct fc_extent ex;

		fc_decode_extent(log.tags[3].val + 4, &ex);
		CHECK(ex.unwritten && ex.len == 4 && ex.lblk == 8 && ex.pblk == 0x100000010ULL);
		fc_decode_extent(log.tags[2].val + 4, &ex);
		CHECK(!ex.unwritten && ex.len == 8 && ex.pblk == 5000);
	}
	/* Block 1 is zeros: an unknown tag after a good tail ends the scan. */
	CHECK(strstr(log.why, "unknown tag") != NULL);
	fc_log_free(&log);
	free(a.buf);
}

/* Several commits: a bad one after good ones stops the replay there. */
static void test_stop_after_good(void)
{
	struct area a;
	struct fc_log log;

	area_init(&a, 4);
	head(&a, 0, TID);
	inode_tag(&a, 12);
	tail(&a, TID, 0);
	inode_tag(&a, 13);
	tail(&a, TID, 0);
	inode_tag(&a, 14);
	tail(&a, TID, 1);	/* bad checksum */
	parse(&a, &log);
	CHECK(log.verdict == FC_REPLAY);
	CHECK(log.commits == 2);
	CHECK(log.nreplay == 5);
	CHECK(strstr(log.why, "bad checksum") != NULL);
	fc_log_free(&log);
	free(a.buf);

	/* A tail for another transaction after good ones: stop too. */
	area_init(&a, 3);
	head(&a, 0, TID);
	inode_tag(&a, 12);
	tail(&a, TID, 0);
	inode_tag(&a, 13);
	tail(&a, TID - 1, 0);
	parse(&a, &log);
	CHECK(log.verdict == FC_REPLAY && log.nreplay == 3);
	fc_log_free(&log);
	free(a.buf);
}

/* What the kernel refuses, and what it ignores. */
static void test_refuse_and_ignore(void)
{
	struct area a;
	struct fc_log log;

	/* Bad tail before any good one: recovery fails. */
	area_init(&a, 2);
	head(&a, 0, TID);
	inode_tag(&a, 12);
	tail(&a, TID, 1);
	parse(&a, &log);
	CHECK(log.verdict == FC_REFUSE && log.nreplay == 0);
	fc_log_free(&log);
	free(a.buf);

	/* Unknown head features: refused. */
	area_init(&a, 2);
	head(&a, 1, TID);
	inode_tag(&a, 12);
	tail(&a, TID, 0);
	parse(&a, &log);
	CHECK(log.verdict == FC_REFUSE);
	CHECK(strstr(log.why, "features") != NULL);
	fc_log_free(&log);
	free(a.buf);

	/* A stale head (older tid): nothing to replay, no refusal. */
	area_init(&a, 2);
	head(&a, 0, TID - 1);
	inode_tag(&a, 12);
	tail(&a, TID - 1, 0);
	parse(&a, &log);
	CHECK(log.verdict == FC_NOTHING && log.nreplay == 0);
	CHECK(log.head_seen && log.head_tid == TID - 1);
	CHECK(strstr(log.why, "stale head") != NULL);
	fc_log_free(&log);
	free(a.buf);

	/* No head at all: nothing. */
	area_init(&a, 2);
	inode_tag(&a, 12);
	parse(&a, &log);
	CHECK(log.verdict == FC_NOTHING && log.ntags == 0);
	fc_log_free(&log);
	free(a.buf);

	/* A tag whose length runs past the block: refused before any tail. */
	area_init(&a, 2);
	head(&a, 0, TID);
	put16(a.buf + a.off, FC_PAD);
	put16(a.buf + a.off + 2, BS);
	parse(&a, &log);
	CHECK(log.verdict == FC_REFUSE && strstr(log.why, "bad length") != NULL);
	fc_log_free(&log);
	free(a.buf);

	/* Lengths the kernel rejects: an inode record larger than an inode,
	 * a name longer than 255, a short add_range. */
	area_init(&a, 2);
	head(&a, 0, TID);
	{
		uint8_t big[4 + 300] = { 0 };

		tag(&a, FC_INODE, big, sizeof(big));
	}
	tail(&a, TID, 0);
	parse(&a, &log);
	CHECK(log.verdict == FC_REFUSE);
	fc_log_free(&log);
	free(a.buf);

	area_init(&a, 2);
	head(&a, 0, TID);
	tag(&a, FC_ADD_RANGE, "0123456789ab", 12);
	tail(&a, TID, 0);
	parse(&a, &log);
	CHECK(log.verdict == FC_REFUSE);
	fc_log_free(&log);
	free(a.buf);

	/* Tags filling every block with no end: the kernel reads past the
	 * area and fails. */
	area_init(&a, 1);
	head(&a, 0, TID);
	inode_tag(&a, 12);
	put16(a.buf + a.off, FC_PAD);
	put16(a.buf + a.off + 2, (uint16_t)(BS - a.off - 4));
	parse(&a, &log);
	CHECK(log.verdict == FC_REFUSE && strstr(log.why, "end of the area") != NULL);
	fc_log_free(&log);
	free(a.buf);
}

/* A commit may run over blocks; tags never straddle one. */
static void test_multi_block(void)
{
	struct area a;
	struct fc_log log;
	int n = 0;

	area_init(&a, 4);
	head(&a, 0, TID);
	while (a.off + 20 <= BS - 4) {
		add_range(&a, 12, (uint32_t)n, 1, 1000u + (uint32_t)n);
		n++;
	}
	/* Pad out the block, go on in the next one. */
	tag(&a, FC_PAD, a.buf + a.off + 4, (uint16_t)(BS - a.off - 4));
	add_range(&a, 12, (uint32_t)n, 1, 1000u + (uint32_t)n);
	n++;
	tail(&a, TID, 0);
	parse(&a, &log);
	CHECK(log.verdict == FC_REPLAY);
	CHECK(log.nreplay == (size_t)n + 3);
	CHECK(log.tags[log.nreplay - 1].block == 1);
	fc_log_free(&log);
	free(a.buf);
}

int main(void)
{
	test_every_tag();
	test_stop_after_good();
	test_refuse_and_ignore();
	test_multi_block();
	return CHECK_SUMMARY();
}
