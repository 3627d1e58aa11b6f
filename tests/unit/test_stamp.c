/* test_stamp.c: unit tests for the poison, stamp and mark formats
 * (lib/core/stamp.c, lib/core/mark.c) and crc32c, both of its paths
 * (lib/core/crc32c.c).  The expected bytes are computed here from the
 * documented layout, with a bitwise CRC-32C, so that the library is
 * checked against its documentation rather than against itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2fs.h>

#include "lib/core/crc32c.h"
#include "lib/core/mark.h"
#include "lib/core/stamp.h"
#include "tests/unit/check.h"


/* --- references, straight from the documentation ---------------------------- */

static uint32_t ref_crc32c(const uint8_t *p, size_t len)
{
	uint32_t c = ~0U;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78U & (0U - (c & 1)));
	}
	return ~c;
}

static uint64_t ref_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t ref_le32(const uint8_t *p)
{
	return (uint32_t)ref_le64((const uint8_t[8]){ p[0], p[1], p[2], p[3] });
}

static void ref_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void ref_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* CRC-32C of len bytes with the 4 bytes at crc_at taken as zero. */
static uint32_t ref_crc_without(const uint8_t *p, size_t len, size_t crc_at)
{
	uint8_t *copy = malloc(len);
	uint32_t c;

	memcpy(copy, p, len);
	memset(copy + crc_at, 0, 4);
	c = ref_crc32c(copy, len);
	free(copy);
	return c;
}

static uint64_t ref_poison_word(uint64_t n, unsigned k)
{
	uint64_t salt;

	memcpy(&salt, "E4DAPOIS", 8);	/* little-endian host, as the salt is defined */
	return mix64(((n << 6) | k) ^ salt);
}

static uint64_t ref_stamp_word(uint64_t ino, uint32_t gen, uint64_t off, uint64_t wgen,
			       unsigned k)
{
	uint64_t salt, h;

	memcpy(&salt, "E4DASTMP", 8);
	h = mix64(mix64(mix64(mix64(salt ^ ino) ^ gen) ^ off) ^ wgen);
	return mix64(h + k * 0x9e3779b97f4a7c15ULL);
}

static uint64_t rng_state = 42;

static uint64_t rng(void)
{
	rng_state += 0x9e3779b97f4a7c15ULL;
	return mix64(rng_state);
}

static void fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rng();
}

/* --- crc32c --------------------------------------------------------------------- */

static void test_crc(void)
{
	uint8_t buf[1100];

	CHECK(crc32c_std("123456789", 9) == 0xe3069283U);
	CHECK(crc32c_std("", 0) == 0);
	CHECK(ref_crc32c((const uint8_t *)"123456789", 9) == 0xe3069283U);
	/* splitmix64's first output for seed 0: mix64 is its finaliser. */
	CHECK(mix64(0x9e3779b97f4a7c15ULL) == 0xe220a8397b1dcdafULL);
	fill_random(buf, sizeof(buf));
	for (size_t start = 0; start < 8; start++)
		for (size_t len = 0; len + start <= sizeof(buf); len += 37) {
			uint32_t want = ext2fs_crc32c_le(~0U, buf + start, len);

			CHECK(crc32c(~0U, buf + start, len) == want);
			CHECK(crc32c_portable(~0U, buf + start, len) == want);
			CHECK(crc32c_portable(0x12345678U, buf + start, len) ==
			      ext2fs_crc32c_le(0x12345678U, buf + start, len));
			CHECK(crc32c(0x12345678U, buf + start, len) ==
			      ext2fs_crc32c_le(0x12345678U, buf + start, len));
		}
}

/* --- poison ----------------------------------------------------------------------- */

static void check_poison_bytes(const uint8_t *p, uint64_t n)
{
	int fill_ok = 1;

	CHECK(memcmp(p, "E4DAPOIS", 8) == 0);
	CHECK(ref_le64(p + 8) == n);
	for (unsigned k = 2; k < 64; k++)
		fill_ok &= ref_le64(p + 8 * k) == ref_poison_word(n, k);
	CHECK(fill_ok);
}

