/* test_replay.c: unit tests for the replay engine, its sinks and the
 * recovery session, without root or a loop device.  An image is made with
 * mke2fs in a temporary file; transactions are written into its journal
 * here (jbd2 v2, no checksums, 32-bit tags), and everything is read and
 * replayed through the overlay io manager, so the file itself is written
 * only by the set-up.
 *
 * What is checked: the newest copy of each home block wins, revoked copies
 * are skipped, escaped blocks get their magic back, --upto stops early;
 * home blocks reach the sink in block order with adjacent blocks in one
 * run; a log that wraps past the end of the journal replays the same; the
 * session scans once (the replay pass reads nothing more), keeps its scan
 * across a rebind to another open, and finishes both superblocks; a log
 * reader that maps the journal file shows the bytes of one that reads it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "lib/blockdev/image.h"
#include "lib/core/fdio.h"
#include "lib/blockdev/overlay.h"
#include "lib/journal/recovery.h"
#include "tests/unit/check.h"

#define BS 4096
#define FS_BLOCKS 4096

/* One logged copy: home block and a fill byte (ESC: starts with the magic). */
struct copy {
	uint32_t block;
	uint8_t fill;
};
#define ESC 0xee

struct txn {
	const struct copy *copies;
	size_t ncopies;
	const uint32_t *revokes;
	size_t nrevokes;
};

static char path[] = "/tmp/ext4da-test-replay.XXXXXX";

static void fill_block(uint8_t *b, uint8_t fill)
{
	memset(b, fill, BS);
	if (fill == ESC)
		put_be32(b, 0, JBD2_MAGIC);
}

static void header(uint8_t *b, uint32_t type, uint32_t tid)
{
	memset(b, 0, BS);
	put_be32(b, JBD2_HDR_MAGIC, JBD2_MAGIC);
	put_be32(b, JBD2_HDR_TYPE, type);
	put_be32(b, JBD2_HDR_SEQUENCE, tid);
}

static void put_be16(uint8_t *b, size_t off, uint16_t v)
{
	b[off] = v >> 8;
	b[off + 1] = v & 0xff;
}

/* Write one block of the log at journal position *pos and advance it. */
static void log_put(struct journal *j, uint32_t *pos, const uint8_t *b)
{
	if (io_channel_write_blk64(j->io, j->map[*pos], 1, b))
		abort();
	*pos = journal_next(j, *pos);
}

static void write_txn(struct journal *j, uint32_t *pos, uint32_t tid, const struct txn *t)
{
	uint8_t b[BS];
	size_t off = JBD2_HDR_SIZE;

	header(b, 1, tid);	/* descriptor */
	for (size_t i = 0; i < t->ncopies; i++) {
		uint16_t flags = (i ? JBD2_FLAG_SAME_UUID : 0) |
				 (i + 1 == t->ncopies ? JBD2_FLAG_LAST_TAG : 0) |
				 (t->copies[i].fill == ESC ? JBD2_FLAG_ESCAPE : 0);

		put_be32(b, off, t->copies[i].block);
		put_be16(b, off + 6, flags);
		off += 8 + (i ? 0 : 16);
	}
	if (t->ncopies) {
		log_put(j, pos, b);
		for (size_t i = 0; i < t->ncopies; i++) {
			fill_block(b, t->copies[i].fill);
			if (t->copies[i].fill == ESC)
				put_be32(b, 0, 0);	/* escaped in the log */
			log_put(j, pos, b);
		}
	}
	if (t->nrevokes) {
		header(b, 5, tid);
		for (size_t i = 0; i < t->nrevokes; i++)
			put_be32(b, JREVOKE_HDR_SIZE + 4 * i, t->revokes[i]);
		put_be32(b, JREVOKE_COUNT, JREVOKE_HDR_SIZE + 4 * t->nrevokes);
		log_put(j, pos, b);
	}
	header(b, 2, tid);	/* commit */
	put_be32(b, JCOMMIT_SEC + 4, 1000 + tid);
	log_put(j, pos, b);
}

