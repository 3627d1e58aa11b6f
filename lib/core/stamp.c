/* stamp.c: poison and stamp sectors, and their classification (stamp.h has
 * the byte layout).  The classifier sits on ext4da-check's --data path, so
 * the common cases (an all-zero block, a good stamp) avoid per-byte work. */
#include <string.h>

#include "lib/core/crc32c.h"
#include "lib/core/endian.h"
#include "lib/core/stamp.h"

/* The magics read as le64 seed the fills, so that a poison word can never
 * be mistaken for a stamp word of the same index. */
#define POISON_SALT 0x53494f5041443445ULL	/* "E4DAPOIS" */
#define STAMP_SALT 0x504d545341443445ULL	/* "E4DASTMP" */
#define STAMP_STEP 0x9e3779b97f4a7c15ULL	/* golden ratio: spreads the words */

#define WORDS_PER_SECTOR (SECTOR_SIZE / 8)

/* Large enough for the biggest ext4 block (64 KiB): the zero test of a
 * whole block is then one memcmp. */
static const uint8_t zero_block[65536];

uint32_t crc32c_std(const void *buf, size_t len)
{
	return crc32c(~0U, buf, len) ^ ~0U;
}

uint64_t mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len > sizeof(zero_block)) {
		if (memcmp(b, zero_block, sizeof(zero_block)))
			return 0;
		b += sizeof(zero_block);
		len -= sizeof(zero_block);
	}
	return memcmp(b, zero_block, len) == 0;
}

/* --- poison ----------------------------------------------------------------- */

static uint64_t poison_word(uint64_t sector_no, unsigned k)
{
	return mix64(((sector_no << 6) | k) ^ POISON_SALT);
}

void poison_fill(void *buf, uint64_t first_sector, size_t nsectors)
{
	uint8_t *p = buf;

	for (size_t s = 0; s < nsectors; s++, p += SECTOR_SIZE) {
		uint64_t n = first_sector + s;

		memcpy(p + POISON_OFF_MAGIC, POISON_MAGIC, FORMAT_MAGIC_LEN);
		le64_put(p + POISON_OFF_SECTOR, n);
		for (unsigned k = POISON_OFF_FILL / 8; k < WORDS_PER_SECTOR; k++)
			le64_put(p + 8 * k, poison_word(n, k));
	}
}

static int has_magic(const uint8_t *p, const char *magic)
{
	return memcmp(p, magic, FORMAT_MAGIC_LEN) == 0;
}

int poison_sector_check(const void *sector, uint64_t *sector_no)
{
	const uint8_t *p = sector;
	uint64_t n;

	if (!has_magic(p, POISON_MAGIC))
		return 0;
	n = le64_get(p + POISON_OFF_SECTOR);
	for (unsigned k = POISON_OFF_FILL / 8; k < WORDS_PER_SECTOR; k++)
		if (le64_get(p + 8 * k) != poison_word(n, k))
			return 0;
	if (sector_no)
		*sector_no = n;
	return 1;
}

/* --- stamps ----------------------------------------------------------------- */

static uint64_t stamp_seed(const struct stamp *s)
{
	uint64_t h = mix64(STAMP_SALT ^ s->ino);

	h = mix64(h ^ s->gen);
	h = mix64(h ^ s->file_offset);
	return mix64(h ^ s->write_gen);
}

uint32_t stamp_crc(const void *sector)
{
	static const uint8_t no_crc[4];
	const uint8_t *p = sector;
	uint32_t c = crc32c(~0U, p, STAMP_OFF_CRC);

	c = crc32c(c, no_crc, sizeof(no_crc));
	c = crc32c(c, p + STAMP_OFF_FILL, SECTOR_SIZE - STAMP_OFF_FILL);
	return c ^ ~0U;
}

void stamp_sector(void *sector, const struct stamp *s)
{
	uint8_t *p = sector;
	uint64_t h = stamp_seed(s);

	memcpy(p + STAMP_OFF_MAGIC, STAMP_MAGIC, FORMAT_MAGIC_LEN);
	le64_put(p + STAMP_OFF_INO, s->ino);
	le32_put(p + STAMP_OFF_GEN, s->gen);
	le64_put(p + STAMP_OFF_FILE_OFFSET, s->file_offset);
	le64_put(p + STAMP_OFF_WRITE_GEN, s->write_gen);
	for (unsigned k = STAMP_OFF_FILL / 8; k < WORDS_PER_SECTOR; k++)
		le64_put(p + 8 * k, mix64(h + k * STAMP_STEP));
	le32_put(p + STAMP_OFF_CRC, stamp_crc(p));
}

