/* test_writelog.c: unit tests for the dm-log-writes reader.  Logs are built
 * byte by byte here (kernel and QEMU layouts, sector sizes 32 to 64 KiB),
 * written to temporary files, and the reader's entries, counts, end
 * reasons and error messages are checked exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/crash/writelog.h"
#include "tests/unit/check.h"


/* A message check that shows the message when it fails. */
#define CHECK_MSG(e, text)                                                         \
	do {                                                                       \
		checks++;                                                          \
		if ((e).exit_code != EXIT_OPERATIONAL || !strstr((e).msg, (text))) { \
			failures++;                                                \
			fprintf(stderr, "%s:%d: expected exit 8 and \"%s\", got %d \"%s\"\n", \
				__FILE__, __LINE__, (text), (e).exit_code, (e).msg); \
		}                                                                  \
	} while (0)

/* ---- building logs --------------------------------------------------- */

enum layout { QEMU, KERNEL };

struct logbuf {
	uint8_t *b;
	size_t len, cap;
	uint32_t ss;
	char path[64];
};

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint8_t *lb_grow(struct logbuf *l, size_t n)
{
	if (l->len + n > l->cap) {
		l->cap = (l->len + n) * 2;
		l->b = realloc(l->b, l->cap);
		if (!l->b)
			abort();
	}
	memset(l->b + l->len, 0, n);
	l->len += n;
	return l->b + l->len - n;
}

/* The super sector.  The kernel copies its 32-byte struct with the 4
 * padding bytes uninitialised, so they get garbage here. */
static void lb_init(struct logbuf *l, enum layout lay, uint32_t ss, uint64_t nr_entries)
{
	uint8_t *p;

	memset(l, 0, sizeof(*l));
	l->ss = ss;
	p = lb_grow(l, ss < 32 ? 32 : ss);
	put_le(p, WL_MAGIC, 8);
	put_le(p + 8, WL_VERSION, 8);
	put_le(p + 16, nr_entries, 8);
	put_le(p + 24, ss, 4);
	if (lay == KERNEL)
		put_le(p + 28, 0xdeadbeef, 4);
}

static void lb_set_super(struct logbuf *l, int field_off, uint64_t v, int bytes)
{
	put_le(l->b + field_off, v, bytes);
}

/* One entry: the header sector (with MARK text) and, unless a discard or
 * mark, nr sectors of payload whose byte i is (fill + i) & 0xff.  Returns
 * the header's byte offset. */
static size_t lb_entry(struct logbuf *l, uint64_t sector, uint64_t nr, uint64_t flags,
		       uint64_t data_len, const char *mark, uint8_t fill)
{
	size_t off = l->len;
	uint8_t *h = lb_grow(l, l->ss);

	put_le(h, sector, 8);
	put_le(h + 8, nr, 8);
	put_le(h + 16, flags, 8);
	put_le(h + 24, data_len, 8);
	if (mark)
		memcpy(h + 32, mark, strlen(mark));
	if (!(flags & (WL_DISCARD | WL_MARK))) {
		uint8_t *d = lb_grow(l, nr * l->ss);

		for (size_t i = 0; i < nr * l->ss; i++)
			d[i] = (uint8_t)(fill + i);
	}
	return off;
}

static size_t lb_mark(struct logbuf *l, const char *text)
{
	return lb_entry(l, 0, 0, WL_MARK, strlen(text), text, 0);
}

static const char *lb_file(struct logbuf *l)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	snprintf(l->path, sizeof(l->path), "%.40s/wlogXXXXXX", dir);
	fd = mkstemp(l->path);
	if (fd < 0 || write(fd, l->b, l->len) != (ssize_t)l->len)
		abort();
	close(fd);
	return l->path;
}

static void lb_free(struct logbuf *l)
{
	if (l->path[0])
		unlink(l->path);
	free(l->b);
	memset(l, 0, sizeof(*l));
}