static const struct copy t1_copies[] = { { 3000, 0x11 }, { 3001, 0x11 }, { 3005, 0x11 },
					 { 3010, ESC } };
static const struct copy t2_copies[] = { { 3002, 0x22 }, { 3001, 0x22 }, { 3003, 0x22 } };
static const uint32_t t2_revokes[] = { 3005 };
static const struct copy t3_copies[] = { { 3003, 0x33 }, { 3004, 0x33 }, { 3100, 0x33 } };
static const struct txn txns[] = {
	{ t1_copies, 4, NULL, 0 },
	{ t2_copies, 3, t2_revokes, 1 },
	{ t3_copies, 3, NULL, 0 },
};
#define FIRST_TID 7

/* A fresh image holding the three transactions from journal block start
 * (0: the start of the log). */
static void make_image(uint32_t start)
{
	char cmd[256];
	struct image_open_opts rw = { .writable = 1 };
	struct journal *j;
	ext2_filsys fs;
	struct err e = { 0 };
	uint32_t pos;

	snprintf(cmd, sizeof(cmd),
		 "mke2fs -q -F -t ext4 -b %d -J size=4 -O ^metadata_csum,^64bit %s %d >/dev/null", BS, path,
		 FS_BLOCKS);
	if (system(cmd) != 0 || image_open(path, &rw, &fs, &e) || journal_open(fs, NULL, &j, &e)) {
		fprintf(stderr, "set-up failed: %s\n", e.msg);
		exit(99);
	}
	pos = start ? start : j->first;
	for (size_t i = 0; i < sizeof(txns) / sizeof(txns[0]); i++)
		write_txn(j, &pos, FIRST_TID + (uint32_t)i, &txns[i]);
	put_be32(j->sb, JSB_FEATURE_INCOMPAT, 0);	/* 32-bit tags, no checksums */
	put_be32(j->sb, JSB_START, start ? start : j->first);
	put_be32(j->sb, JSB_SEQUENCE, FIRST_TID);
	if (journal_write_super(j, &e))
		exit(99);
	journal_close(j);
	ext2fs_set_feature_journal_needs_recovery(fs->super);
	ext2fs_mark_super_dirty(fs);
	if (ext2fs_close_free(&fs))
		exit(99);
}

/* The image through an overlay, opened with libext2fs. */
struct ov_fs {
	int fd;
	struct overlay *ov;
	ext2_filsys fs;
};

static void ov_open(struct ov_fs *o)
{
	struct image_open_opts io = { .writable = 1, .manager = overlay_io_manager };
	struct err e = { 0 };
	uint64_t size;
	char name[64];

	o->fd = open(path, O_RDONLY);
	if (o->fd < 0 || fd_size_bytes(o->fd, &size) || !(o->ov = overlay_new(o->fd, size, NULL)))
		exit(99);
	overlay_io_name(o->ov, name, sizeof(name));
	if (image_open(name, &io, &o->fs, &e)) {
		fprintf(stderr, "open: %s\n", e.msg);
		exit(99);
	}
}

static void ov_close(struct ov_fs *o)
{
	if (o->fs)
		image_close(o->fs, NULL);
	overlay_free(o->ov);
	close(o->fd);
}

/* A sink that records the runs it is given. */
struct run {
	uint64_t first;
	uint32_t count;
	uint8_t first_byte[8];	/* first byte of each block (up to 8) */
	uint8_t first_word_magic[8];
};

struct recorder {
	struct run runs[32];
	size_t n;
};

static int record_write(struct replay_sink *sink, uint64_t fs_block, uint32_t count,
			const void *buf, struct err *e)
{
	struct recorder *r = sink->ctx;
	struct run *run = &r->runs[r->n++];
	const uint8_t *b = buf;

	(void)e;
	run->first = fs_block;
	run->count = count;
	for (uint32_t i = 0; i < count && i < 8; i++) {
		run->first_byte[i] = b[(size_t)i * BS + 8];
		run->first_word_magic[i] = get_be32(b + (size_t)i * BS, 0) == JBD2_MAGIC;
	}
	return 0;
}

