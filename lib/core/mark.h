/* mark.h: durability marks (doc/design.md §2, ext4da(7)).  A guest cannot send dm-style
 * marks through qemu, so ext4da-mark writes a 4096-byte record into the
 * mark area at the end of the device, and ext4da-crash recognises those
 * writes in the block-write log.
 *
 * Mark area: let end = the device size rounded down to 4096 bytes; the
 * area is [end - 1 MiB, end): 256 slots of 4096 bytes.  (For the usual
 * 4096-aligned device it is exactly the last 1 MiB.)  The device must be at
 * least 2 MiB, and the filesystem must end at or before the area.  Record
 * seq goes to slot seq % 256, in one aligned 4096-byte O_DIRECT|O_DSYNC
 * write.
 *
 * Record (little-endian, offsets in bytes):
 *   0    8  "E4DAMARK"
 *   8    4  le32 version, 1
 *   12   4  le32 crc: standard CRC-32C (as crc32c_std() in stamp.h) of all
 *           4096 bytes with bytes 12..15 taken as zero
 *   16   8  le64 sequence number (>= 1)
 *   24   4  le32 kind: 1 plain mark, 2 durability mark
 *   28   4  le32 number of entries: 0 for kind 1, 1..15 for kind 2
 *   32   8  le64 wall-clock time of the mark, ns since the epoch (information)
 *   40  64  name: 1..63 printable ASCII bytes, no space, NUL-padded
 *   104 24  reserved, zero
 *   128 256 x 15 entries (unused ones zero), each:
 *           0    8  le64 inode number
 *           8    4  le32 i_generation
 *           12   4  le32 standard CRC-32C of the file's bytes [0, size)
 *           16   8  le64 size (i_size after fsync)
 *           24   8  reserved, zero
 *           32 224  path inside the filesystem ("/dir/file", relative to
 *                   its mount point), '/' and 0..222 more non-NUL bytes,
 *                   NUL-padded
 *   3968 128 reserved, zero
 *
 * A durability mark says: every listed file was fsynced (and its directory
 * too) before this record was written, and then held exactly size bytes
 * with that crc.  decode() accepts only records that are exactly what
 * encode() makes: reserved bytes zero, padding NUL, counts in range.
 *
 * Version 2 (the expected-state oracle of generated workloads) adds kind
 * 3, a claims mark, whose entries are typed: entry bytes 24..27 hold a
 * le32 type (28..31 stay zero), where version 1 has zeros, which is type
 * 0.  Types:
 *   0 FILE        the file holds at least size bytes, with that crc (v1)
 *   1 FILE_EXACT  the same, and its size is exactly size
 *   2 NAME        path names inode ino (i_generation gen); crc, size zero
 *   3 NO_NAME     path names nothing; ino, gen, crc and size zero
 *   4 RELEASE     earlier claims on inode ino (0: none) and on the name
 *                 path end here; gen, crc and size zero
 * Kinds 1 and 2 stay version 1 with untyped entries, byte for byte, so
 * that old readers still read them; kind 3 is version 2 and holds at
 * least one entry of type 1..4 (a record of FILE entries only is kind 2).
 * Version 2 with another kind is an unknown version. */
#ifndef EXT4DA_MARK_H
#define EXT4DA_MARK_H

#include <stddef.h>
#include <stdint.h>

#define MARK_MAGIC "E4DAMARK"
#define MARK_VERSION 1u		/* kinds 1 and 2, untyped entries */
#define MARK_VERSION_CLAIMS 2u	/* adds kind 3 and entry types */
#define MARK_AREA_SIZE (1024u * 1024u)
#define MARK_RECORD_SIZE 4096u
#define MARK_SLOTS (MARK_AREA_SIZE / MARK_RECORD_SIZE)
#define MARK_MIN_DEVICE (2u * MARK_AREA_SIZE)
#define MARK_MAX_ENTRIES 15u
#define MARK_NAME_FIELD 64u
#define MARK_NAME_MAX (MARK_NAME_FIELD - 1)
#define MARK_PATH_FIELD 224u
#define MARK_PATH_MAX (MARK_PATH_FIELD - 1)

