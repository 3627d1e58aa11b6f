/* test_campaign.c: unit tests for the crash campaign as a library object,
 * without root: a base made by mke2fs in a temporary file, a dm-log-writes
 * log built byte by byte.  Covered: write generations of the overlay and
 * the checksum cache that checks them; the layout classifier of --list;
 * and the campaign: opened once, the base mapped, named marks resolved,
 * states reached from the cursor, written out whole, and opened. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crash/campaign.h"
#include "lib/blockdev/image.h"
#include "lib/crash/layout.h"
#include "lib/blockdev/overlay.h"
#include "lib/journal/verify_cache.h"
#include "tests/unit/check.h"

#define SS 512
#define FS_BLOCK 4096

static char dir[] = "/tmp/ext4da-test-campaign.XXXXXX";
static char base[128], logpath[128];

/* ---- generations and the checksum cache ------------------------------ */

static void test_generations(void)
{
	uint8_t img[4 * OVERLAY_CHUNK] = { 0 }, b[OVERLAY_CHUNK];
	struct overlay *low = overlay_new_mapped(img, sizeof(img));
	struct overlay *up = overlay_new(-1, 0, low);
	uint64_t g1, g2, g3;

	img[5] = 42;
	CHECK(overlay_read(low, 0, b, 16) == 0 && b[5] == 42);	/* reads the mapping */
	CHECK(overlay_generation(up, 0, OVERLAY_CHUNK) == 0);	/* the image's own bytes */
	overlay_write(low, 10, "x", 1);
	g1 = overlay_generation(up, 0, OVERLAY_CHUNK);
	CHECK(g1 != 0);
	CHECK(overlay_generation(up, OVERLAY_CHUNK, OVERLAY_CHUNK) == 0);
	overlay_write(low, 11, "y", 1);		/* every write is a new generation */
	g2 = overlay_generation(up, 0, 1);
	CHECK(g2 > g1);
	overlay_write(up, 0, "z", 1);		/* the upper layer hides the lower */
	g3 = overlay_generation(up, 0, 1);
	CHECK(g3 > g2 && overlay_generation(low, 0, 1) == g2);
	CHECK(overlay_generation(up, 0, 2 * OVERLAY_CHUNK) == g3);	/* the newest over a range */
	overlay_reset(up);			/* dropped: the lower one shows again */
	CHECK(overlay_generation(up, 0, 1) == g2);
	overlay_reset(low);
	CHECK(overlay_generation(up, 0, 1) == 0);
	overlay_free(up);
	overlay_free(low);
}