static void test_poison(void)
{
	static const uint64_t starts[] = { 0, 1, 12345, (1ULL << 40) + 7, (1ULL << 58) + 3,
					   UINT64_MAX - 3 };
	uint8_t buf[4 * SECTOR_SIZE];
	struct sector_detail d;
	uint64_t n;

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		poison_fill(buf, starts[i], 4);
		for (unsigned s = 0; s < 4; s++) {
			const uint8_t *p = buf + s * SECTOR_SIZE;

			check_poison_bytes(p, starts[i] + s);
			n = 0;
			CHECK(poison_sector_check(p, &n) == 1 && n == starts[i] + s);
			CHECK(sector_classify(p, 12, 1, 0, &d) == SECTOR_POISON);
			CHECK(d.sector_no == starts[i] + s);
		}
	}
	/* Neighbouring sectors differ in every word, not just the header. */
	poison_fill(buf, 100, 2);
	CHECK(memcmp(buf + 16, buf + SECTOR_SIZE + 16, SECTOR_SIZE - 16) != 0);
	CHECK(poison_sector_check(buf, NULL) == 1);

	/* Torn poison: a fill word or the header disagrees. */
	poison_fill(buf, 777, 1);
	buf[300] ^= 0x10;
	CHECK(poison_sector_check(buf, &n) == 0);
	CHECK(sector_classify(buf, 12, 1, 0, &d) == SECTOR_CORRUPT_STAMP);
	CHECK(d.poison == 1 && d.sector_no == 777);
	poison_fill(buf, 777, 1);
	buf[8] ^= 1;
	CHECK(poison_sector_check(buf, NULL) == 0);
	poison_fill(buf, 777, 1);
	buf[0] = 'X';
	CHECK(poison_sector_check(buf, NULL) == 0);
	CHECK(sector_classify(buf, 12, 1, 0, NULL) == SECTOR_OTHER);
}

/* --- stamps ------------------------------------------------------------------------ */

static void check_stamp_bytes(const uint8_t *p, uint64_t ino, uint32_t gen, uint64_t off,
			      uint64_t wgen)
{
	int fill_ok = 1;

	CHECK(memcmp(p, "E4DASTMP", 8) == 0);
	CHECK(ref_le64(p + 8) == ino);
	CHECK(ref_le32(p + 16) == gen);
	CHECK(ref_le64(p + 20) == off);
	CHECK(ref_le64(p + 28) == wgen);
	CHECK(ref_le32(p + 36) == ref_crc_without(p, SECTOR_SIZE, 36));
	for (unsigned k = 5; k < 64; k++)
		fill_ok &= ref_le64(p + 8 * k) == ref_stamp_word(ino, gen, off, wgen, k);
	CHECK(fill_ok);
}

static void test_stamp_round_trip(void)
{
	uint8_t buf[8 * SECTOR_SIZE];
	struct stamp s;
	struct sector_detail d;

	stamp_fill(buf, sizeof(buf), 0x1122334455667788ULL, 0xdeadbeef, 1ULL << 33, 99);
	for (unsigned i = 0; i < 8; i++) {
		const uint8_t *p = buf + i * SECTOR_SIZE;
		uint64_t off = (1ULL << 33) + i * SECTOR_SIZE;

		check_stamp_bytes(p, 0x1122334455667788ULL, 0xdeadbeef, off, 99);
		CHECK(stamp_parse(p, &s) == STAMP_VALID);
		CHECK(s.ino == 0x1122334455667788ULL && s.gen == 0xdeadbeef && s.file_offset == off &&
		      s.write_gen == 99 && s.crc == ref_le32(p + 36));
		CHECK(stamp_crc(p) == s.crc);
		CHECK(sector_classify(p, 0x1122334455667788ULL, 0xdeadbeef, off, &d) ==
		      SECTOR_STAMP_OK);
		CHECK(d.stamp.write_gen == 99);
	}
	/* stamp_sector is stamp_fill for one sector. */
	s = (struct stamp){ .ino = 5, .gen = 6, .file_offset = 512, .write_gen = 7 };
	stamp_sector(buf, &s);
	stamp_fill(buf + SECTOR_SIZE, SECTOR_SIZE, 5, 6, 512, 7);
	CHECK(memcmp(buf, buf + SECTOR_SIZE, SECTOR_SIZE) == 0);
	/* The write generation changes the whole sector, not only its field. */
	stamp_fill(buf + SECTOR_SIZE, SECTOR_SIZE, 5, 6, 512, 8);
	CHECK(memcmp(buf + 40, buf + SECTOR_SIZE + 40, SECTOR_SIZE - 40) != 0);
	memset(buf, 0, SECTOR_SIZE);
	CHECK(stamp_parse(buf, &s) == STAMP_NONE);
}