/* The full replay: 3000 (t1), 3001-3002 (t2), 3003-3004 (t3) adjacent,
 * 3005 revoked by t2, 3010 escaped, 3100 alone. */
static void check_full_runs(const struct recorder *rec, const struct replay_result *r)
{
	CHECK(r->transactions == 3 && r->tags == 10 && r->revoked == 1);
	CHECK(r->blocks_written == 7 && r->nbad == 0 && !r->fatal);
	CHECK(r->end_tid == FIRST_TID + 3 && r->new_sequence == FIRST_TID + 4);
	CHECK(rec->n == 3);
	if (rec->n != 3)
		return;
	CHECK(rec->runs[0].first == 3000 && rec->runs[0].count == 5);
	CHECK(rec->runs[0].first_byte[0] == 0x11 && rec->runs[0].first_byte[1] == 0x22 &&
	      rec->runs[0].first_byte[2] == 0x22 && rec->runs[0].first_byte[3] == 0x33 &&
	      rec->runs[0].first_byte[4] == 0x33);
	CHECK(rec->runs[1].first == 3010 && rec->runs[1].count == 1 &&
	      rec->runs[1].first_word_magic[0]);
	CHECK(rec->runs[2].first == 3100 && rec->runs[2].count == 1 &&
	      rec->runs[2].first_byte[0] == 0x33);
}

static void test_engine_runs(uint32_t start)
{
	struct replay_sink sink = { .write = record_write };
	struct recorder rec = { .n = 0 };
	struct recovery rs;
	struct ov_fs o;
	struct err e = { 0 };
	uint64_t reads;

	make_image(start);
	ov_open(&o);
	CHECK(recovery_open(&rs, o.fs, NULL, &e) == 0);
	if (!rs.j)
		exit(99);
	CHECK(recovery_needed(&rs));
	CHECK(rs.log.ntxns == 3 && jlog_committed(&rs.log) == 3);
	reads = rs.log.data->reads;
	sink.ctx = &rec;
	CHECK(recovery_replay(&rs, &sink, &e) == 0);
	/* One scan: the replay pass took every copy from what the scan read. */
	CHECK(rs.log.data->reads == reads);
	check_full_runs(&rec, &rs.result);
	recovery_close(&rs);
	ov_close(&o);
}

static void test_upto(void)
{
	struct recovery_opts ro = { .has_upto = 1, .upto = FIRST_TID };
	struct replay_sink sink = { .write = record_write };
	struct recorder rec = { .n = 0 };
	struct recovery rs;
	struct ov_fs o;
	struct err e = { 0 };

	make_image(0);
	ov_open(&o);
	CHECK(recovery_open(&rs, o.fs, &ro, &e) == 0);
	sink.ctx = &rec;
	CHECK(recovery_replay(&rs, &sink, &e) == 0);
	/* t1 only: 3000-3001, 3005 (the revoke in t2 is not reached), 3010. */
	CHECK(rs.result.transactions == 1 && rs.result.blocks_written == 4);
	CHECK(rec.n == 3 && rec.runs[0].first == 3000 && rec.runs[0].count == 2 &&
	      rec.runs[1].first == 3005 && rec.runs[2].first == 3010);
	CHECK(rs.result.new_sequence == FIRST_TID + 2);
	recovery_close(&rs);

	ro.upto = FIRST_TID + 3;	/* not in the log */
	CHECK(recovery_open(&rs, o.fs, &ro, &e) == -1 && e.exit_code == EXIT_OPERATIONAL);
	CHECK(strstr(e.msg, "out of range") != NULL);
	ov_close(&o);
}