/* Byte offsets inside a record. */
enum {
	MARK_OFF_MAGIC = 0,
	MARK_OFF_VERSION = 8,
	MARK_OFF_CRC = 12,
	MARK_OFF_SEQ = 16,
	MARK_OFF_KIND = 24,
	MARK_OFF_NENTRIES = 28,
	MARK_OFF_TIME = 32,
	MARK_OFF_NAME = 40,
	MARK_OFF_RESERVED = 104,
	MARK_OFF_ENTRIES = 128,
	MARK_ENTRY_SIZE = 256,
	MARK_OFF_TAIL = MARK_OFF_ENTRIES + MARK_ENTRY_SIZE * MARK_MAX_ENTRIES, /* 3968 */
};

/* Byte offsets inside an entry. */
enum {
	MARK_ENTRY_OFF_INO = 0,
	MARK_ENTRY_OFF_GEN = 8,
	MARK_ENTRY_OFF_CRC = 12,
	MARK_ENTRY_OFF_SIZE = 16,
	MARK_ENTRY_OFF_RESERVED = 24,
	MARK_ENTRY_OFF_TYPE = 24,	/* version 2 */
	MARK_ENTRY_OFF_RESERVED2 = 28,
	MARK_ENTRY_OFF_PATH = 32,
};

enum mark_kind {
	MARK_PLAIN = 1,
	MARK_DURABLE = 2,
	MARK_CLAIMS = 3,	/* version 2 */
};

enum mark_entry_type {
	ME_FILE = 0,
	ME_FILE_EXACT = 1,
	ME_NAME = 2,
	ME_NO_NAME = 3,
	ME_RELEASE = 4,
	ME_NTYPES
};

/* "durable", "synced", "name", "absent", "release": as --dump prints them. */
const char *mark_entry_type_name(enum mark_entry_type t);

struct mark_entry {
	enum mark_entry_type type;
	uint64_t ino;
	uint32_t gen;		/* i_generation */
	uint32_t crc;		/* crc32c_std of the bytes [0, size) */
	uint64_t size;
	char path[MARK_PATH_FIELD];
};

struct mark_record {
	uint32_t version;	/* decode() fills it; encode() chooses it */
	uint64_t seq;
	enum mark_kind kind;
	uint64_t time_ns;
	char name[MARK_NAME_FIELD];
	uint32_t nentries;
	struct mark_entry entries[MARK_MAX_ENTRIES];
};

enum mark_status {
	MARK_OK,
	MARK_NOT_A_RECORD,	/* no magic: poison, zeros, anything else */
	MARK_BAD_CRC,
	MARK_BAD_VERSION,
	MARK_BAD_FIELD,		/* crc good but a field out of range */
};

const char *mark_status_text(enum mark_status s);

/* 1 if name can be a mark's name: 1..MARK_NAME_MAX bytes of printable
 * ASCII without spaces (names end up in console logs and reports). */
int mark_name_valid(const char *name);

/* Encode r into buf (MARK_RECORD_SIZE bytes).  Returns MARK_OK, or
 * MARK_BAD_FIELD if r cannot be encoded (empty or long name, bad kind or
 * count, empty or long path, seq 0). */
enum mark_status mark_record_encode(const struct mark_record *r, void *buf);

/* Decode and validate the record in buf (MARK_RECORD_SIZE bytes). */
enum mark_status mark_record_decode(const void *buf, struct mark_record *r);

/* Where the mark area of a device lies, in bytes. */
struct mark_area {
	uint64_t start, end;
};

/* Fill *a for a device of device_bytes; -1 if it is smaller than
 * MARK_MIN_DEVICE. */
int mark_area_locate(uint64_t device_bytes, struct mark_area *a);

static inline uint32_t mark_slot_of(uint64_t seq)
{
	return (uint32_t)(seq % MARK_SLOTS);
}

static inline uint64_t mark_slot_offset(const struct mark_area *a, uint32_t slot)
{
	return a->start + (uint64_t)slot * MARK_RECORD_SIZE;
}

/* Does the byte range [offset, offset + len) touch the mark area? */
int mark_area_overlaps(const struct mark_area *a, uint64_t offset, uint64_t len);

/* For ext4da-crash: call visit for each valid record that a logged write of
 * len bytes at byte offset carries, that is each whole slot the write covers
 * holding a record whose seq belongs to that slot.  visit returns 0 to go
 * on; a negative return stops the scan and is returned.  Otherwise the
 * result is the number of records visited. */
typedef int (*mark_visit_fn)(void *ctx, uint32_t slot, const struct mark_record *r);
int mark_scan_write(const struct mark_area *a, uint64_t offset, const void *data, size_t len,
		    mark_visit_fn visit, void *ctx);

#endif