static void test_stamp_verdicts(void)
{
	uint8_t sec[SECTOR_SIZE];
	struct sector_detail d;

	stamp_fill(sec, SECTOR_SIZE, 40, 3, 4096, 1);
	CHECK(sector_classify(sec, 40, 3, 4096, &d) == SECTOR_STAMP_OK);
	CHECK(sector_classify(sec, 41, 3, 4096, &d) == SECTOR_FOREIGN_STAMP);
	CHECK(d.stamp.ino == 40 && d.stamp.gen == 3 && d.stamp.file_offset == 4096);
	CHECK(sector_classify(sec, 40, 4, 4096, &d) == SECTOR_FOREIGN_STAMP);
	CHECK(d.stamp.gen == 3);
	CHECK(sector_classify(sec, 40, 3, 4608, &d) == SECTOR_FOREIGN_STAMP);
	CHECK(d.stamp.file_offset == 4096);
	CHECK(sector_classify(sec, 40, 3, 4096, NULL) == SECTOR_STAMP_OK);

	memset(sec, 0, sizeof(sec));
	CHECK(sector_classify(sec, 40, 3, 4096, &d) == SECTOR_ZERO);
	sec[SECTOR_SIZE - 1] = 1;
	CHECK(sector_classify(sec, 40, 3, 4096, &d) == SECTOR_OTHER);
	fill_random(sec, sizeof(sec));
	CHECK(sector_classify(sec, 40, 3, 4096, &d) == SECTOR_OTHER);
	memcpy(sec, "E4DASTMP", 8);	/* magic over random bytes */
	CHECK(sector_classify(sec, 40, 3, 4096, &d) == SECTOR_CORRUPT_STAMP);
	CHECK(d.poison == 0 && d.crc_computed == ref_crc_without(sec, SECTOR_SIZE, 36));

	CHECK(strcmp(sector_verdict_name(SECTOR_ZERO), "zero") == 0);
	CHECK(strcmp(sector_verdict_name(SECTOR_STAMP_OK), "stamp-ok") == 0);
	CHECK(strcmp(sector_verdict_name(SECTOR_POISON), "poison") == 0);
	CHECK(strcmp(sector_verdict_name(SECTOR_FOREIGN_STAMP), "foreign-stamp") == 0);
	CHECK(strcmp(sector_verdict_name(SECTOR_CORRUPT_STAMP), "corrupt-stamp") == 0);
	CHECK(strcmp(sector_verdict_name(SECTOR_OTHER), "other") == 0);
	CHECK(sector_verdict_is_stale(SECTOR_POISON) && sector_verdict_is_stale(SECTOR_FOREIGN_STAMP));
	CHECK(!sector_verdict_is_stale(SECTOR_OTHER) && !sector_verdict_is_stale(SECTOR_ZERO));
	CHECK(sector_verdict_is_good(SECTOR_ZERO) && sector_verdict_is_good(SECTOR_STAMP_OK));
	CHECK(!sector_verdict_is_good(SECTOR_CORRUPT_STAMP));
}

/* Every single flipped bit of a stamp is caught: in the magic it is no
 * longer ours (OTHER), anywhere else the crc fails. */