void stamp_fill(void *buf, size_t len, uint64_t ino, uint32_t gen, uint64_t file_offset,
		uint64_t write_gen)
{
	struct stamp s = { .ino = ino, .gen = gen, .write_gen = write_gen };
	uint8_t *p = buf;

	for (size_t done = 0; done + SECTOR_SIZE <= len; done += SECTOR_SIZE) {
		s.file_offset = file_offset + done;
		stamp_sector(p + done, &s);
	}
}

static void stamp_header(const uint8_t *p, struct stamp *s)
{
	s->ino = le64_get(p + STAMP_OFF_INO);
	s->gen = le32_get(p + STAMP_OFF_GEN);
	s->file_offset = le64_get(p + STAMP_OFF_FILE_OFFSET);
	s->write_gen = le64_get(p + STAMP_OFF_WRITE_GEN);
	s->crc = le32_get(p + STAMP_OFF_CRC);
}

enum stamp_status stamp_parse(const void *sector, struct stamp *s)
{
	const uint8_t *p = sector;

	if (!has_magic(p, STAMP_MAGIC))
		return STAMP_NONE;
	stamp_header(p, s);
	return stamp_crc(p) == s->crc ? STAMP_VALID : STAMP_BAD_CRC;
}

/* --- classification --------------------------------------------------------- */

const char *sector_verdict_name(enum sector_verdict v)
{
	static const char *const names[SECTOR_NVERDICTS] = {
		[SECTOR_ZERO] = "zero",
		[SECTOR_STAMP_OK] = "stamp-ok",
		[SECTOR_POISON] = "poison",
		[SECTOR_FOREIGN_STAMP] = "foreign-stamp",
		[SECTOR_CORRUPT_STAMP] = "corrupt-stamp",
		[SECTOR_OTHER] = "other",
	};

	return (unsigned)v < SECTOR_NVERDICTS ? names[v] : "?";
}

static enum sector_verdict classify_stamp(const uint8_t *p, uint64_t ino, uint32_t gen,
					  uint64_t file_offset, struct sector_detail *d)
{
	uint32_t crc = stamp_crc(p);

	stamp_header(p, &d->stamp);
	if (crc != d->stamp.crc) {
		d->crc_computed = crc;
		return SECTOR_CORRUPT_STAMP;
	}
	if (d->stamp.ino == ino && d->stamp.gen == gen && d->stamp.file_offset == file_offset)
		return SECTOR_STAMP_OK;
	return SECTOR_FOREIGN_STAMP;
}

/* Torn poison (magic, but a fill word that disagrees) is reported as
 * corrupt rather than as poison: something wrote part of it, or the
 * poisoner is broken, and either deserves a look. */
static enum sector_verdict classify_poison(const uint8_t *p, struct sector_detail *d)
{
	if (poison_sector_check(p, &d->sector_no))
		return SECTOR_POISON;
	d->sector_no = le64_get(p + POISON_OFF_SECTOR);
	d->poison = 1;
	return SECTOR_CORRUPT_STAMP;
}

enum sector_verdict sector_classify(const void *sector, uint64_t ino, uint32_t gen,
				    uint64_t file_offset, struct sector_detail *d)
{
	const uint8_t *p = sector;
	struct sector_detail scratch;

	if (!d)
		d = &scratch;
	memset(d, 0, sizeof(*d));
	/* The magics first: a good stamp is the common non-zero case. */
	if (has_magic(p, STAMP_MAGIC))
		return classify_stamp(p, ino, gen, file_offset, d);
	if (has_magic(p, POISON_MAGIC))
		return classify_poison(p, d);
	return is_zero(p, SECTOR_SIZE) ? SECTOR_ZERO : SECTOR_OTHER;
}

static int verdict_is_bad(enum sector_verdict v)
{
	return sector_verdict_is_stale(v) || v == SECTOR_CORRUPT_STAMP;
}

unsigned sector_scan_block(const void *block, size_t block_size, uint64_t ino, uint32_t gen,
			   uint64_t file_offset, struct block_scan *out)
{
	const uint8_t *p = block;
	size_t n = block_size / SECTOR_SIZE;
	struct sector_detail d;
	unsigned bad = 0;

	memset(out, 0, sizeof(*out));
	out->first_bad = SIZE_MAX;
	if (is_zero(p, n * SECTOR_SIZE)) {
		out->count[SECTOR_ZERO] = (uint32_t)n;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		enum sector_verdict v = sector_classify(p + i * SECTOR_SIZE, ino, gen,
							file_offset + i * SECTOR_SIZE, &d);

		out->count[v]++;
		if (!verdict_is_bad(v))
			continue;
		if (bad++ == 0) {
			out->first_bad = i;
			out->first_bad_verdict = v;
			out->first_bad_detail = d;
		}
	}
	return bad;
}