static int block_is(ext2_filsys fs, blk64_t blk, uint8_t fill)
{
	uint8_t b[BS], want[BS];

	fill_block(want, fill);
	return io_channel_read_blk64(fs->io, blk, 1, b) == 0 && memcmp(b, want, BS) == 0;
}

/* The io sink through the overlay, the superblocks finished, the file
 * below untouched; then the image reopened sees a recovered filesystem. */
static void test_session_io_sink(void)
{
	struct image_open_opts io = { .writable = 1, .manager = overlay_io_manager };
	struct replay_sink sink;
	struct recovery rs;
	struct ov_fs o;
	struct err e = { 0 };
	ext2_filsys fs2;
	char name[64];
	uint32_t new_seq;

	make_image(0);
	ov_open(&o);
	CHECK(recovery_open(&rs, o.fs, NULL, &e) == 0);
	/* Go on in a second open of the same overlay: the scan is kept. */
	overlay_io_name(o.ov, name, sizeof(name));
	CHECK(image_open(name, &io, &fs2, &e) == 0);
	CHECK(recovery_rebind(&rs, fs2, &e) == 0 && rs.fs == fs2 && rs.log.ntxns == 3);
	io_sink_init(&sink, fs2->io);
	CHECK(recovery_replay(&rs, &sink, &e) == 0);
	CHECK(recovery_finish(&rs, &e) == 0);
	new_seq = rs.result.new_sequence;
	CHECK(block_is(fs2, 3000, 0x11) && block_is(fs2, 3001, 0x22) && block_is(fs2, 3004, 0x33));
	CHECK(block_is(fs2, 3010, ESC) && block_is(fs2, 3100, 0x33));
	recovery_close(&rs);
	image_close(fs2, NULL);
	ext2fs_free(o.fs);

	/* Reopened: needs_recovery is clear and the log is empty. */
	CHECK(image_open(name, &io, &o.fs, &e) == 0);
	CHECK(!ext2fs_has_feature_journal_needs_recovery(o.fs->super));
	CHECK(o.fs->super->s_state & EXT2_VALID_FS);
	CHECK(recovery_open(&rs, o.fs, NULL, &e) == 0);
	CHECK(!recovery_needed(&rs) && rs.log.ntxns == 0 && rs.j->sequence == new_seq);
	recovery_close(&rs);
	ov_close(&o);

	/* Nothing reached the file: it still needs recovery. */
	ov_open(&o);
	CHECK(ext2fs_has_feature_journal_needs_recovery(o.fs->super));
	CHECK(!block_is(o.fs, 3000, 0x11));
	ov_close(&o);
}

/* The rebind refuses a journal that is not the one scanned. */
static void test_rebind_refuses_changed(void)
{
	struct recovery rs;
	struct ov_fs a, b;
	struct err e = { 0 };

	make_image(0);
	ov_open(&a);
	CHECK(recovery_open(&rs, a.fs, NULL, &e) == 0);
	make_image(500);	/* same file, another log */
	ov_open(&b);
	CHECK(recovery_rebind(&rs, b.fs, &e) == -1 && strstr(e.msg, "changed") != NULL);
	recovery_close(&rs);
	ov_close(&b);
	ov_close(&a);
}

static void test_null_sink(void)
{
	struct replay_sink sink;
	struct recovery rs;
	struct ov_fs o;
	struct err e = { 0 };

	make_image(0);
	ov_open(&o);
	CHECK(recovery_open(&rs, o.fs, NULL, &e) == 0);
	null_sink_init(&sink);
	CHECK(recovery_replay(&rs, &sink, &e) == 0 && rs.result.blocks_written == 7);
	CHECK(!block_is(o.fs, 3000, 0x11) && overlay_chunks(o.ov) == 0);
	recovery_close(&rs);
	ov_close(&o);
}

/* A reader with a budget of two blocks: the rest comes through its window,
 * with the same bytes. */