static void test_stamp_bit_flips(void)
{
	uint8_t good[SECTOR_SIZE], sec[SECTOR_SIZE];
	int magic_ok = 1, rest_ok = 1;

	stamp_fill(good, SECTOR_SIZE, 77, 0x01020304, 1536, 5);
	for (unsigned bit = 0; bit < SECTOR_SIZE * 8; bit++) {
		enum sector_verdict v;

		memcpy(sec, good, sizeof(sec));
		sec[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		v = sector_classify(sec, 77, 0x01020304, 1536, NULL);
		if (bit < 64)
			magic_ok &= v == SECTOR_OTHER;
		else
			rest_ok &= v == SECTOR_CORRUPT_STAMP;
	}
	CHECK(magic_ok);
	CHECK(rest_ok);
}

static void test_scan_block(void)
{
	uint8_t blk[8 * SECTOR_SIZE] = { 0 };
	struct block_scan bs;

	CHECK(sector_scan_block(blk, sizeof(blk), 9, 1, 8192, &bs) == 0);
	CHECK(bs.count[SECTOR_ZERO] == 8 && bs.first_bad == SIZE_MAX);

	stamp_fill(blk, 8 * SECTOR_SIZE, 9, 1, 8192, 3);
	CHECK(sector_scan_block(blk, sizeof(blk), 9, 1, 8192, &bs) == 0);
	CHECK(bs.count[SECTOR_STAMP_OK] == 8);
	/* 0 ok, 1 zero, 2 poison, 3 foreign, 4 corrupt, 5 other, 6-7 ok */
	memset(blk + 1 * SECTOR_SIZE, 0, SECTOR_SIZE);
	poison_fill(blk + 2 * SECTOR_SIZE, 5000, 1);
	stamp_fill(blk + 3 * SECTOR_SIZE, SECTOR_SIZE, 10, 1, 8192 + 3 * SECTOR_SIZE, 3);
	blk[4 * SECTOR_SIZE + 100] ^= 4;
	fill_random(blk + 5 * SECTOR_SIZE, SECTOR_SIZE);
	CHECK(sector_scan_block(blk, sizeof(blk), 9, 1, 8192, &bs) == 3);
	CHECK(bs.count[SECTOR_STAMP_OK] == 3 && bs.count[SECTOR_ZERO] == 1 &&
	      bs.count[SECTOR_POISON] == 1 && bs.count[SECTOR_FOREIGN_STAMP] == 1 &&
	      bs.count[SECTOR_CORRUPT_STAMP] == 1 && bs.count[SECTOR_OTHER] == 1);
	CHECK(bs.first_bad == 2 && bs.first_bad_verdict == SECTOR_POISON &&
	      bs.first_bad_detail.sector_no == 5000);
	/* The same block seen at another offset: every stamp is foreign. */
	CHECK(sector_scan_block(blk, sizeof(blk), 9, 1, 0, &bs) == 6);
	CHECK(bs.first_bad == 0 && bs.first_bad_verdict == SECTOR_FOREIGN_STAMP &&
	      bs.first_bad_detail.stamp.file_offset == 8192);
	/* Only OTHER: nothing to judge. */
	fill_random(blk, sizeof(blk));
	CHECK(sector_scan_block(blk, sizeof(blk), 9, 1, 8192, &bs) == 0);
	CHECK(bs.count[SECTOR_OTHER] == 8);
}

/* --- marks ---------------------------------------------------------------------------- */

static void make_record(struct mark_record *r, uint64_t seq, uint32_t nentries)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->kind = nentries ? MARK_DURABLE : MARK_PLAIN;
	r->time_ns = 1700000000123456789ULL;
	snprintf(r->name, sizeof(r->name), "mark-%llu", (unsigned long long)seq);
	r->nentries = nentries;
	for (uint32_t i = 0; i < nentries; i++) {
		struct mark_entry *m = &r->entries[i];

		m->ino = 1000 + i;
		m->gen = 0xabc00000U + i;
		m->crc = 0x5a5a0000U + i;
		m->size = (1ULL << 32) + i;
		snprintf(m->path, sizeof(m->path), "/dir/file%u", i);
	}
}