/* Open and scan the log built so far: 0, or -1 with *e filled. */
static int scan(struct logbuf *l, struct wl_index *idx, struct err *e)
{
	struct writelog *wl;
	int rc;

	memset(idx, 0, sizeof(*idx));
	memset(e, 0, sizeof(*e));
	if (writelog_open(lb_file(l), &wl, e))
		return -1;
	rc = writelog_scan(wl, idx, e);
	writelog_close(wl);
	return rc;
}

/* Every field of GOT as WANT says; data_offset follows the header sector. */
static int same_entry(const struct wl_entry *got, const struct wl_entry *want, uint32_t ss)
{
	int same = got->index == want->index && got->sector == want->sector &&
		   got->nr_sectors == want->nr_sectors && got->flags == want->flags &&
		   got->data_len == want->data_len && got->offset == want->offset &&
		   got->data_offset == want->offset + ss && got->payload_len == want->payload_len &&
		   !got->mark == !want->mark && (!got->mark || !strcmp(got->mark, want->mark));

	if (!same)
		fprintf(stderr, "entry %llu: got sector %llu nr %llu flags 0x%llx data_len %llu offset %llu"
				" data_offset %llu payload %llu mark %s\n",
			(unsigned long long)got->index, (unsigned long long)got->sector,
			(unsigned long long)got->nr_sectors, (unsigned long long)got->flags,
			(unsigned long long)got->data_len, (unsigned long long)got->offset,
			(unsigned long long)got->data_offset, (unsigned long long)got->payload_len,
			got->mark ? got->mark : "(none)");
	return same;
}

#define ENTRY(i, sec, nr, fl, off, pay) \
	((struct wl_entry){ .index = (i), .sector = (sec), .nr_sectors = (nr), .flags = (fl), \
			    .offset = (off), .payload_len = (pay) })
#define MARK_ENTRY(i, off, text) \
	((struct wl_entry){ .index = (i), .flags = WL_MARK, .data_len = strlen(text), \
			    .offset = (off), .mark = (text) })

/* Payload bytes come back from where the builder put them. */
static int payload_ok(const char *path, const struct wl_entry *en, uint64_t off, size_t len,
		      uint8_t fill)
{
	struct writelog *wl;
	struct err e = { 0 };
	uint8_t *buf = malloc(len ? len : 1);
	int ok;

	if (!buf || writelog_open(path, &wl, &e))
		abort();
	ok = writelog_read_data(wl, en, off, buf, len, &e) == 0;
	for (size_t i = 0; ok && i < len; i++)
		ok = buf[i] == (uint8_t)(fill + off + i);
	writelog_close(wl);
	free(buf);
	return ok;
}

/* ---- well-formed logs ------------------------------------------------ */

/* What qemu-io produces: packed super, writes, FLUSH, DISCARD, zeroes. */
static void test_qemu_512(void)
{
	struct logbuf l;
	struct wl_index idx;
	struct err e;
	size_t o[7];

	lb_init(&l, QEMU, 512, 7);
	o[0] = lb_entry(&l, 0, 8, 0, 0, NULL, 0xa0);
	o[1] = lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
	o[2] = lb_entry(&l, 16, 8, WL_DISCARD, 0, NULL, 0);
	o[3] = lb_entry(&l, 32, 8, 0, 0, NULL, 0);
	o[4] = lb_entry(&l, 40, 2, 0, 0, NULL, 0x17);
	o[5] = lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
	o[6] = lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
	CHECK(scan(&l, &idx, &e) == 0);
	CHECK(idx.nr == 7 && idx.nr_super == 7 && idx.nr_extra == 0 && idx.sector_size == 512);
	CHECK(o[0] == 512 && o[1] == 512 + 512 + 4096 && o[2] == o[1] + 512 && o[3] == o[2] + 512);
	CHECK(idx.nr == 7 && same_entry(&idx.entries[0], &ENTRY(0, 0, 8, 0, o[0], 4096), 512));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[1], &ENTRY(1, 0, 0, WL_FLUSH, o[1], 0), 512));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[2], &ENTRY(2, 16, 8, WL_DISCARD, o[2], 0), 512));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[3], &ENTRY(3, 32, 8, 0, o[3], 4096), 512));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[4], &ENTRY(4, 40, 2, 0, o[4], 1024), 512));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[6], &ENTRY(6, 0, 0, WL_FLUSH, o[6], 0), 512));
	CHECK(!strcmp(idx.end_reason, "end of the log (byte 13312)") && l.len == 13312);
	CHECK(payload_ok(l.path, &idx.entries[0], 0, 4096, 0xa0));
	CHECK(payload_ok(l.path, &idx.entries[4], 1000, 24, 0x17));
	CHECK(payload_ok(l.path, &idx.entries[2], 0, 0, 0));
	CHECK(writelog_check_device(&idx, 42 * 512, &e) == 0);
	wl_index_free(&idx);
	lb_free(&l);
}