static void test_verify_cache(void)
{
	uint8_t img[8 * FS_BLOCK] = { 0 };
	struct overlay *low = overlay_new_mapped(img, sizeof(img));
	struct overlay *up = overlay_new(-1, 0, low);
	struct verify_cache vc;

	CHECK(verify_cache_init(&vc) == 0);
	verify_cache_note(&vc, 3, FS_BLOCK, 7);		/* unbound: remembers nothing */
	CHECK(!verify_cache_known(&vc, 3, FS_BLOCK, 7));
	verify_cache_bind(&vc, up);
	verify_cache_note(&vc, 3, FS_BLOCK, 7);
	CHECK(verify_cache_known(&vc, 3, FS_BLOCK, 7));
	CHECK(!verify_cache_known(&vc, 3, FS_BLOCK, 8));	/* another tid */
	CHECK(!verify_cache_known(&vc, 4, FS_BLOCK, 7));	/* another block */
	CHECK(!verify_cache_known(&vc, 3, 1024, 7));		/* another block size */
	/* A write to the block, at any layer, voids the entry; nobody says so. */
	overlay_write(up, 3 * FS_BLOCK + 100, "w", 1);
	CHECK(!verify_cache_known(&vc, 3, FS_BLOCK, 7));
	/* Dropping that write restores the bytes, and the entry holds again. */
	overlay_reset(up);
	CHECK(verify_cache_known(&vc, 3, FS_BLOCK, 7));
	overlay_write(low, 3 * FS_BLOCK, "w", 1);
	CHECK(!verify_cache_known(&vc, 3, FS_BLOCK, 7));
	verify_cache_note(&vc, 3, FS_BLOCK, 7);
	CHECK(verify_cache_known(&vc, 3, FS_BLOCK, 7));
	/* Written in place with the same bytes is still a new generation. */
	overlay_write(low, 3 * FS_BLOCK, "w", 1);
	CHECK(!verify_cache_known(&vc, 3, FS_BLOCK, 7));
	CHECK(vc.hits > 0 && vc.misses > 0);
	/* A block borrowed from the mapped log (as the cursor applies whole
	 * chunks) voids the entry like a copied write, and so does borrowing
	 * the very same bytes again. */
	{
		static uint8_t logged[FS_BLOCK];

		verify_cache_note(&vc, 3, FS_BLOCK, 7);
		CHECK(verify_cache_known(&vc, 3, FS_BLOCK, 7));
		CHECK(overlay_write_shared(low, 3 * FS_BLOCK, logged, FS_BLOCK) == 0);
		CHECK(!verify_cache_known(&vc, 3, FS_BLOCK, 7));
		verify_cache_note(&vc, 3, FS_BLOCK, 7);
		CHECK(verify_cache_known(&vc, 3, FS_BLOCK, 7));
		CHECK(overlay_write_shared(low, 3 * FS_BLOCK, logged, FS_BLOCK) == 0);
		CHECK(!verify_cache_known(&vc, 3, FS_BLOCK, 7));
		/* A partial write into a borrowed chunk copies it: a new generation. */
		verify_cache_note(&vc, 3, FS_BLOCK, 7);
		overlay_write(low, 3 * FS_BLOCK + 9, "v", 1);
		CHECK(!verify_cache_known(&vc, 3, FS_BLOCK, 7));
		CHECK(logged[9] == 0);
	}
	/* Another block in the same chunk (1 KiB blocks): both go stale. */
	verify_cache_free(&vc);
	CHECK(verify_cache_init(&vc) == 0);
	verify_cache_bind(&vc, up);
	verify_cache_note(&vc, 0, 1024, 1);
	verify_cache_note(&vc, 1, 1024, 1);
	overlay_write(up, 1024, "q", 1);
	CHECK(!verify_cache_known(&vc, 1, 1024, 1));
	verify_cache_free(&vc);
	overlay_free(up);
	overlay_free(low);
}

/* ---- fixtures: a base image and a log --------------------------------- */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void emit(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		abort();
}

/* One entry: header sector, mark text or payload of nr sectors of fill. */
static void entry(int fd, uint64_t sector, uint64_t nr, uint64_t flags, const char *mark,
		  uint8_t fill)
{
	uint8_t h[SS] = { 0 }, d[SS];

	put_le(h, sector, 8);
	put_le(h + 8, nr, 8);
	put_le(h + 16, flags, 8);
	put_le(h + 24, mark ? strlen(mark) : 0, 8);
	if (mark)
		memcpy(h + 32, mark, strlen(mark));
	emit(fd, h, SS);
	memset(d, fill, SS);
	for (uint64_t i = 0; !(flags & (WL_MARK | WL_DISCARD)) && i < nr; i++)
		emit(fd, d, SS);
}

/* Far in the free data area of an 8 MiB ext4 with 4 KiB blocks. */
#define DATA_SECTOR (1800ULL * FS_BLOCK / SS)

/* 0 write, 1 FLUSH write, 2 MARK "one", 3 write, 4 FUA write, 5 MARK
 * "two", 6 write (in flight at the end). */
