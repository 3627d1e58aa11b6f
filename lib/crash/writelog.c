/* writelog.c: see writelog.h.  Owns the on-disk decoding of dm-log-writes
 * logs, the rules for which entries are valid, and where a log ends. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/endian.h"
#include "lib/core/fdio.h"
#include "lib/crash/writelog.h"

/* The super's fields end at byte 28: QEMU packs it, the kernel pads it to
 * 32 with bytes it never clears, so nothing past 28 is looked at. */
#define SUPER_FIELD_BYTES 28

struct writelog {
	int fd;
	uint64_t size;	   /* bytes in the log file or device */
	uint32_t sector_size;
	uint64_t nr_super; /* entries the super claims */
	uint8_t *hdr;	   /* the current entry's header sector */
	char *mark;	   /* the current entry's mark text */
	uint64_t cur;	   /* number of the next entry */
	uint64_t pos;	   /* byte offset of its header */
	int ended;	   /* writelog_next() has returned 0 */
	int end_marked;	   /* entry nr_super - 1 is the kernel's end mark */
	char end_reason[256];
	const uint8_t *map; /* the whole log, read-only, once asked for */
	int map_tried;
};

static int all_zero(const uint8_t *p, size_t len)
{
	/* zero first, then each byte equal to the one before: one memcmp,
	 * which is many times faster than a loop over bytes */
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Read exactly LEN bytes at OFF, which the caller knows lie in the log. */
static int read_at(struct writelog *wl, void *buf, size_t len, uint64_t off, struct err *e)
{
	ssize_t n = read_full(wl->fd, buf, len, off);

	if (n < 0)
		return fail(e, EXIT_OPERATIONAL, "read at byte %llu: %s", (unsigned long long)off,
			    strerror(errno));
	if ((size_t)n < len)
		return fail(e, EXIT_OPERATIONAL, "the log ends at byte %llu, in the middle of a read",
			    (unsigned long long)(off + (uint64_t)n));
	return 0;
}

static int open_log_fd(const char *path, int *fd, uint64_t *size, struct err *e)
{
	struct stat st;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer; the type
	 * check below then refuses it. */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (fcntl(*fd, F_SETFL, 0) != 0 || fstat(*fd, &st) != 0)
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (fd_size_bytes(*fd, size) != 0)
			return fail(e, EXIT_OPERATIONAL, "device size: %s", strerror(errno));
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return fail(e, EXIT_OPERATIONAL, "is not a regular file or block device");
	*size = (uint64_t)st.st_size;
	return 0;
}

static int check_sector_size(uint32_t s, struct err *e)
{
	if (s == 0 || (s & (s - 1)) != 0)
		return fail(e, EXIT_OPERATIONAL, "log sector size %u is not a power of two", s);
	if (s < WL_MIN_SECTOR)
		return fail(e, EXIT_OPERATIONAL,
			    "log sector size %u is smaller than the %u-byte entry header", s,
			    WL_MIN_SECTOR);
	if (s > WL_MAX_SECTOR)
		return fail(e, EXIT_OPERATIONAL, "log sector size %u is above the 16 MiB maximum", s);
	return 0;
}

/* The claimed entries need a header sector each after the super. */
static int check_claimed_size(const struct writelog *wl, struct err *e)
{
	uint64_t s = wl->sector_size, sectors = wl->size / s;

	if (wl->size < s)
		return fail(e, EXIT_OPERATIONAL, "truncated: %llu bytes, less than one %u-byte log sector",
			    (unsigned long long)wl->size, wl->sector_size);
	if (wl->nr_super > sectors - 1)
		return fail(e, EXIT_OPERATIONAL,
			    "truncated: the super claims %llu entries, which need more than the %llu bytes"
			    " of the log (%llu sectors of %u)",
			    (unsigned long long)wl->nr_super, (unsigned long long)wl->size,
			    (unsigned long long)sectors, wl->sector_size);
	return 0;
}

static int read_super(struct writelog *wl, struct err *e)
{
	uint8_t sb[SUPER_FIELD_BYTES];
	uint64_t magic, version;

	if (wl->size == 0)
		return fail(e, EXIT_OPERATIONAL, "empty file, not a dm-log-writes log");
	if (wl->size < SUPER_FIELD_BYTES)
		return fail(e, EXIT_OPERATIONAL, "too short (%llu bytes) for a dm-log-writes super",
			    (unsigned long long)wl->size);
	if (read_at(wl, sb, sizeof(sb), 0, e))
		return -1;
	if (all_zero(sb, sizeof(sb)))
		return fail(e, EXIT_OPERATIONAL,
			    "no dm-log-writes super (its sector is zeros; QEMU writes the super only at"
			    " the first flush, so a log cut before one has none)");
	magic = le64_get(sb);
	version = le64_get(sb + 8);
	wl->nr_super = le64_get(sb + 16);
	wl->sector_size = le32_get(sb + 24);
	if (magic != WL_MAGIC)
		return fail(e, EXIT_OPERATIONAL, "not a dm-log-writes log (magic 0x%llx, expected 0x%llx)",
			    (unsigned long long)magic, (unsigned long long)WL_MAGIC);
	if (version != WL_VERSION)
		return fail(e, EXIT_OPERATIONAL, "unsupported dm-log-writes version %llu (only %d exists)",
			    (unsigned long long)version, WL_VERSION);
	if (check_sector_size(wl->sector_size, e))
		return -1;
	return check_claimed_size(wl, e);
}

int writelog_open(const char *path, struct writelog **out, struct err *e)
{
	struct writelog *wl = calloc(1, sizeof(*wl));

	*out = NULL;
	if (!wl)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	wl->fd = -1;
	if (open_log_fd(path, &wl->fd, &wl->size, e) || read_super(wl, e))
		goto bad;
	wl->hdr = malloc(wl->sector_size);
	wl->mark = malloc(wl->sector_size - WL_HEADER_BYTES + 1);
	if (!wl->hdr || !wl->mark) {
		fail(e, EXIT_OPERATIONAL, "out of memory for a %u-byte log sector", wl->sector_size);
		goto bad;
	}
	writelog_rewind(wl);
	*out = wl;
	return 0;
bad:
	writelog_close(wl);
	return -1;
}

void writelog_close(struct writelog *wl)
{
	if (!wl)
		return;
	if (wl->map)
		munmap((void *)wl->map, (size_t)wl->size);
	if (wl->fd >= 0)
		close(wl->fd);
	free(wl->hdr);
	free(wl->mark);
	free(wl);
}

uint32_t writelog_sector_size(const struct writelog *wl)
{
	return wl->sector_size;
}

uint64_t writelog_nr_entries_super(const struct writelog *wl)
{
	return wl->nr_super;
}

uint64_t writelog_size(const struct writelog *wl)
{
	return wl->size;
}

void writelog_rewind(struct writelog *wl)
{
	wl->cur = 0;
	wl->pos = wl->sector_size;
	wl->ended = 0;
	wl->end_marked = 0;
	wl->end_reason[0] = '\0';
}

const char *writelog_end_reason(const struct writelog *wl)
{
	return wl->end_reason;
}

/* ---- one entry ------------------------------------------------------- */

static void decode_header(const struct writelog *wl, struct wl_entry *en)
{
	memset(en, 0, sizeof(*en));
	en->index = wl->cur;
	en->offset = wl->pos;
	en->data_offset = wl->pos + wl->sector_size;
	en->sector = le64_get(wl->hdr);
	en->nr_sectors = le64_get(wl->hdr + 8);
	en->flags = le64_get(wl->hdr + 16);
	en->data_len = le64_get(wl->hdr + 24);
}

/* Marks: no sectors, text that fits the header sector and has no NUL
 * (the kernel logs strlen() bytes). */
static int mark_problem(const struct writelog *wl, const struct wl_entry *en, char *why, size_t n)
{
	uint64_t room = wl->sector_size - WL_HEADER_BYTES;

	if (en->nr_sectors)
		snprintf(why, n, "mark entry with %llu sectors", (unsigned long long)en->nr_sectors);
	else if (en->data_len > room)
		snprintf(why, n, "mark text of %llu bytes does not fit a %u-byte sector",
			 (unsigned long long)en->data_len, wl->sector_size);
	else if (memchr(wl->hdr + WL_HEADER_BYTES, 0, en->data_len))
		snprintf(why, n, "mark text contains a NUL byte");
	else
		return 0;
	return 1;
}

/* The sector range must be expressible in bytes, for the log and the
 * device alike. */
static int range_problem(const struct writelog *wl, const struct wl_entry *en, char *why, size_t n)
{
	uint64_t max = UINT64_MAX / wl->sector_size;

	if (en->nr_sectors <= max && en->sector <= max - en->nr_sectors)
		return 0;
	snprintf(why, n, "sector range overflows (sector %llu, %llu sectors)",
		 (unsigned long long)en->sector, (unsigned long long)en->nr_sectors);
	return 1;
}

/* Everything after the header (and a mark's text) is zeroed by every
 * producer, so anything else there means this is not a header. */
static int padding_problem(const struct writelog *wl, const struct wl_entry *en, char *why,
			   size_t n)
{
	size_t from = WL_HEADER_BYTES + ((en->flags & WL_MARK) ? (size_t)en->data_len : 0);

	if (from >= wl->sector_size || all_zero(wl->hdr + from, wl->sector_size - from))
		return 0;	/* every header a producer writes */
	for (size_t i = from; i < wl->sector_size; i++) {
		if (wl->hdr[i]) {
			snprintf(why, n, "non-zero byte 0x%02x after the entry header (byte %zu of its sector)",
				 wl->hdr[i], i);
			return 1;
		}
	}
	return 0;
}

/* Why the header at the cursor is not one a producer writes: 1 and WHY,
 * or 0 if it is valid. */
static int entry_problem(const struct writelog *wl, const struct wl_entry *en, char *why, size_t n)
{
	if (!en->flags && !en->nr_sectors) {
		snprintf(why, n, "%s", all_zero(wl->hdr, WL_HEADER_BYTES) ? "all-zero header"
					 : "empty entry (no flags, no sectors)");
		return 1;
	}
	if (en->flags & ~(uint64_t)WL_KNOWN_FLAGS) {
		snprintf(why, n, "unknown flag bits 0x%llx",
			 (unsigned long long)(en->flags & ~(uint64_t)WL_KNOWN_FLAGS));
		return 1;
	}
	if (range_problem(wl, en, why, n))
		return 1;
	if (en->flags & WL_MARK) {
		if (mark_problem(wl, en, why, n))
			return 1;
	} else if ((en->flags & WL_DISCARD) && en->data_len) {
		snprintf(why, n, "discard entry with %llu bytes of data", (unsigned long long)en->data_len);
		return 1;
	} else if (en->data_len > en->nr_sectors * wl->sector_size) {
		/* Inline data (old kernels' DAX path) lies in the payload sectors. */
		snprintf(why, n, "data_len %llu exceeds the entry's %llu-byte payload",
			 (unsigned long long)en->data_len,
			 (unsigned long long)(en->nr_sectors * wl->sector_size));
		return 1;
	}
	return padding_problem(wl, en, why, n);
}

/* ---- iteration ------------------------------------------------------- */

static int end_log(struct writelog *wl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int end_log(struct writelog *wl, const char *fmt, ...)
{
	va_list ap;

	wl->ended = 1;
	va_start(ap, fmt);
	vsnprintf(wl->end_reason, sizeof(wl->end_reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* A bad entry at the cursor: inside the entries the super vouches for it
 * is an error; past them it is where a stale super's log really ends. */
static int bad_entry(struct writelog *wl, const char *kind, const char *why, struct err *e)
{
	if (wl->cur < wl->nr_super)
		return fail(e, EXIT_OPERATIONAL, "%sentry %llu (log byte %llu): %s", kind,
			    (unsigned long long)wl->cur, (unsigned long long)wl->pos, why);
	return end_log(wl, "entry %llu (log byte %llu): %s", (unsigned long long)wl->cur,
		       (unsigned long long)wl->pos, why);
}

/* Read and decode the header at the cursor: 1 if it is there, 0 if the
 * log ends before it, -1 on error. */
static int load_header(struct writelog *wl, struct wl_entry *en, struct err *e)
{
	char why[160];

	if (wl->pos == wl->size) {
		if (wl->cur < wl->nr_super)
			return fail(e, EXIT_OPERATIONAL,
				    "truncated: the log ends (byte %llu) before entry %llu of the %llu the super claims",
				    (unsigned long long)wl->size, (unsigned long long)wl->cur,
				    (unsigned long long)wl->nr_super);
		return end_log(wl, "end of the log (byte %llu)", (unsigned long long)wl->size);
	}
	if (wl->size - wl->pos < wl->sector_size) {
		snprintf(why, sizeof(why), "the log ends (byte %llu) inside the header sector",
			 (unsigned long long)wl->size);
		return bad_entry(wl, "truncated: ", why, e);
	}
	if (read_at(wl, wl->hdr, wl->sector_size, wl->pos, e))
		return -1;
	decode_header(wl, en);
	return 1;
}

static int payload_fits(struct writelog *wl, struct wl_entry *en, struct err *e)
{
	char why[160];

	if (!(en->flags & (WL_DISCARD | WL_MARK)))
		en->payload_len = en->nr_sectors * wl->sector_size;
	if (en->payload_len <= wl->size - en->data_offset)
		return 1;
	snprintf(why, sizeof(why), "its %llu-byte payload runs past the end of the log (byte %llu)",
		 (unsigned long long)en->payload_len, (unsigned long long)wl->size);
	return bad_entry(wl, "truncated: ", why, e);
}

static void take_entry(struct writelog *wl, struct wl_entry *en)
{
	if (en->flags & WL_MARK) {
		memcpy(wl->mark, wl->hdr + WL_HEADER_BYTES, en->data_len);
		wl->mark[en->data_len] = '\0';
		en->mark = wl->mark;
		if (en->index + 1 == wl->nr_super && !strcmp(wl->mark, WL_END_MARK))
			wl->end_marked = 1;
	}
	wl->cur++;
	wl->pos = en->data_offset + en->payload_len;
}

int writelog_next(struct writelog *wl, struct wl_entry *out, struct err *e)
{
	char why[160];
	int rc;

	if (wl->ended)
		return 0;
	if (wl->end_marked && wl->cur == wl->nr_super)
		return end_log(wl, "the kernel's end mark (entry %llu) closes the log",
			       (unsigned long long)(wl->cur - 1));
	rc = load_header(wl, out, e);
	if (rc <= 0)
		return rc;
	if (entry_problem(wl, out, why, sizeof(why)))
		return bad_entry(wl, "", why, e);
	rc = payload_fits(wl, out, e);
	if (rc <= 0)
		return rc;
	take_entry(wl, out);
	return 1;
}

int writelog_read_data(struct writelog *wl, const struct wl_entry *ent, uint64_t off, void *buf,
		       size_t len, struct err *e)
{
	if (off > ent->payload_len || len > ent->payload_len - off)
		return fail(e, EXIT_OPERATIONAL,
			    "entry %llu: reading bytes %llu+%zu of a %llu-byte payload",
			    (unsigned long long)ent->index, (unsigned long long)off, len,
			    (unsigned long long)ent->payload_len);
	return read_at(wl, buf, len, ent->data_offset + off, e);
}

const void *writelog_payload(struct writelog *wl, const struct wl_entry *ent)
{
	if (!wl->map_tried) {
		void *m = wl->size && wl->size <= SIZE_MAX
				  ? mmap(NULL, (size_t)wl->size, PROT_READ, MAP_SHARED, wl->fd, 0)
				  : MAP_FAILED;

		wl->map_tried = 1;
		wl->map = m != MAP_FAILED ? m : NULL;
	}
	if (!wl->map || ent->data_offset > wl->size || ent->payload_len > wl->size - ent->data_offset)
		return NULL;
	return wl->map + ent->data_offset;
}

/* ---- index ----------------------------------------------------------- */

static int index_append(struct wl_index *idx, uint64_t *cap, const struct wl_entry *en)
{
	struct wl_entry *slot;

	if (idx->nr == *cap) {
		uint64_t ncap = *cap ? *cap * 2 : 64;
		struct wl_entry *n = reallocarray(idx->entries, ncap, sizeof(*n));

		if (!n)
			return -1;
		idx->entries = n;
		*cap = ncap;
	}
	slot = &idx->entries[idx->nr];
	*slot = *en;
	if (en->mark && !(slot->mark = strdup(en->mark)))
		return -1;
	idx->nr++;
	return 0;
}

int writelog_scan(struct writelog *wl, struct wl_index *out, struct err *e)
{
	struct wl_entry en;
	uint64_t cap = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->nr_super = wl->nr_super;
	out->sector_size = wl->sector_size;
	writelog_rewind(wl);
	while ((rc = writelog_next(wl, &en, e)) == 1) {
		if (index_append(out, &cap, &en)) {
			rc = fail(e, EXIT_OPERATIONAL, "out of memory indexing entry %llu",
				  (unsigned long long)en.index);
			break;
		}
	}
	if (rc < 0) {
		wl_index_free(out);
		return -1;
	}
	out->nr_extra = out->nr - out->nr_super;
	snprintf(out->end_reason, sizeof(out->end_reason), "%s", wl->end_reason);
	return 0;
}

void wl_index_free(struct wl_index *idx)
{
	for (uint64_t i = 0; i < idx->nr; i++)
		free((char *)idx->entries[i].mark);
	free(idx->entries);
	memset(idx, 0, sizeof(*idx));
}

int writelog_check_device(const struct wl_index *idx, uint64_t device_bytes, struct err *e)
{
	uint64_t limit = device_bytes / idx->sector_size;

	for (uint64_t i = 0; i < idx->nr; i++) {
		const struct wl_entry *en = &idx->entries[i];

		if ((en->flags & WL_MARK) || !en->nr_sectors || en->sector + en->nr_sectors <= limit)
			continue;
		return fail(e, EXIT_OPERATIONAL,
			    "entry %llu (log byte %llu) %s sectors %llu..%llu, past the end of the"
			    " %llu-byte device (%llu sectors of %u bytes)",
			    (unsigned long long)i, (unsigned long long)en->offset,
			    (en->flags & WL_DISCARD) ? "discards" : "writes",
			    (unsigned long long)en->sector,
			    (unsigned long long)(en->sector + en->nr_sectors - 1),
			    (unsigned long long)device_bytes, (unsigned long long)limit,
			    idx->sector_size);
	}
	return 0;
}

/* Append "|NAME" (or "NAME" first) to BUF, never past LEN. */
static void append_name(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	if (used + 1 < len)
		snprintf(buf + used, len - used, "%s%s", used ? "|" : "", name);
}

const char *wl_flag_names(uint64_t flags, char *buf, size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = { { WL_FLUSH, "FLUSH" }, { WL_FUA, "FUA" }, { WL_DISCARD, "DISCARD" },
		      { WL_MARK, "MARK" }, { WL_METADATA, "METADATA" } };
	char unknown[24];

	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit)
			append_name(buf, len, names[i].name);
	if (flags & ~(uint64_t)WL_KNOWN_FLAGS) {
		snprintf(unknown, sizeof(unknown), "0x%llx",
			 (unsigned long long)(flags & ~(uint64_t)WL_KNOWN_FLAGS));
		append_name(buf, len, unknown);
	}
	return buf;
}