/* What the kernel target produces: padded super, METADATA, FUA, a
 * preflush with data, marks, and the end mark after which nothing counts. */
static void test_kernel_4096(void)
{
	struct logbuf l;
	struct wl_index idx;
	struct err e;
	size_t o[7];

	lb_init(&l, KERNEL, 4096, 7);
	o[0] = lb_entry(&l, 10, 2, WL_METADATA, 0, NULL, 1);
	o[1] = lb_entry(&l, 12, 1, WL_FUA | WL_METADATA, 0, NULL, 2);
	o[2] = lb_entry(&l, 20, 1, WL_FLUSH | WL_FUA, 0, NULL, 3);
	o[3] = lb_mark(&l, "fsx.mark1");
	o[4] = lb_entry(&l, 100, 50, WL_DISCARD, 0, NULL, 0);
	o[5] = lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
	o[6] = lb_mark(&l, WL_END_MARK);
	lb_entry(&l, 7, 1, 0, 0, NULL, 9); /* a previous run's entry */
	CHECK(scan(&l, &idx, &e) == 0);
	CHECK(idx.nr == 7 && idx.nr_super == 7 && idx.nr_extra == 0 && idx.sector_size == 4096);
	CHECK(idx.nr == 7 && same_entry(&idx.entries[0], &ENTRY(0, 10, 2, WL_METADATA, o[0], 8192), 4096));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[1], &ENTRY(1, 12, 1, 0x12, o[1], 4096), 4096));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[2], &ENTRY(2, 20, 1, 0x3, o[2], 4096), 4096));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[3], &MARK_ENTRY(3, o[3], "fsx.mark1"), 4096));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[4], &ENTRY(4, 100, 50, WL_DISCARD, o[4], 0), 4096));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[5], &ENTRY(5, 0, 0, WL_FLUSH, o[5], 0), 4096));
	CHECK(idx.nr == 7 && same_entry(&idx.entries[6], &MARK_ENTRY(6, o[6], WL_END_MARK), 4096));
	CHECK(!strcmp(idx.end_reason, "the kernel's end mark (entry 6) closes the log"));
	CHECK(payload_ok(l.path, &idx.entries[2], 4000, 96, 3));
	/* Marks and flushes touch no sector; the discard ends at sector 149. */
	CHECK(writelog_check_device(&idx, 150 * 4096, &e) == 0);
	CHECK(writelog_check_device(&idx, 150 * 4096 - 1, &e) == -1);
	CHECK_MSG(e, "entry 4 (log byte 36864) discards sectors 100..149, past the end of the "
		     "614399-byte device (149 sectors of 4096 bytes)");
	wl_index_free(&idx);
	lb_free(&l);
}