static int records_equal(const struct mark_record *a, const struct mark_record *b)
{
	if (a->seq != b->seq || a->kind != b->kind || a->time_ns != b->time_ns ||
	    strcmp(a->name, b->name) || a->nentries != b->nentries)
		return 0;
	for (uint32_t i = 0; i < a->nentries; i++) {
		const struct mark_entry *x = &a->entries[i], *y = &b->entries[i];

		if (x->ino != y->ino || x->gen != y->gen || x->crc != y->crc || x->size != y->size ||
		    strcmp(x->path, y->path))
			return 0;
	}
	return 1;
}

static void check_record_bytes(const uint8_t *p, const struct mark_record *r)
{
	CHECK(memcmp(p, "E4DAMARK", 8) == 0);
	CHECK(ref_le32(p + 8) == 1);
	CHECK(ref_le32(p + 12) == ref_crc_without(p, 4096, 12));
	CHECK(ref_le64(p + 16) == r->seq);
	CHECK(ref_le32(p + 24) == (uint32_t)r->kind);
	CHECK(ref_le32(p + 28) == r->nentries);
	CHECK(ref_le64(p + 32) == r->time_ns);
	CHECK(strcmp((const char *)p + 40, r->name) == 0);
	for (uint32_t i = 0; i < r->nentries; i++) {
		const uint8_t *e = p + 128 + 256 * i;

		CHECK(ref_le64(e) == r->entries[i].ino && ref_le32(e + 8) == r->entries[i].gen &&
		      ref_le32(e + 12) == r->entries[i].crc && ref_le64(e + 16) == r->entries[i].size &&
		      strcmp((const char *)e + 32, r->entries[i].path) == 0);
	}
}

static void test_mark_round_trip(void)
{
	static struct mark_record r, back;
	static uint8_t buf[MARK_RECORD_SIZE];

	CHECK(MARK_OFF_TAIL == 3968 && MARK_SLOTS == 256);
	for (uint32_t n = 0; n <= MARK_MAX_ENTRIES; n += 5) {
		make_record(&r, 1 + n * 1000, n);
		CHECK(mark_record_encode(&r, buf) == MARK_OK);
		check_record_bytes(buf, &r);
		CHECK(mark_record_decode(buf, &back) == MARK_OK);
		CHECK(records_equal(&r, &back));
	}
	/* The longest name and path fit exactly. */
	make_record(&r, 7, 1);
	memset(r.name, 'n', MARK_NAME_MAX);
	r.name[MARK_NAME_MAX] = '\0';
	r.entries[0].path[0] = '/';
	memset(r.entries[0].path + 1, 'p', MARK_PATH_MAX - 1);
	r.entries[0].path[MARK_PATH_MAX] = '\0';
	CHECK(mark_record_encode(&r, buf) == MARK_OK);
	CHECK(mark_record_decode(buf, &back) == MARK_OK && records_equal(&r, &back));
	CHECK(mark_name_valid("after-fsync.1") && !mark_name_valid("") &&
	      !mark_name_valid("two words") && !mark_name_valid("tab\there"));
}

static void test_mark_encode_rejects(void)
{
	static struct mark_record r;
	static uint8_t buf[MARK_RECORD_SIZE];

	make_record(&r, 0, 0);
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);		/* seq 0 */
	make_record(&r, 1, 0);
	r.name[0] = '\0';
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);
	make_record(&r, 1, 0);
	memset(r.name, 'x', sizeof(r.name));				/* no NUL */
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);
	make_record(&r, 1, 0);
	strcpy(r.name, "a b");
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);
	make_record(&r, 1, 1);
	r.kind = MARK_PLAIN;						/* plain with entries */
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);
	make_record(&r, 1, 0);
	r.kind = MARK_DURABLE;						/* durable without */
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);
	make_record(&r, 1, MARK_MAX_ENTRIES);
	r.nentries = MARK_MAX_ENTRIES + 1;
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);
	make_record(&r, 1, 2);
	strcpy(r.entries[1].path, "relative");
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);
	make_record(&r, 1, 2);
	memset(r.entries[1].path, '/', sizeof(r.entries[1].path));	/* no NUL */
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);
	make_record(&r, 1, 1);
	r.kind = (enum mark_kind)3;
	CHECK(mark_record_encode(&r, buf) == MARK_BAD_FIELD);
}

