/* test_scan_resume.c: a journal scan that goes on from the previous crash
 * state's walk (struct scan_resume) finds exactly what a walk from s_start
 * finds, and goes on only when that is safe.  The stack is a crash
 * cursor's: a mapped mke2fs image, a tracked overlay that receives the
 * log's writes, and an empty overlay on top that the journal is read
 * through.  Transactions are written into the journal here (jbd2 v2, no
 * checksums, 32-bit tags), one state at a time.
 *
 * Cases: transactions appended after the walked part (goes on); a torn
 * transaction completed later (goes on from before it); a block inside the
 * walked part rewritten, even with the same bytes (walks again); the log
 * wrapping past the end of the journal, appended to and then rewritten
 * after the wrap; a new journal superblock (s_start moved); the tracked
 * overlay reset (a reordered state's subset dropped); and
 * EXT4DA_NO_STATE_CACHE. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "lib/blockdev/image.h"
#include "lib/blockdev/overlay.h"
#include "lib/core/fdio.h"
#include "lib/journal/journal_scan.h"
#include "tests/unit/check.h"

#define BS 4096
#define FS_BLOCKS 4096

static char path[] = "/tmp/ext4da-test-resume.XXXXXX";

struct stack {
	int fd;
	uint64_t size;
	void *map;
	struct overlay *base, *durable, *view;
	ext2_filsys wfs;	/* writes the log, into durable */
	ext2_filsys rfs;	/* reads it, through view */
	struct journal *wj;	/* the journal as the writer sees it */
};

static ext2_filsys open_on(struct overlay *ov)
{
	struct image_open_opts io = { .writable = 1, .manager = overlay_io_manager };
	struct err e = { 0 };
	ext2_filsys fs;
	char name[64];

	overlay_io_name(ov, name, sizeof(name));
	if (image_open(name, &io, &fs, &e)) {
		fprintf(stderr, "open: %s\n", e.msg);
		exit(99);
	}
	return fs;
}

static void stack_open(struct stack *s)
{
	char cmd[256];
	struct err e = { 0 };

	snprintf(cmd, sizeof(cmd),
		 "mke2fs -q -F -t ext4 -b %d -J size=4 -O ^metadata_csum,^64bit %s %d >/dev/null",
		 BS, path, FS_BLOCKS);
	if (system(cmd) != 0)
		exit(99);
	s->fd = open(path, O_RDONLY);
	if (s->fd < 0 || fd_size_bytes(s->fd, &s->size))
		exit(99);
	s->map = mmap(NULL, s->size, PROT_READ, MAP_SHARED, s->fd, 0);
	if (s->map == MAP_FAILED)
		exit(99);
	s->base = overlay_new_mapped(s->map, s->size);
	s->durable = overlay_new(-1, 0, s->base);
	s->view = overlay_new(-1, 0, s->durable);
	if (!s->base || !s->durable || !s->view)
		exit(99);
	overlay_track_writes(s->durable);
	s->wfs = open_on(s->durable);
	s->rfs = open_on(s->view);
	if (journal_open(s->wfs, NULL, &s->wj, &e)) {
		fprintf(stderr, "journal: %s\n", e.msg);
		exit(99);
	}
}

static void stack_close(struct stack *s)
{
	journal_close(s->wj);
	ext2fs_free(s->wfs);
	ext2fs_free(s->rfs);
	overlay_free(s->view);
	overlay_free(s->durable);
	overlay_free(s->base);
	munmap(s->map, s->size);
	close(s->fd);
}

static void header(uint8_t *b, uint32_t type, uint32_t tid)
{
	memset(b, 0, BS);
	put_be32(b, JBD2_HDR_MAGIC, JBD2_MAGIC);
	put_be32(b, JBD2_HDR_TYPE, type);
	put_be32(b, JBD2_HDR_SEQUENCE, tid);
}

static void put_at(struct stack *s, uint32_t pos, const uint8_t *b)
{
	if (io_channel_write_blk64(s->wj->io, s->wj->map[pos], 1, b))
		abort();
}

/* A transaction of n copies of home blocks 3000.. (fill tid) at *pos,
 * with its commit unless torn; returns the position of its commit block. */
