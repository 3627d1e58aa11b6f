/* test_audit.c: unit tests for the audit's ownership passes (lib/audit/audit.c,
 * lib/audit/owners.c) on small images made by `mke2fs -d` (no root, no loop
 * device) and then edited with libext2fs: a clean image has no ownership
 * findings; a block marked in the bitmap that nothing owns is LEAKED; a
 * file's block free in the bitmap is UNMARKED and names the file; a block
 * two files map is MULTIPLY_OWNED and names both, or the one file twice;
 * adjacent leaked blocks are one finding; a file block inside the inode
 * table is MULTIPLY_OWNED with filesystem metadata. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "lib/audit/audit.h"
#include "lib/audit/findings.h"
#include "tests/unit/check.h"

static char dir[] = "/tmp/ext4da-test-audit.XXXXXX";
static char pristine[64], img[64];

static void write_file(const char *name, size_t len)
{
	char path[128];
	char *b = malloc(len);
	int fd;

	snprintf(path, sizeof(path), "%s/src/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (!b || fd < 0)
		abort();
	memset(b, name[0], len);	/* non-zero: mke2fs -d makes no holes */
	if (write(fd, b, len) != (ssize_t)len || close(fd) != 0)
		abort();
	free(b);
}

/* pristine: a 16 MiB ext4 (4 KiB blocks) with files a and b of three
 * blocks and c of one, written by mke2fs -d from a directory. */
static int make_pristine(void)
{
	char cmd[512], src[96];

	if (!mkdtemp(dir))
		return -1;
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(pristine, sizeof(pristine), "%s/pristine.img", dir);
	snprintf(img, sizeof(img), "%s/t.img", dir);
	if (mkdir(src, 0755) != 0)
		return -1;
	write_file("a", 12288);
	write_file("b", 12288);
	write_file("c", 4096);
	snprintf(cmd, sizeof(cmd),
		 "mke2fs -q -F -t ext4 -b 4096 -d %s %s 16M >/dev/null 2>&1", src, pristine);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh copy of pristine in img, opened for writing with its bitmaps. */
static ext2_filsys open_copy(void)
{
	char cmd[256];
	ext2_filsys fs = NULL;

	snprintf(cmd, sizeof(cmd), "cp %s %s", pristine, img);
	if (system(cmd) != 0)
		abort();
	if (ext2fs_open(img, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs) ||
	    ext2fs_read_bitmaps(fs))
		abort();
	return fs;
}

static ext2_ino_t ino_of(ext2_filsys fs, const char *name)
{
	ext2_ino_t ino = 0;

	if (ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, name, &ino))
		abort();
	return ino;
}

static blk64_t pblk_of(ext2_filsys fs, ext2_ino_t ino, blk64_t lblk)
{
	blk64_t p = 0;

	if (ext2fs_bmap2(fs, ino, NULL, NULL, 0, lblk, NULL, &p) || p == 0)
		abort();
	return p;
}

static void close_fs(ext2_filsys fs)
{
	ext2fs_mark_bb_dirty(fs);
	if (ext2fs_close_free(&fs))
		abort();
}

/* Audit img as ext4da-check opens it (read-only, 64-bit bitmaps). */
static int audit_img(struct findings *f, struct audit_stats *st)
{
	ext2_filsys fs = NULL;
	struct err e = { 0 };
	int rc;

	memset(f, 0, sizeof(*f));
	if (ext2fs_open(img, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs))
		return -1;
	rc = audit_run(fs, NULL, f, st, &e);
	if (rc)
		fprintf(stderr, "audit_run: %s\n", e.msg);
	free(st->dirs_per_group);
	st->dirs_per_group = NULL;
	ext2fs_close_free(&fs);
	return rc;
}

static const struct finding *first(const struct findings *f, enum finding_code c)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].code == c)
			return &f->v[i];
	return NULL;
}

static void test_clean(void)
{
	struct findings f;
	struct audit_stats st;

	close_fs(open_copy());
	CHECK(audit_img(&f, &st) == 0);
	CHECK(f.count[F_LEAKED] == 0);
	CHECK(f.count[F_UNMARKED] == 0);
	CHECK(f.count[F_MULTIPLY_OWNED] == 0);
	CHECK(findings_errors(&f) == 0);
	CHECK(st.files >= 3);
	CHECK(st.leaked_blocks == 0 && st.unmarked_blocks == 0 && st.multiply_owned_blocks == 0);
	findings_free(&f);
}

static void test_leaked(void)
{
	ext2_filsys fs = open_copy();
	struct findings f;
	struct audit_stats st;
	const struct finding *x;
	blk64_t blk = 0;

	/* A free block past the files, set in the bitmap only. */
	CHECK(ext2fs_new_block2(fs, ext2fs_blocks_count(fs->super) / 2, NULL, &blk) == 0);
	ext2fs_mark_block_bitmap2(fs->block_map, blk);
	close_fs(fs);
	CHECK(audit_img(&f, &st) == 0);
	CHECK(f.count[F_LEAKED] == 1);
	x = first(&f, F_LEAKED);
	CHECK(x && x->block == blk && x->blocks == 1 && x->ino == 0);
	CHECK(st.leaked_blocks == 1);
	CHECK(f.count[F_UNMARKED] == 0 && f.count[F_MULTIPLY_OWNED] == 0);
	findings_free(&f);
}