static void make_fixtures(void)
{
	uint8_t s[SS] = { 0 };
	char cmd[300];
	int fd;

	if (!mkdtemp(dir))
		abort();
	snprintf(base, sizeof(base), "%s/base.img", dir);
	snprintf(logpath, sizeof(logpath), "%s/log.img", dir);
	snprintf(cmd, sizeof(cmd), "mke2fs -q -F -t ext4 -b 4096 -E nodiscard %s 8M >/dev/null", base);
	if (system(cmd) != 0)
		abort();
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		abort();
	put_le(s, WL_MAGIC, 8);
	put_le(s + 8, WL_VERSION, 8);
	put_le(s + 16, 7, 8);
	put_le(s + 24, SS, 4);
	emit(fd, s, SS);
	entry(fd, DATA_SECTOR, 8, 0, NULL, 0xa1);
	entry(fd, DATA_SECTOR + 8, 8, WL_FLUSH, NULL, 0xa2);
	entry(fd, 0, 0, WL_MARK, "one", 0);
	entry(fd, DATA_SECTOR, 8, 0, NULL, 0xa3);
	entry(fd, DATA_SECTOR + 16, 8, WL_FUA, NULL, 0xa4);
	entry(fd, 0, 0, WL_MARK, "two", 0);
	entry(fd, DATA_SECTOR + 24, 8, 0, NULL, 0xa5);
	close(fd);
}

static int byte_at(struct overlay *ov, uint64_t sector)
{
	uint8_t b;

	return overlay_read(ov, sector * SS, &b, 1) ? -1 : b;
}

/* ---- the layout classifier ------------------------------------------- */

static void test_layout(void)
{
	struct image_open_opts o = { 0 };
	struct fs_layout l;
	struct err e = { 0 };
	ext2_filsys fs;
	uint64_t bs = FS_BLOCK;

	CHECK(image_open(base, &o, &fs, &e) == 0);
	if (!fs)
		return;
	CHECK(fs_layout_build(fs, &l, &e) == 0);
	CHECK(fs_layout_classify(&l, 1024, 1024) == 1U << LK_SUPERBLOCK);
	CHECK(fs_layout_classify(&l, bs, bs) == 1U << LK_GROUP_DESC);
	CHECK(fs_layout_classify(&l, ext2fs_block_bitmap_loc(fs, 0) * bs, bs) == 1U << LK_BITMAP);
	CHECK(fs_layout_classify(&l, ext2fs_inode_bitmap_loc(fs, 0) * bs, 512) == 1U << LK_BITMAP);
	CHECK(fs_layout_classify(&l, (ext2fs_inode_table_loc(fs, 0) + 1) * bs, bs) ==
	      1U << LK_INODE_TABLE);
	CHECK(fs_layout_classify(&l, DATA_SECTOR * SS, 8 * SS) == 1U << LK_DATA);
	CHECK(fs_layout_classify(&l, 8ULL << 20, SS) == 1U << LK_OUTSIDE);
	/* A write across the end of the filesystem hits both sides. */
	CHECK(fs_layout_classify(&l, (8ULL << 20) - SS, 2 * SS) ==
	      ((1U << LK_DATA) | (1U << LK_OUTSIDE)));
	{
		blk64_t jblk = 0;
		struct ext2_inode ino;

		/* The journal's first block, from its inode's extent. */
		if (ext2fs_read_inode(fs, fs->super->s_journal_inum, &ino) == 0 &&
		    ext2fs_bmap2(fs, fs->super->s_journal_inum, &ino, NULL, 0, 0, NULL, &jblk) == 0)
			CHECK(fs_layout_classify(&l, jblk * bs, bs) == 1U << LK_JOURNAL);
		CHECK(jblk != 0);
	}
	/* One write over a bitmap and the next block is both. */
	CHECK(fs_layout_classify(&l, ext2fs_block_bitmap_loc(fs, 0) * bs, 2 * bs) & 1U << LK_BITMAP);
	CHECK(!strcmp(layout_kind_name(LK_INODE_TABLE), "inode table"));
	fs_layout_free(&l);
	ext2fs_close_free(&fs);
}

/* ---- the campaign ------------------------------------------------------ */