/* 64 KiB sectors: long marks, payload reads across offsets. */
static void test_64k(void)
{
	struct logbuf l;
	struct wl_index idx;
	struct err e;
	char *text = malloc(65536 - 32 + 1);
	size_t o[3];

	memset(text, 'm', 65536 - 32);
	text[65536 - 32] = '\0';
	lb_init(&l, QEMU, 65536, 3);
	o[0] = lb_entry(&l, 1, 1, 0, 0, NULL, 0x40);
	o[1] = lb_mark(&l, text); /* fills the header sector exactly */
	o[2] = lb_entry(&l, 3, 2, WL_FLUSH, 0, NULL, 0x41);
	CHECK(scan(&l, &idx, &e) == 0);
	CHECK(idx.nr == 3 && idx.nr_extra == 0 && idx.sector_size == 65536);
	CHECK(idx.nr == 3 && same_entry(&idx.entries[0], &ENTRY(0, 1, 1, 0, 65536, 65536), 65536));
	CHECK(idx.nr == 3 && same_entry(&idx.entries[1], &MARK_ENTRY(1, o[1], text), 65536));
	CHECK(idx.nr == 3 && same_entry(&idx.entries[2], &ENTRY(2, 3, 2, WL_FLUSH, o[2], 131072), 65536));
	CHECK(o[1] == 3 * 65536 && o[2] == 4 * 65536);
	CHECK(payload_ok(l.path, &idx.entries[2], 65000, 1000, 0x41));
	CHECK(payload_ok(l.path, &idx.entries[2], 131071, 1, 0x41));
	wl_index_free(&idx);
	lb_free(&l);
	free(text);
}

/* Every power of two from the 32-byte minimum up reads the same log. */
static void test_sector_sizes(void)
{
	for (uint32_t ss = 32; ss <= 65536; ss *= 2) {
		struct logbuf l;
		struct wl_index idx;
		struct err e;

		lb_init(&l, ss >= 4096 ? KERNEL : QEMU, ss, 4);
		lb_entry(&l, 5, 3, 0, 0, NULL, (uint8_t)ss);
		lb_entry(&l, 0, 0, WL_MARK, 0, NULL, 0); /* an empty mark fits any sector */
		lb_entry(&l, 9, 1, WL_DISCARD, 0, NULL, 0);
		lb_entry(&l, 0, 0, WL_FLUSH | WL_FUA, 0, NULL, 0);
		CHECK(scan(&l, &idx, &e) == 0);
		CHECK(idx.nr == 4 && idx.sector_size == ss && idx.nr_extra == 0);
		CHECK(idx.nr == 4 && same_entry(&idx.entries[0], &ENTRY(0, 5, 3, 0, ss, 3 * ss), ss));
		CHECK(idx.nr == 4 && same_entry(&idx.entries[1], &MARK_ENTRY(1, 5 * ss, ""), ss));
		CHECK(idx.nr == 4 && idx.entries[3].offset == 7 * ss && l.len == 8 * ss);
		CHECK(idx.nr == 4 && payload_ok(l.path, &idx.entries[0], 1, 3 * ss - 1, (uint8_t)ss));
		CHECK(writelog_check_device(&idx, 10ULL * ss, &e) == 0);
		wl_index_free(&idx);
		lb_free(&l);
	}
}

/* ---- stale nr_entries ------------------------------------------------ */

/* QEMU and the kernel update nr_entries only now and then; entries after
 * it count while they stay valid.  Zeros after them are a preallocated
 * log's normal end. */
static void test_stale_then_zeros(void)
{
	struct logbuf l;
	struct wl_index idx;
	struct err e;
	size_t o;

	lb_init(&l, QEMU, 512, 2);
	lb_entry(&l, 0, 1, 0, 0, NULL, 1);
	lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
	lb_entry(&l, 1, 1, 0, 0, NULL, 2);
	lb_mark(&l, "after-the-super");
	o = lb_entry(&l, 2, 4, 0, 0, NULL, 3);
	lb_grow(&l, 512 * 64);
	CHECK(scan(&l, &idx, &e) == 0);
	CHECK(idx.nr == 5 && idx.nr_super == 2 && idx.nr_extra == 3);
	CHECK(idx.nr == 5 && same_entry(&idx.entries[3], &MARK_ENTRY(3, 3072, "after-the-super"), 512));
	CHECK(idx.nr == 5 && same_entry(&idx.entries[4], &ENTRY(4, 2, 4, 0, o, 2048), 512));
	CHECK(!strcmp(idx.end_reason, "entry 5 (log byte 6144): all-zero header"));
	wl_index_free(&idx);
	lb_free(&l);
}