static void test_unmarked(void)
{
	ext2_filsys fs = open_copy();
	ext2_ino_t a = ino_of(fs, "a");
	blk64_t blk = pblk_of(fs, a, 1);
	struct findings f;
	struct audit_stats st;
	const struct finding *x;

	ext2fs_unmark_block_bitmap2(fs->block_map, blk);
	close_fs(fs);
	CHECK(audit_img(&f, &st) == 0);
	CHECK(f.count[F_UNMARKED] == 1);
	x = first(&f, F_UNMARKED);
	CHECK(x && x->block == blk && x->blocks == 1 && x->ino == a);
	CHECK(x && x->has_logical && x->lblk == 1);
	CHECK(st.unmarked_blocks == 1);
	CHECK(f.count[F_LEAKED] == 0 && f.count[F_MULTIPLY_OWNED] == 0);
	findings_free(&f);
}

static void test_multiply_owned(void)
{
	ext2_filsys fs = open_copy();
	ext2_ino_t a = ino_of(fs, "a"), b = ino_of(fs, "b");
	blk64_t shared = pblk_of(fs, a, 0), old = pblk_of(fs, b, 2);
	struct findings f;
	struct audit_stats st;
	const struct finding *x;

	/* b's last block now points at a's first; b's own stays marked. */
	CHECK(ext2fs_bmap2(fs, b, NULL, NULL, BMAP_SET, 2, NULL, &shared) == 0);
	close_fs(fs);
	CHECK(audit_img(&f, &st) == 0);
	CHECK(f.count[F_MULTIPLY_OWNED] == 1);
	x = first(&f, F_MULTIPLY_OWNED);
	CHECK(x && x->block == shared && x->blocks == 1);
	CHECK(x && ((x->ino == a && x->other_ino == b) || (x->ino == b && x->other_ino == a)));
	CHECK(st.multiply_owned_blocks == 1);
	/* The block b no longer maps is in use and owned by nothing. */
	CHECK(f.count[F_LEAKED] == 1);
	x = first(&f, F_LEAKED);
	CHECK(x && x->block == old);
	CHECK(f.count[F_UNMARKED] == 0);
	findings_free(&f);
}

static void test_claimed_twice_by_one_file(void)
{
	ext2_filsys fs = open_copy();
	ext2_ino_t a = ino_of(fs, "a");
	blk64_t shared = pblk_of(fs, a, 0), old = pblk_of(fs, a, 2);
	struct findings f;
	struct audit_stats st;
	const struct finding *x;

	/* a's block 2 now points at its own block 0. */
	CHECK(ext2fs_bmap2(fs, a, NULL, NULL, BMAP_SET, 2, NULL, &shared) == 0);
	close_fs(fs);
	CHECK(audit_img(&f, &st) == 0);
	CHECK(f.count[F_MULTIPLY_OWNED] == 1);
	x = first(&f, F_MULTIPLY_OWNED);
	CHECK(x && x->block == shared && x->ino == a && x->other_ino == a);
	CHECK(x && strstr(x->detail, "claimed twice by inode") != NULL);
	CHECK(st.multiply_owned_blocks == 1);
	CHECK(f.count[F_LEAKED] == 1);
	x = first(&f, F_LEAKED);
	CHECK(x && x->block == old);
	findings_free(&f);
}

/* Three bitmap bits nothing owns, side by side: one finding of three
 * blocks, not three. */
static void test_leaked_run(void)
{
	ext2_filsys fs = open_copy();
	blk64_t blk = 0;
	struct findings f;
	struct audit_stats st;
	const struct finding *x;

	CHECK(ext2fs_new_block2(fs, ext2fs_blocks_count(fs->super) / 2, NULL, &blk) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(!ext2fs_test_block_bitmap2(fs->block_map, blk + i));
	ext2fs_mark_block_bitmap_range2(fs->block_map, blk, 3);
	close_fs(fs);
	CHECK(audit_img(&f, &st) == 0);
	CHECK(f.count[F_LEAKED] == 1);
	x = first(&f, F_LEAKED);
	CHECK(x && x->block == blk && x->blocks == 3);
	CHECK(st.leaked_blocks == 3);
	findings_free(&f);
}

static void test_metadata_owned(void)
{
	ext2_filsys fs = open_copy();
	ext2_ino_t c = ino_of(fs, "c");
	blk64_t itable = ext2fs_inode_table_loc(fs, 0) + 1, old = pblk_of(fs, c, 0);
	struct findings f;
	struct audit_stats st;
	const struct finding *x;

	CHECK(ext2fs_bmap2(fs, c, NULL, NULL, BMAP_SET, 0, NULL, &itable) == 0);
	close_fs(fs);
	CHECK(audit_img(&f, &st) == 0);
	CHECK(f.count[F_MULTIPLY_OWNED] == 1);
	x = first(&f, F_MULTIPLY_OWNED);
	CHECK(x && x->block == itable && x->ino == 0 && x->other_ino == c);
	CHECK(x && strstr(x->detail, "filesystem metadata") != NULL);
	CHECK(f.count[F_LEAKED] == 1);
	x = first(&f, F_LEAKED);
	CHECK(x && x->block == old);
	findings_free(&f);
}

int main(void)
{
	char cmd[128];
	int rc;

	if (make_pristine() != 0) {
		/* mke2fs is part of e2fsprogs, a build dependency: its absence
		 * is an error here, not a reason to skip. */
		fprintf(stderr, "test_audit: mke2fs -d failed (is e2fsprogs installed?)\n");
		return 1;
	}
	test_clean();
	test_leaked();
	test_unmarked();
	test_multiply_owned();
	test_claimed_twice_by_one_file();
	test_leaked_run();
	test_metadata_owned();
	rc = CHECK_SUMMARY();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_audit: could not remove %s\n", dir);
	return rc;
}