/* Change a field of a good record and fix its crc: decode must still
 * reject what encode would never have written. */
static enum mark_status decode_altered(const struct mark_record *r, size_t at, const void *bytes,
				       size_t len)
{
	static uint8_t buf[MARK_RECORD_SIZE];
	static struct mark_record back;

	mark_record_encode(r, buf);
	memcpy(buf + at, bytes, len);
	ref_put_le32(buf + 12, ref_crc_without(buf, sizeof(buf), 12));
	return mark_record_decode(buf, &back);
}

static void test_mark_decode_rejects(void)
{
	static struct mark_record r, back;
	static uint8_t buf[MARK_RECORD_SIZE], good[MARK_RECORD_SIZE];
	uint8_t le[8];
	int flips_ok = 1;

	make_record(&r, 300, 3);
	mark_record_encode(&r, good);
	for (unsigned bit = 0; bit < MARK_RECORD_SIZE * 8; bit += 3) {
		enum mark_status st;

		memcpy(buf, good, sizeof(buf));
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		st = mark_record_decode(buf, &back);
		flips_ok &= bit < 64 ? st == MARK_NOT_A_RECORD : st == MARK_BAD_CRC;
	}
	CHECK(flips_ok);
	memset(buf, 0, sizeof(buf));
	CHECK(mark_record_decode(buf, &back) == MARK_NOT_A_RECORD);
	poison_fill(buf, 4096, MARK_RECORD_SIZE / SECTOR_SIZE);
	CHECK(mark_record_decode(buf, &back) == MARK_NOT_A_RECORD);

	CHECK(decode_altered(&r, 0, "E4DAMARK", 8) == MARK_OK);	/* the helper itself */
	ref_put_le32(le, 2);
	CHECK(decode_altered(&r, 8, le, 4) == MARK_BAD_VERSION);
	ref_put_le64(le, 0);
	CHECK(decode_altered(&r, 16, le, 8) == MARK_BAD_FIELD);	/* seq 0 */
	ref_put_le32(le, 7);
	CHECK(decode_altered(&r, 24, le, 4) == MARK_BAD_FIELD);	/* kind */
	ref_put_le32(le, 16);
	CHECK(decode_altered(&r, 28, le, 4) == MARK_BAD_FIELD);	/* nentries */
	ref_put_le32(le, 0);
	CHECK(decode_altered(&r, 28, le, 4) == MARK_BAD_FIELD);	/* durable, none */
	CHECK(decode_altered(&r, 40 + 20, "x", 1) == MARK_BAD_FIELD);	/* after the NUL */
	CHECK(decode_altered(&r, 40, " ", 1) == MARK_BAD_FIELD);	/* space in name */
	CHECK(decode_altered(&r, 40, "\0", 1) == MARK_BAD_FIELD);	/* empty name */
	CHECK(decode_altered(&r, 110, "r", 1) == MARK_BAD_FIELD);	/* reserved */
	CHECK(decode_altered(&r, 128 + 256 + 24, "r", 1) == MARK_BAD_FIELD);
	CHECK(decode_altered(&r, 128 + 256 + 32, "x", 1) == MARK_BAD_FIELD); /* path not / */
	CHECK(decode_altered(&r, 128 + 256 + 32 + 200, "x", 1) == MARK_BAD_FIELD);
	CHECK(decode_altered(&r, 128 + 3 * 256, "u", 1) == MARK_BAD_FIELD); /* unused entry */
	CHECK(decode_altered(&r, 4095, "t", 1) == MARK_BAD_FIELD);		/* tail */
	CHECK(strcmp(mark_status_text(MARK_BAD_CRC), "bad crc") == 0);
}

struct visits {
	int n;
	uint32_t slot[8];
	uint64_t seq[8];
	int stop_after;
};