/* Past nr_entries, any invalid header ends the log quietly. */
static void test_stale_then_garbage(void)
{
	static const struct {
		uint64_t sector, nr, flags, data_len;
		const char *reason;
	} junk[] = {
		{ 1, 1, 0x40, 0, "entry 2 (log byte 2048): unknown flag bits 0x40" },
		{ 9, 0, 0, 0, "entry 2 (log byte 2048): empty entry (no flags, no sectors)" },
		{ 0, 1, WL_MARK, 0, "entry 2 (log byte 2048): mark entry with 1 sectors" },
		{ 1, 1, WL_DISCARD, 3, "entry 2 (log byte 2048): discard entry with 3 bytes of data" },
		{ 1, 1000, 0, 0, "entry 2 (log byte 2048): its 512000-byte payload runs past the end"
				 " of the log (byte 2660)" },
	};

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct logbuf l;
		struct wl_index idx;
		struct err e;

		lb_init(&l, KERNEL, 512, 1);
		lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
		lb_entry(&l, 3, 1, 0, 0, NULL, 0);
		lb_entry(&l, junk[i].sector, junk[i].nr, junk[i].flags, junk[i].data_len, NULL, 0);
		if (junk[i].nr == 1000)
			l.len = 2660; /* the crash cut the payload */
		CHECK(scan(&l, &idx, &e) == 0);
		CHECK(idx.nr == 2 && idx.nr_super == 1 && idx.nr_extra == 1);
		CHECK(!strcmp(idx.end_reason, junk[i].reason));
		wl_index_free(&idx);
		lb_free(&l);
	}
}

/* The log may stop anywhere past nr_entries: mid-header or at a boundary;
 * a super that says 0 still lets every valid entry through. */
static void test_stale_ends(void)
{
	struct logbuf l;
	struct wl_index idx;
	struct err e;

	lb_init(&l, QEMU, 4096, 0);
	lb_entry(&l, 0, 1, 0, 0, NULL, 0);
	lb_entry(&l, 1, 1, 0, 0, NULL, 0);
	CHECK(scan(&l, &idx, &e) == 0);
	CHECK(idx.nr == 2 && idx.nr_super == 0 && idx.nr_extra == 2);
	CHECK(!strcmp(idx.end_reason, "end of the log (byte 20480)"));
	wl_index_free(&idx);
	lb_grow(&l, 100);
	l.b[l.len - 1] = 7;
	CHECK(scan(&l, &idx, &e) == 0);
	CHECK(idx.nr == 2 && idx.nr_extra == 2);
	CHECK(!strcmp(idx.end_reason,
		      "entry 2 (log byte 20480): the log ends (byte 20580) inside the header sector"));
	wl_index_free(&idx);
	lb_free(&l);
}

/* ---- malformed and truncated logs ------------------------------------ */

/* Inside the entries the super vouches for, a bad header is an error that
 * names the entry and its byte offset in the log. */