static uint32_t write_txn(struct stack *s, uint32_t *pos, uint32_t tid, int n, int torn)
{
	uint8_t b[BS];
	size_t off = JBD2_HDR_SIZE;
	uint32_t commit;

	header(b, JBD2_DESCRIPTOR, tid);
	for (int i = 0; i < n; i++) {
		uint16_t flags = (i ? JBD2_FLAG_SAME_UUID : 0) | (i + 1 == n ? JBD2_FLAG_LAST_TAG : 0);

		put_be32(b, off, 3000 + (uint32_t)i + tid % 7);
		b[off + 6] = flags >> 8;
		b[off + 7] = flags & 0xff;
		off += 8 + (i ? 0 : 16);
	}
	put_at(s, *pos, b);
	*pos = journal_next(s->wj, *pos);
	for (int i = 0; i < n; i++) {
		memset(b, (int)tid, BS);
		put_at(s, *pos, b);
		*pos = journal_next(s->wj, *pos);
	}
	commit = *pos;
	if (!torn) {
		header(b, JBD2_COMMIT, tid);
		put_be32(b, JCOMMIT_SEC + 4, 1000 + tid);
		put_at(s, *pos, b);
	}
	*pos = journal_next(s->wj, *pos);
	return commit;
}

/* A log starting at journal block start with tid first_tid. */
static void set_super(struct stack *s, uint32_t start, uint32_t first_tid)
{
	struct err e = { 0 };

	put_be32(s->wj->sb, JSB_FEATURE_INCOMPAT, 0);
	put_be32(s->wj->sb, JSB_START, start);
	put_be32(s->wj->sb, JSB_SEQUENCE, first_tid);
	if (journal_write_super(s->wj, &e))
		exit(99);
}

static int same_txn(const struct jtxn *a, const struct jtxn *b)
{
	return a->tid == b->tid && a->first_block == b->first_block &&
	       a->last_block == b->last_block && a->ntags == b->ntags &&
	       a->nrevokes == b->nrevokes && a->descriptor_blocks == b->descriptor_blocks &&
	       a->revoke_blocks == b->revoke_blocks && a->has_commit == b->has_commit &&
	       a->commit_sec == b->commit_sec && a->commit_nsec == b->commit_nsec &&
	       a->state == b->state && a->csum == b->csum &&
	       a->bad_revoke_count == b->bad_revoke_count &&
	       (!a->ntags || !memcmp(a->tags, b->tags, a->ntags * sizeof(*a->tags))) &&
	       (!a->nrevokes || !memcmp(a->revokes, b->revokes, a->nrevokes * sizeof(*a->revokes)));
}

static int same_log(const struct jlog *a, const struct jlog *b)
{
	if (a->ntxns != b->ntxns || a->start_tid != b->start_tid || a->end_tid != b->end_tid ||
	    a->failed_commit != b->failed_commit || a->corrupt_commit != b->corrupt_commit ||
	    a->last_tid != b->last_tid || a->fatal != b->fatal || a->stop_block != b->stop_block)
		return 0;
	for (size_t i = 0; i < a->ntxns; i++)
		if (!same_txn(&a->txns[i], &b->txns[i]))
			return 0;
	return 1;
}

/* Scan the state the stack holds now, with r and without; the two must
 * agree.  Returns whether r went on from its last walk. */
static int scan_state(struct stack *s, struct scan_resume *r, size_t want_txns)
{
	struct jlog with, without;
	struct journal *j;
	struct err e = { 0 };
	uint64_t before = r->resumed;

	if (journal_open(s->rfs, NULL, &j, &e) || journal_scan_resume(j, &with, r, &e) ||
	    journal_scan(j, &without, &e)) {
		fprintf(stderr, "scan: %s\n", e.msg);
		exit(99);
	}
	CHECK(same_log(&with, &without));
	CHECK(jlog_committed(&with) == want_txns);
	CHECK(!want_txns || (with.data && with.data->peek));	/* read in place */
	jlog_free(&with);
	jlog_free(&without);
	journal_close(j);
	return r->resumed > before;
}

