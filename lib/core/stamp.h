/* stamp.h: the poison and stamp sector formats of ext4da(7) (doc/design.md §2), and the
 * classifier that tells, for one 512-byte sector of a file, whether it holds
 * what that file wrote (ZERO, STAMP_OK), something stale (POISON,
 * FOREIGN_STAMP), a damaged stamp (CORRUPT_STAMP) or data that is not ours
 * (OTHER).  ext4da-stamp writes stamps, ext4da-record writes poison, and
 * ext4da-check's STALE audit classifies.
 *
 * Both formats are little-endian and sector-sized; all offsets in bytes:
 *
 *   poison sector                      stamp sector
 *   0   8  "E4DAPOIS"                  0   8  "E4DASTMP"
 *   8   8  le64 sector number          8   8  le64 inode number
 *   16 496 62 le64 fill words:         16  4  le32 i_generation
 *          word k (byte 8k, k=2..63)   20  8  le64 byte offset in the file
 *          = mix64(((n << 6) | k)      28  8  le64 write generation
 *                  ^ POISON_SALT)      36  4  le32 crc32c, see below
 *                                      40 472 59 le64 fill words:
 *                                             word k (byte 8k, k=5..63)
 *                                             = mix64(h + k * STAMP_STEP)
 *
 * mix64 is the splitmix64 finaliser; the salts are the magics read as le64;
 * h = mix64(mix64(mix64(mix64(STAMP_SALT ^ ino) ^ gen) ^ offset) ^ wgen).
 * The stamp crc is the standard CRC-32C (iSCSI: seed ~0, result inverted,
 * check value 0xe3069283 for "123456789") of all 512 bytes with bytes
 * 36..39 taken as zero.  Poison has no crc: the whole sector is a function
 * of its sector number, and is checked word by word. */
#ifndef EXT4DA_STAMP_H
#define EXT4DA_STAMP_H

#include <stddef.h>
#include <stdint.h>

#define SECTOR_SIZE 512u
#define POISON_MAGIC "E4DAPOIS"
#define STAMP_MAGIC "E4DASTMP"
#define FORMAT_MAGIC_LEN 8

/* Byte offsets inside a stamp sector. */
enum {
	STAMP_OFF_MAGIC = 0,
	STAMP_OFF_INO = 8,
	STAMP_OFF_GEN = 16,
	STAMP_OFF_FILE_OFFSET = 20,
	STAMP_OFF_WRITE_GEN = 28,
	STAMP_OFF_CRC = 36,
	STAMP_OFF_FILL = 40,
};

/* Byte offsets inside a poison sector. */
enum {
	POISON_OFF_MAGIC = 0,
	POISON_OFF_SECTOR = 8,
	POISON_OFF_FILL = 16,
};

/* The standard CRC-32C of buf (seed ~0, result inverted), built on the
 * raw crc32c() of lib/core/crc32c.h.  Mark records and their file-content crcs
 * use it too. */
uint32_t crc32c_std(const void *buf, size_t len);

/* The splitmix64 finaliser: the fill generator of both formats. */
uint64_t mix64(uint64_t x);

/* --- poison ----------------------------------------------------------------- */

/* Fill nsectors sectors of buf with the poison of first_sector onwards. */
void poison_fill(void *buf, uint64_t first_sector, size_t nsectors);

/* 1 if sector is intact poison (magic, and every fill word agrees with its
 * sector number, stored in *sector_no); 0 otherwise.  sector_no may be NULL. */
int poison_sector_check(const void *sector, uint64_t *sector_no);

/* --- stamps ----------------------------------------------------------------- */

struct stamp {
	uint64_t ino;
	uint32_t gen;		/* i_generation */
	uint64_t file_offset;	/* byte offset of this sector in the file */
	uint64_t write_gen;	/* which write put it there */
	uint32_t crc;		/* as stored */
};

/* Stamp len bytes (a multiple of SECTOR_SIZE) for the file range starting
 * at file_offset (a multiple of SECTOR_SIZE). */
void stamp_fill(void *buf, size_t len, uint64_t ino, uint32_t gen, uint64_t file_offset,
		uint64_t write_gen);

/* Stamp one sector. */
void stamp_sector(void *sector, const struct stamp *s);

enum stamp_status {
	STAMP_NONE,	/* no stamp magic */
	STAMP_VALID,	/* magic and crc good */
	STAMP_BAD_CRC,	/* magic, but the crc does not match */
};

/* Decode the header of one sector into *s (filled for VALID and BAD_CRC;
 * s->crc is the stored crc). */
enum stamp_status stamp_parse(const void *sector, struct stamp *s);

/* The crc a stamp sector should carry, whatever its bytes 36..39 hold. */
uint32_t stamp_crc(const void *sector);

/* --- classification --------------------------------------------------------- */

enum sector_verdict {
	SECTOR_ZERO,		/* all zeros: good (a hole, or zeroed tail) */
	SECTOR_STAMP_OK,	/* a stamp of this inode, generation and offset: good */
	SECTOR_POISON,		/* never written: stale */
	SECTOR_FOREIGN_STAMP,	/* another inode's, generation's or offset's stamp: stale */
	SECTOR_CORRUPT_STAMP,	/* our magic, damaged content (bad crc, or torn poison) */
	SECTOR_OTHER,		/* not ours (metadata, a file not written by ext4da-stamp) */
	SECTOR_NVERDICTS
};

/* Short lower-case names: "zero", "stamp-ok", "poison", "foreign-stamp",
 * "corrupt-stamp", "other". */
const char *sector_verdict_name(enum sector_verdict v);

/* POISON and FOREIGN_STAMP: the file holds data it never wrote. */
static inline int sector_verdict_is_stale(enum sector_verdict v)
{
	return v == SECTOR_POISON || v == SECTOR_FOREIGN_STAMP;
}

/* Good for a stamped file: ZERO or STAMP_OK. */
static inline int sector_verdict_is_good(enum sector_verdict v)
{
	return v == SECTOR_ZERO || v == SECTOR_STAMP_OK;
}

struct sector_detail {
	uint64_t sector_no;	/* POISON, and CORRUPT_STAMP with poison set */
	struct stamp stamp;	/* STAMP_OK, FOREIGN_STAMP, CORRUPT_STAMP (not poison) */
	uint32_t crc_computed;	/* CORRUPT_STAMP of a stamp: the crc the bytes give */
	int poison;		/* CORRUPT_STAMP: 1 if it is torn poison, not a stamp */
};

/* Classify one sector that sits at file_offset in the file (ino, gen).
 * d may be NULL; otherwise it is filled as the comments above say. */
enum sector_verdict sector_classify(const void *sector, uint64_t ino, uint32_t gen,
				    uint64_t file_offset, struct sector_detail *d);

/* The result of scanning one file block. */
struct block_scan {
	uint32_t count[SECTOR_NVERDICTS];	/* sectors per verdict */
	size_t first_bad;			/* index of the first POISON, FOREIGN_STAMP
						 * or CORRUPT_STAMP sector, or SIZE_MAX */
	enum sector_verdict first_bad_verdict;
	struct sector_detail first_bad_detail;
};

/* Classify every sector of a block (block_size a multiple of SECTOR_SIZE)
 * that sits at file_offset in the file (ino, gen).  Returns the number of
 * POISON, FOREIGN_STAMP and CORRUPT_STAMP sectors.  This is the --data hot
 * path: an all-zero block costs one memcmp, a stamped sector one crc. */
unsigned sector_scan_block(const void *block, size_t block_size, uint64_t ino, uint32_t gen,
			   uint64_t file_offset, struct block_scan *out);

#endif