static void test_malformed_before_super(void)
{
	static const struct {
		uint64_t sector, nr, flags, data_len;
		const char *mark;
		int poke;	/* header byte set to POKE_VAL, or -1 */
		uint8_t poke_val;
		const char *msg;
	} bad[] = {
		{ 0, 0, 0, 0, NULL, -1, 0, "all-zero header" },
		{ 5, 0, 0, 0, NULL, -1, 0, "empty entry (no flags, no sectors)" },
		{ 1, 1, 0x20, 0, NULL, -1, 0, "unknown flag bits 0x20" },
		{ 1, 1, 0x8000000000000001ULL, 0, NULL, -1, 0, "unknown flag bits 0x8000000000000000" },
		{ 1, 1, 0, 0, NULL, 32, 1, "non-zero byte 0x01 after the entry header (byte 32 of its sector)" },
		{ 1, 1, WL_FLUSH, 0, NULL, 511, 0xff, "non-zero byte 0xff after the entry header (byte 511" },
		{ 1, 8, WL_DISCARD, 5, NULL, -1, 0, "discard entry with 5 bytes of data" },
		{ 0, 1, WL_MARK, 2, "ab", -1, 0, "mark entry with 1 sectors" },
		{ 0, 0, WL_MARK, 481, NULL, -1, 0, "mark text of 481 bytes does not fit a 512-byte sector" },
		{ 0, 0, WL_MARK, 3, "abc", 33, 0, "mark text contains a NUL byte" },
		{ 0, 0, WL_MARK, 3, "abc", 40, 'x', "non-zero byte 0x78 after the entry header (byte 40" },
		{ UINT64_MAX - 2, 4, WL_DISCARD, 0, NULL, -1, 0, "sector range overflows (sector 18446744073709551613, 4 sectors)" },
		{ 0, UINT64_MAX / 256, WL_DISCARD, 0, NULL, -1, 0, "sector range overflows" },
		{ 1, 1, 0, 513, NULL, -1, 0, "data_len 513 exceeds the entry's 512-byte payload" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct logbuf l;
		struct wl_index idx;
		struct err e;
		char want[200];
		size_t off;

		lb_init(&l, i % 2 ? KERNEL : QEMU, 512, 3);
		lb_entry(&l, 0, 8, 0, 0, NULL, 0);
		off = lb_entry(&l, bad[i].sector, bad[i].nr, bad[i].flags, bad[i].data_len,
			       bad[i].mark, 0);
		if (bad[i].poke >= 0)
			l.b[off + (size_t)bad[i].poke] = bad[i].poke_val;
		lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
		CHECK(off == 5120);
		CHECK(scan(&l, &idx, &e) == -1);
		snprintf(want, sizeof(want), "entry 1 (log byte 5120): %s", bad[i].msg);
		CHECK_MSG(e, want);
		CHECK(!strncmp(e.msg, "entry 1 (log byte 5120): ", 25));
		wl_index_free(&idx);
		lb_free(&l);
	}
}

/* writelog_next() hands out the good entries, then reports the error. */
static void test_next_then_error(void)
{
	struct logbuf l;
	struct writelog *wl;
	struct wl_entry en;
	struct err e = { 0 };

	lb_init(&l, QEMU, 512, 2);
	lb_entry(&l, 4, 1, 0, 0, NULL, 0);
	lb_grow(&l, 512); /* zeros where entry 1 should be */
	CHECK(writelog_open(lb_file(&l), &wl, &e) == 0);
	CHECK(writelog_sector_size(wl) == 512 && writelog_nr_entries_super(wl) == 2);
	CHECK(writelog_size(wl) == 2048);
	CHECK(writelog_next(wl, &en, &e) == 1 && en.index == 0 && en.sector == 4);
	CHECK(writelog_next(wl, &en, &e) == -1);
	CHECK_MSG(e, "entry 1 (log byte 1536): all-zero header");
	writelog_close(wl);
	lb_free(&l);
}

/* A file shorter than the super claims is truncated, whether the headers
 * alone do not fit or a payload or header is cut. */
static void test_truncated(void)
{
	struct logbuf l;
	struct wl_index idx;
	struct err e;

	lb_init(&l, QEMU, 512, 5);
	for (int i = 0; i < 3; i++)
		lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
	CHECK(scan(&l, &idx, &e) == -1);
	CHECK_MSG(e, "truncated: the super claims 5 entries, which need more than the 2048 bytes"
		     " of the log (4 sectors of 512)");
	lb_free(&l);

	lb_init(&l, KERNEL, 512, 3);
	lb_entry(&l, 0, 8, 0, 0, NULL, 0);
	lb_entry(&l, 8, 8, 0, 0, NULL, 0);
	lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
	l.len -= 600; /* into entry 1's payload */
	CHECK(scan(&l, &idx, &e) == -1);
	CHECK_MSG(e, "truncated: entry 1 (log byte 5120): its 4096-byte payload runs past the end"
		     " of the log (byte 9640)");
	lb_free(&l);

	lb_init(&l, KERNEL, 512, 3);
	lb_entry(&l, 0, 8, 0, 0, NULL, 0);
	lb_entry(&l, 8, 8, 0, 0, NULL, 0);
	CHECK(scan(&l, &idx, &e) == -1);
	CHECK_MSG(e, "truncated: the log ends (byte 9728) before entry 2 of the 3 the super claims");
	lb_entry(&l, 0, 0, WL_FLUSH, 0, NULL, 0);
	l.len -= 412; /* 100 bytes of entry 2's header remain */
	CHECK(scan(&l, &idx, &e) == -1);
	CHECK_MSG(e, "truncated: entry 2 (log byte 9728): the log ends (byte 9828) inside the"
		     " header sector");
	lb_free(&l);
}

/* ---- the super ------------------------------------------------------- */

static void expect_open_error(struct logbuf *l, const char *msg)
{
	struct wl_index idx;
	struct err e;

	CHECK(scan(l, &idx, &e) == -1);
	CHECK_MSG(e, msg);
	lb_free(l);
}

static void test_bad_super(void)
{
	struct logbuf l;

	lb_init(&l, QEMU, 512, 0);
	l.len = 0;
	expect_open_error(&l, "empty file, not a dm-log-writes log");
	lb_init(&l, QEMU, 512, 0);
	l.len = 27;
	expect_open_error(&l, "too short (27 bytes) for a dm-log-writes super");
	/* QEMU before its first flush: entries, but the super is still zeros. */
	lb_init(&l, QEMU, 512, 0);
	memset(l.b, 0, 512);
	lb_entry(&l, 0, 1, 0, 0, NULL, 0);
	expect_open_error(&l, "no dm-log-writes super (its sector is zeros; QEMU writes the super only"
			      " at the first flush, so a log cut before one has none)");
	lb_init(&l, QEMU, 512, 0);
	l.b[0] ^= 1;
	expect_open_error(&l, "not a dm-log-writes log (magic 0x6a736677736873, expected 0x6a736677736872)");
	lb_init(&l, KERNEL, 512, 0);
	lb_set_super(&l, 8, 2, 8);
	expect_open_error(&l, "unsupported dm-log-writes version 2 (only 1 exists)");
	lb_init(&l, KERNEL, 512, 0);
	lb_set_super(&l, 8, 0, 8);
	expect_open_error(&l, "unsupported dm-log-writes version 0 (only 1 exists)");
}

static void test_bad_sector_size(void)
{
	static const struct {
		uint32_t ss;
		const char *msg;
	} bad[] = {
		{ 1000, "log sector size 1000 is not a power of two" },
		{ 0, "log sector size 0 is not a power of two" },
		{ 4097, "log sector size 4097 is not a power of two" },
		{ 16, "log sector size 16 is smaller than the 32-byte entry header" },
		{ 1, "log sector size 1 is smaller than the 32-byte entry header" },
		{ 32u << 20, "log sector size 33554432 is above the 16 MiB maximum" },
		{ 0x80000000u, "log sector size 2147483648 is above the 16 MiB maximum" },
	};
	struct logbuf l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lb_init(&l, QEMU, 512, 0);
		lb_set_super(&l, 24, bad[i].ss, 4);
		expect_open_error(&l, bad[i].msg);
	}
	/* 16 MiB itself is allowed, but the file must hold the super's sector. */
	lb_init(&l, QEMU, 512, 0);
	lb_set_super(&l, 24, 16u << 20, 4);
	expect_open_error(&l, "truncated: 512 bytes, less than one 16777216-byte log sector");
	lb_init(&l, KERNEL, 4096, 0);
	l.len = 512;
	expect_open_error(&l, "truncated: 512 bytes, less than one 4096-byte log sector");
}