static void test_append_and_rewrite(void)
{
	struct stack s;
	struct scan_resume r;
	uint32_t pos, tid = 20, c1;
	uint8_t b[BS];

	stack_open(&s);
	scan_resume_init(&r);
	pos = s.wj->first;
	set_super(&s, pos, tid);
	c1 = write_txn(&s, &pos, tid++, 3, 0);
	write_txn(&s, &pos, tid++, 2, 0);
	CHECK(!scan_state(&s, &r, 2));		/* first walk: from s_start */
	write_txn(&s, &pos, tid++, 4, 0);
	CHECK(scan_state(&s, &r, 3));		/* appended: goes on */
	CHECK(scan_state(&s, &r, 3));		/* nothing new: goes on */
	write_txn(&s, &pos, tid, 1, 1);		/* torn */
	CHECK(scan_state(&s, &r, 3));
	pos -= 3;
	write_txn(&s, &pos, tid++, 1, 0);	/* its commit arrives */
	CHECK(scan_state(&s, &r, 4));
	/* A block inside the walked part written again, with the same bytes:
	 * a write is a write. */
	if (io_channel_read_blk64(s.wj->io, s.wj->map[c1], 1, b))
		abort();
	put_at(&s, c1, b);
	CHECK(!scan_state(&s, &r, 4));
	CHECK(scan_state(&s, &r, 4));
	/* Now one that changes it: the first commit gone, nothing replays. */
	memset(b, 0, BS);
	put_at(&s, c1, b);
	CHECK(!scan_state(&s, &r, 0));
	CHECK(!scan_state(&s, &r, 0));		/* no clean transaction to go on from */
	scan_resume_free(&r);
	stack_close(&s);
}

static void test_wrap(void)
{
	struct stack s;
	struct scan_resume r;
	uint32_t start, pos, tid = 500, after_wrap;
	uint8_t b[BS];

	stack_open(&s);
	scan_resume_init(&r);
	start = s.wj->last - 6;
	pos = start;
	set_super(&s, start, tid);
	write_txn(&s, &pos, tid++, 2, 0);	/* 4 blocks */
	write_txn(&s, &pos, tid++, 3, 0);	/* 5 blocks: wraps */
	CHECK(pos < start);
	after_wrap = s.wj->first + 1;
	CHECK(!scan_state(&s, &r, 2));
	write_txn(&s, &pos, tid++, 2, 0);
	CHECK(scan_state(&s, &r, 3));
	/* A write past the wrap, inside the walked part. */
	memset(b, 0x5a, BS);
	put_at(&s, after_wrap, b);
	CHECK(!scan_state(&s, &r, 3));
	CHECK(scan_state(&s, &r, 3));
	/* The journal superblock moves s_start on: walk again. */
	set_super(&s, journal_next(s.wj, journal_next(s.wj, journal_next(s.wj, journal_next(s.wj, start)))), 501);
	CHECK(!scan_state(&s, &r, 2));
	CHECK(scan_state(&s, &r, 2));
	/* The overlay the writes are in is reset (a subset dropped): its
	 * identity changes, nothing can be told, walk again. */
	overlay_reset(s.durable);
	CHECK(!scan_state(&s, &r, 0));
	scan_resume_free(&r);
	stack_close(&s);
}

static void test_switch_off(void)
{
	struct stack s;
	struct scan_resume r;
	uint32_t pos, tid = 9;

	setenv("EXT4DA_NO_STATE_CACHE", "1", 1);
	stack_open(&s);
	scan_resume_init(&r);
	pos = s.wj->first;
	set_super(&s, pos, tid);
	write_txn(&s, &pos, tid++, 3, 0);
	CHECK(!scan_state(&s, &r, 1));
	write_txn(&s, &pos, tid++, 3, 0);
	CHECK(!scan_state(&s, &r, 2));
	CHECK(r.resumed == 0 && r.full == 2);
	scan_resume_free(&r);
	stack_close(&s);
	unsetenv("EXT4DA_NO_STATE_CACHE");
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return 99;
	close(fd);
	test_append_and_rewrite();
	test_wrap();
	test_switch_off();
	unlink(path);
	return CHECK_SUMMARY();
}
