/* writelog.h: reading dm-log-writes logs, as written by the kernel's
 * log-writes target, QEMU's blklogwrites driver and xfstests: the super,
 * then one entry at a time (header, mark text, where the payload lies),
 * with validation, stale-super detection and an in-memory index.
 *
 * Layout (all little-endian): sector 0 holds the super (magic, version,
 * nr_entries, sectorsize; 28 bytes of fields, padded to 32 by the kernel);
 * each entry is one header sector (sector, nr_sectors, flags, data_len;
 * a mark's text follows at byte 32) and then nr_sectors sectors of payload,
 * except for discards.  "Sector" always means a log sector of the super's
 * sectorsize, both in the log and for the target device. */
#ifndef EXT4DA_WRITELOG_H
#define EXT4DA_WRITELOG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/core/error.h"

#define WL_FLUSH 0x01u	  /* the request had a preflush */
#define WL_FUA 0x02u	  /* the request had FUA (the kernel only) */
#define WL_DISCARD 0x04u  /* discard: nr_sectors, no payload */
#define WL_MARK 0x08u	  /* user mark: text inline, no sectors */
#define WL_METADATA 0x10u /* the request was metadata (the kernel only) */
#define WL_KNOWN_FLAGS 0x1fu

#define WL_MAGIC 0x6a736677736872ULL
#define WL_VERSION 1
#define WL_HEADER_BYTES 32
#define WL_MIN_SECTOR 32u
#define WL_MAX_SECTOR (16u << 20)
/* The kernel target logs this mark when it is torn down, and rewrites the
 * super after it: a log ending so is complete, whatever follows it. */
#define WL_END_MARK "dm-log-writes-end"

struct writelog; /* an open log and a cursor on its entries */

struct wl_entry {
	uint64_t index;	      /* position in the log, from 0 */
	uint64_t sector;      /* first target sector */
	uint64_t nr_sectors;  /* target sectors written or discarded */
	uint64_t flags;	      /* WL_* bits */
	uint64_t data_len;    /* the header's data_len: the mark's length */
	uint64_t offset;      /* byte offset of the header sector in the log */
	uint64_t data_offset; /* byte offset of the payload in the log */
	uint64_t payload_len; /* payload bytes in the log (0: discard, mark) */
	const char *mark;     /* MARK entries: the text; NULL otherwise */
};

/* Every valid entry of a log, for random access by entry number. */
struct wl_index {
	struct wl_entry *entries; /* marks owned by the index */
	uint64_t nr;		  /* valid entries found */
	uint64_t nr_super;	  /* entries the super claims */
	uint64_t nr_extra;	  /* valid entries past nr_super (stale super) */
	uint32_t sector_size;
	char end_reason[256];	  /* why the log ends where it does */
};

/* Open PATH (a file or block device) and validate its super.  Bad input
 * fails with EXIT_OPERATIONAL and one line saying what is wrong. */
int writelog_open(const char *path, struct writelog **out, struct err *e);
void writelog_close(struct writelog *wl);

uint32_t writelog_sector_size(const struct writelog *wl);
uint64_t writelog_nr_entries_super(const struct writelog *wl);
uint64_t writelog_size(const struct writelog *wl); /* bytes in the log */

/* The next entry: 1 and *out filled, 0 at the end of the log, -1 on error.
 * Entries the super counts must be valid; past them the log goes on while
 * entries stay valid and ends quietly at the first one that is not.
 * out->mark stays valid until the next call. */
int writelog_next(struct writelog *wl, struct wl_entry *out, struct err *e);
/* After writelog_next() returned 0: why the log ends there. */
const char *writelog_end_reason(const struct writelog *wl);
/* Start again from entry 0. */
void writelog_rewind(struct writelog *wl);

/* Read LEN bytes of ENT's payload from byte OFF of it. */
int writelog_read_data(struct writelog *wl, const struct wl_entry *ent, uint64_t off,
		       void *buf, size_t len, struct err *e);

/* ENT's whole payload in a read-only mapping of the log (made at the
 * first call, shared by processes forked later), or NULL when the log
 * cannot be mapped; then use writelog_read_data(). */
const void *writelog_payload(struct writelog *wl, const struct wl_entry *ent);

/* One pass over the whole log (from entry 0) into OUT, to be freed with
 * wl_index_free().  On failure OUT is left empty. */
int writelog_scan(struct writelog *wl, struct wl_index *out, struct err *e);
void wl_index_free(struct wl_index *idx);

/* Fail, naming the first entry, if an entry writes or discards sectors
 * past the end of a device of DEVICE_BYTES bytes. */
int writelog_check_device(const struct wl_index *idx, uint64_t device_bytes, struct err *e);

/* "FLUSH|FUA" style names of FLAGS (unknown bits in hex), "" for none. */
const char *wl_flag_names(uint64_t flags, char *buf, size_t len);

#endif