static void test_not_a_file(void)
{
	struct writelog *wl;
	struct err e = { 0 };

	CHECK(writelog_open("/", &wl, &e) == -1 && wl == NULL);
	CHECK_MSG(e, "is not a regular file or block device");
	CHECK(writelog_open("/nonexistent/log", &wl, &e) == -1);
	CHECK_MSG(e, "No such file or directory");
}

/* ---- API details ----------------------------------------------------- */

/* next() after the end keeps returning 0; rewind starts over; payload
 * reads stay inside the payload. */
static void test_iteration(void)
{
	struct logbuf l;
	struct writelog *wl;
	struct wl_entry en, first;
	struct err e = { 0 };
	uint8_t b[4];

	lb_init(&l, KERNEL, 512, 2);
	lb_entry(&l, 4, 1, 0, 0, NULL, 0);
	lb_mark(&l, "m");
	CHECK(writelog_open(lb_file(&l), &wl, &e) == 0);
	CHECK(writelog_next(wl, &first, &e) == 1);
	CHECK(writelog_next(wl, &en, &e) == 1 && en.mark && !strcmp(en.mark, "m"));
	CHECK(writelog_next(wl, &en, &e) == 0 && writelog_next(wl, &en, &e) == 0);
	CHECK(!strcmp(writelog_end_reason(wl), "end of the log (byte 2048)"));
	writelog_rewind(wl);
	CHECK(writelog_next(wl, &en, &e) == 1 && !memcmp(&en, &first, sizeof(en)));
	CHECK(writelog_read_data(wl, &first, 510, b, 2, &e) == 0);
	CHECK(writelog_read_data(wl, &first, 511, b, 2, &e) == -1);
	CHECK_MSG(e, "entry 0: reading bytes 511+2 of a 512-byte payload");
	CHECK(writelog_read_data(wl, &first, UINT64_MAX, b, 1, &e) == -1);
	writelog_close(wl);
	writelog_close(NULL);
	lb_free(&l);
}