static int visit(void *ctx, uint32_t slot, const struct mark_record *r)
{
	struct visits *v = ctx;

	if (v->stop_after && v->n == v->stop_after)
		return -5;
	if (v->n < 8) {
		v->slot[v->n] = slot;
		v->seq[v->n] = r->seq;
	}
	v->n++;
	return 0;
}

static void test_mark_area(void)
{
	static uint8_t write[MARK_AREA_SIZE + 8192];
	static struct mark_record r;
	struct mark_area a;
	struct visits v;
	uint64_t dev = 64ULL << 20;

	CHECK(mark_area_locate(MARK_MIN_DEVICE - 1, &a) == -1);
	CHECK(mark_area_locate(MARK_MIN_DEVICE, &a) == 0 && a.start == MARK_AREA_SIZE &&
	      a.end == MARK_MIN_DEVICE);
	CHECK(mark_area_locate(dev + 100, &a) == 0 && a.end == dev && a.start == dev - MARK_AREA_SIZE);
	CHECK(mark_slot_offset(&a, 255) == dev - 4096 && mark_slot_of(257) == 1);
	CHECK(mark_area_overlaps(&a, a.start - 512, 512) == 0);
	CHECK(mark_area_overlaps(&a, a.start - 512, 1024) == 1);
	CHECK(mark_area_overlaps(&a, a.end - 1, 1) == 1 && mark_area_overlaps(&a, a.end, 4096) == 0);
	CHECK(mark_area_overlaps(&a, a.start, 0) == 0);

	/* A write from 8 KiB before the area to its end: slots 3 and 5 hold
	 * records, slot 9 one whose seq belongs elsewhere, slot 7 poison. */
	poison_fill(write, (a.start - 8192) / SECTOR_SIZE, sizeof(write) / SECTOR_SIZE);
	make_record(&r, 3, 0);
	mark_record_encode(&r, write + 8192 + 3 * 4096);
	make_record(&r, 256 + 5, 2);
	mark_record_encode(&r, write + 8192 + 5 * 4096);
	make_record(&r, 10, 0);
	mark_record_encode(&r, write + 8192 + 9 * 4096);
	memset(&v, 0, sizeof(v));
	CHECK(mark_scan_write(&a, a.start - 8192, write, sizeof(write), visit, &v) == 2);
	CHECK(v.n == 2 && v.slot[0] == 3 && v.seq[0] == 3 && v.slot[1] == 5 && v.seq[1] == 261);
	/* One slot exactly, a partial slot, and a write outside the area. */
	memset(&v, 0, sizeof(v));
	CHECK(mark_scan_write(&a, a.start + 5 * 4096, write + 8192 + 5 * 4096, 4096, visit, &v) == 1);
	CHECK(v.slot[0] == 5);
	CHECK(mark_scan_write(&a, a.start + 5 * 4096, write + 8192 + 5 * 4096, 2048, visit, &v) == 0);
	memset(&v, 0, sizeof(v));	/* slots 4 and 6 partly, slot 5 whole */
	CHECK(mark_scan_write(&a, a.start + 4 * 4096 + 512, write + 8192 + 4 * 4096 + 512, 8192,
			      visit, &v) == 1);
	CHECK(v.slot[0] == 5);
	CHECK(mark_scan_write(&a, 0, write + 8192 + 3 * 4096, 4096, visit, &v) == 0);
	/* A record written at the right slot of the wrong area is not a mark. */
	CHECK(mark_scan_write(&a, a.start - 4096 * 253, write + 8192 + 3 * 4096, 4096, visit, &v) == 0);
	/* visit can stop the scan. */
	memset(&v, 0, sizeof(v));
	v.stop_after = 1;
	CHECK(mark_scan_write(&a, a.start - 8192, write, sizeof(write), visit, &v) == -5);
}

int main(void)
{
	test_crc();
	test_poison();
	test_stamp_round_trip();
	test_stamp_verdicts();
	test_stamp_bit_flips();
	test_scan_block();
	test_mark_round_trip();
	test_mark_encode_rejects();
	test_mark_decode_rejects();
	test_mark_area();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