static void test_campaign(void)
{
	struct campaign_opts o = { .base = base, .log = logpath, .plan = { .mode = POINTS_FLUSH } };
	struct campaign c;
	struct crash_cursor cur;
	struct overlay *top;
	struct campaign_state st;
	struct err e = { 0 };
	char out[160];
	struct stat sb;

	CHECK(campaign_open(&o, &c, &e) == 0);
	CHECK(c.base_map != NULL);			/* the base is read once, mapped */
	CHECK(c.plan.n == 2 && c.plan.states[0].entry == 1 && c.plan.states[1].entry == 4);
	CHECK(campaign_is_mark(&c, 2, "one") && !campaign_is_mark(&c, 2, "two"));
	{
		/* Payloads come straight from the mapped log; marks have none. */
		const uint8_t *p = writelog_payload(c.wl, &c.idx.entries[3]);

		CHECK(p && p[0] == 0xa3 && p[8 * SS - 1] == 0xa3);
		CHECK(writelog_payload(c.wl, &c.idx.entries[2]) != NULL || c.idx.entries[2].payload_len == 0);
	}
	CHECK(campaign_cursor(&c, &cur, &e) == 0);
	CHECK(campaign_seek(&c, &cur, 0, &top, &e) == 0);
	CHECK(byte_at(top, DATA_SECTOR) == 0xa1 && byte_at(top, DATA_SECTOR + 8) == 0xa2);
	CHECK(campaign_seek(&c, &cur, 1, &top, &e) == 0);
	CHECK(byte_at(top, DATA_SECTOR) == 0xa3 && byte_at(top, DATA_SECTOR + 16) == 0xa4);
	CHECK(byte_at(top, DATA_SECTOR + 24) != 0xa5);	/* after the last flush: not durable */
	/* Written out from where the cursor stands: the whole image, whole. */
	snprintf(out, sizeof(out), "%s/state-1.img", dir);
	CHECK(campaign_write_image(&c, top, out, 0, &e) == 0);
	CHECK(stat(out, &sb) == 0 && (uint64_t)sb.st_size == c.base_size);
	{
		int fd = open(out, O_RDONLY);
		uint8_t b = 0;

		CHECK(fd >= 0 && pread(fd, &b, 1, (off_t)(DATA_SECTOR * SS)) == 1 && b == 0xa3);
		if (fd >= 0)
			close(fd);
	}
	/* An existing file is refused, and nothing else is left in the directory. */
	CHECK(campaign_write_image(&c, top, out, 0, &e) != 0 && strstr(e.msg, "already exists"));
	CHECK(campaign_write_image(&c, top, out, 1, &e) == 0);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s | wc -l)\" -eq 3", dir);
		CHECK(system(cmd) == 0);	/* base.img log.img state-1.img */
	}
	/* A state opened at the cursor: replayed, audited, nothing failing. */
	CHECK(campaign_state_open(&c, &cur, 1, 0, &st) == 0);
	CHECK(st.opened && !st.unreadable && findings_errors(&st.findings) == 0);
	campaign_state_close(&st);
	/* Going back to state 0 starts again from the base. */
	CHECK(campaign_seek(&c, &cur, 0, &top, &e) == 0 && byte_at(top, DATA_SECTOR) == 0xa1);
	CHECK(campaign_seek(&c, &cur, 2, &top, &e) != 0 && e.exit_code == EXIT_USAGE);
	crash_cursor_free(&cur);
	campaign_close(&c);

	/* Named marks: --points mark:NAME and --start-mark/--end-mark. */
	o.mark_names = "two,one";
	CHECK(campaign_open(&o, &c, &e) == 0);
	CHECK(c.plan.n == 2 && c.plan.states[0].entry == 2 && c.plan.states[1].entry == 5);
	campaign_close(&c);
	o.mark_names = NULL;
	o.plan.mode = POINTS_EVERY;
	o.start_mark = "one";
	o.end_mark = "two";
	CHECK(campaign_open(&o, &c, &e) == 0);
	CHECK(c.plan.n == 4 && c.plan.states[0].entry == 2 && c.plan.states[3].entry == 5);
	campaign_close(&c);
	o.end_mark = "three";
	CHECK(campaign_open(&o, &c, &e) != 0 && e.exit_code == EXIT_USAGE &&
	      strstr(e.msg, "--end-mark three"));
	campaign_close(&c);
}

int main(void)
{
	char cmd[200];

	test_generations();
	test_verify_cache();
	make_fixtures();
	test_layout();
	test_campaign();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return CHECK_SUMMARY();
}