static void test_flag_names(void)
{
	char buf[64], tiny[6];

	CHECK(!strcmp(wl_flag_names(0, buf, sizeof(buf)), ""));
	CHECK(!strcmp(wl_flag_names(0x13, buf, sizeof(buf)), "FLUSH|FUA|METADATA"));
	CHECK(!strcmp(wl_flag_names(0x1f, buf, sizeof(buf)), "FLUSH|FUA|DISCARD|MARK|METADATA"));
	CHECK(!strcmp(wl_flag_names(0x65, buf, sizeof(buf)), "FLUSH|DISCARD|0x60"));
	CHECK(!strcmp(wl_flag_names(0x1f, tiny, sizeof(tiny)), "FLUSH"));
}

static void test_check_device(void)
{
	struct logbuf l;
	struct wl_index idx;
	struct err e;

	lb_init(&l, QEMU, 512, 3);
	lb_entry(&l, 2040, 8, 0, 0, NULL, 0);
	lb_entry(&l, 1u << 30, 0, WL_FLUSH, 0, NULL, 0); /* no sectors: never out of range */
	lb_mark(&l, "x");
	CHECK(scan(&l, &idx, &e) == 0);
	CHECK(writelog_check_device(&idx, 1 << 20, &e) == 0);
	CHECK(writelog_check_device(&idx, (1 << 20) + 511, &e) == 0);
	CHECK(writelog_check_device(&idx, (1 << 20) - 1, &e) == -1);
	CHECK_MSG(e, "entry 0 (log byte 512) writes sectors 2040..2047, past the end of the"
		     " 1048575-byte device (2047 sectors of 512 bytes)");
	CHECK(writelog_check_device(&idx, 0, &e) == -1);
	wl_index_free(&idx);
	lb_free(&l);
}

int main(void)
{
	test_qemu_512();
	test_kernel_4096();
	test_64k();
	test_sector_sizes();
	test_stale_then_zeros();
	test_stale_then_garbage();
	test_stale_ends();
	test_malformed_before_super();
	test_next_then_error();
	test_truncated();
	test_bad_super();
	test_bad_sector_size();
	test_not_a_file();
	test_iteration();
	test_flag_names();
	test_check_device();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