static void test_reader_budget(void)
{
	struct log_reader small, big;
	struct ov_fs o;
	struct err e = { 0 };
	struct journal *j;
	int same = 1;

	make_image(0);
	ov_open(&o);
	CHECK(journal_open(o.fs, NULL, &j, &e) == 0);
	CHECK(log_reader_init(&small, j, j->start, 2 * BS, &e) == 0);
	CHECK(log_reader_init(&big, j, j->start, LOG_READER_BUDGET, &e) == 0);
	for (uint32_t k = 0; k < 40; k++) {
		uint32_t jb = journal_wrap(j, (uint64_t)j->start + (k * 7) % 20);
		const uint8_t *a = log_reader_get(&small, jb, &e);
		uint8_t copy[BS];

		if (!a) {
			same = 0;
			break;
		}
		memcpy(copy, a, BS);
		a = log_reader_get(&big, jb, &e);
		same &= a && memcmp(a, copy, BS) == 0;
	}
	CHECK(same);
	CHECK(small.have == 2 && big.reads <= 2);
	CHECK(log_reader_get(&small, j->maxlen, &e) == NULL);
	log_reader_free(&small);
	log_reader_free(&big);
	journal_close(j);
	ov_close(&o);
}

/* The same image opened with the unix io manager: the reader maps the
 * journal and shows the bytes an unmapped reader reads, before and after
 * it is told to stop mapping; it knows which device blocks are the
 * journal's.  A log that wraps (start) takes both ends of the mapping. */
static void test_reader_mapped(uint32_t start)
{
	struct image_open_opts ro = { 0 };
	struct log_reader mapped, plain;
	struct journal *j, *jo;
	struct ov_fs o;
	ext2_filsys fs;
	struct err e = { 0 };
	int same = 1;

	make_image(start);
	ov_open(&o);
	CHECK(image_open(path, &ro, &fs, &e) == 0);
	CHECK(journal_open(fs, NULL, &j, &e) == 0);
	CHECK(journal_open(o.fs, NULL, &jo, &e) == 0);
	CHECK(log_reader_init(&mapped, j, j->start, LOG_READER_BUDGET, &e) == 0);
	CHECK(log_reader_init(&plain, jo, jo->start, LOG_READER_BUDGET, &e) == 0);
	CHECK(mapped.map != NULL && plain.map == NULL);
	CHECK(log_reader_maps(&mapped, j->map[0]) && log_reader_maps(&mapped, j->map[j->maxlen - 1]));
	CHECK(!log_reader_maps(&mapped, 3000) && !log_reader_maps(&plain, jo->map[0]));
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t k = 0; k < 40; k++) {
			uint32_t jb = journal_wrap(j, (uint64_t)j->start + (k * 7) % 20);
			const uint8_t *a = log_reader_get(&mapped, jb, &e);
			const uint8_t *b = log_reader_get(&plain, jb, &e);

			same &= a && b && memcmp(a, b, BS) == 0;
		}
		/* from here on, the log is read into memory */
		CHECK(log_reader_unmap(&mapped, &e) == 0 && mapped.map == NULL);
	}
	CHECK(same);
	CHECK(mapped.reads > 0);
	log_reader_free(&mapped);
	log_reader_free(&plain);
	journal_close(j);
	journal_close(jo);
	image_close(fs, NULL);
	ov_close(&o);
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return 99;
	close(fd);
	if (system("command -v mke2fs >/dev/null") != 0) {
		printf("SKIP: mke2fs not found\n");
		unlink(path);
		return 77;
	}
	test_engine_runs(0);
	/* A log that starts 3 blocks before the end of the journal wraps in
	 * the middle of the first transaction. */
	test_engine_runs(1024 - 3);
	test_upto();
	test_session_io_sink();
	test_rebind_refuses_changed();
	test_null_sink();
	test_reader_budget();
	test_reader_mapped(0);
	test_reader_mapped(1024 - 3);
	unlink(path);
	return CHECK_SUMMARY();
}
