/* jbd2.h: the jbd2 on-disk journal format, written from the documented
 * layout (Documentation/filesystems/ext4/journal.rst).  All journal fields are
 * big-endian; the accessors below read them from raw block buffers so no
 * struct packing or host byte order ever matters. */
#ifndef EXT4DA_JBD2_H
#define EXT4DA_JBD2_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JBD2_MAGIC 0xc03b3998U

enum jbd2_block_type {
	JBD2_DESCRIPTOR = 1,
	JBD2_COMMIT = 2,
	JBD2_SUPERBLOCK_V1 = 3,
	JBD2_SUPERBLOCK_V2 = 4,
	JBD2_REVOKE = 5,
};

/* Common 12-byte header of every journal metadata block. */
#define JBD2_HDR_MAGIC 0x0
#define JBD2_HDR_TYPE 0x4
#define JBD2_HDR_SEQUENCE 0x8
#define JBD2_HDR_SIZE 12

/* Journal superblock field offsets. */
#define JSB_BLOCKSIZE 0x0c
#define JSB_MAXLEN 0x10
#define JSB_FIRST 0x14
#define JSB_SEQUENCE 0x18
#define JSB_START 0x1c
#define JSB_ERRNO 0x20
#define JSB_FEATURE_COMPAT 0x24
#define JSB_FEATURE_INCOMPAT 0x28
#define JSB_FEATURE_RO_COMPAT 0x2c
#define JSB_UUID 0x30
#define JSB_NR_USERS 0x40
#define JSB_CHECKSUM_TYPE 0x50
#define JSB_NUM_FC_BLKS 0x54
#define JSB_CHECKSUM 0xfc
#define JSB_USERS 0x100
#define JSB_SIZE 1024

#define JBD2_COMPAT_CHECKSUM 0x1
#define JBD2_INCOMPAT_REVOKE 0x1
#define JBD2_INCOMPAT_64BIT 0x2
#define JBD2_INCOMPAT_ASYNC_COMMIT 0x4
#define JBD2_INCOMPAT_CSUM_V2 0x8
#define JBD2_INCOMPAT_CSUM_V3 0x10
#define JBD2_INCOMPAT_FAST_COMMIT 0x20
#define JBD2_INCOMPAT_KNOWN 0x3f

#define JBD2_CHECKSUM_CRC32C 4
#define JBD2_CRC32_CHKSUM 1
#define JBD2_CRC32_CHKSUM_SIZE 4
#define JBD2_MIN_JOURNAL_BLOCKS 1024
#define JBD2_DEFAULT_FC_BLOCKS 256

/* Descriptor tags. */
#define JBD2_FLAG_ESCAPE 0x1
#define JBD2_FLAG_SAME_UUID 0x2
#define JBD2_FLAG_DELETED 0x4
#define JBD2_FLAG_LAST_TAG 0x8
#define JBD2_TAIL_SIZE 4 /* csum v2/v3 checksum at the end of descriptor/revoke blocks */

/* Commit block. */
#define JCOMMIT_CHKSUM_TYPE 0x0c
#define JCOMMIT_CHKSUM_SIZE 0x0d
#define JCOMMIT_CHKSUM 0x10
#define JCOMMIT_SEC 0x30
#define JCOMMIT_NSEC 0x38

/* Revoke block. */
#define JREVOKE_COUNT 0x0c
#define JREVOKE_HDR_SIZE 16

/* Fast-commit area: little-endian TLVs. */
#define EXT4_FC_TAG_HEAD 9
#define EXT4_FC_TAG_TAIL 8

static inline uint32_t get_be32(const void *buf, size_t off)
{
	const uint8_t *p = (const uint8_t *)buf + off;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t get_be16(const void *buf, size_t off)
{
	const uint8_t *p = (const uint8_t *)buf + off;
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint64_t get_be64(const void *buf, size_t off)
{
	return (uint64_t)get_be32(buf, off) << 32 | get_be32(buf, off + 4);
}

static inline void put_be32(void *buf, size_t off, uint32_t v)
{
	uint8_t *p = (uint8_t *)buf + off;
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* tid comparison with wraparound, as the log's 32-bit sequence numbers do. */
static inline int tid_gt(uint32_t x, uint32_t y)
{
	return (int32_t)(x - y) > 0;
}

static inline int tid_geq(uint32_t x, uint32_t y)
{
	return (int32_t)(x - y) >= 0;
}

#endif
