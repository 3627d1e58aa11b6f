/* test_overlay.c: unit tests for the copy-on-write overlay and its
 * io_manager, on temporary files (no root, no loop device): reads fall
 * through, writes stay in memory at any alignment, layers see what is
 * below them, reset forgets, materialize writes the view into a copy,
 * borrowed chunks are copied before a write changes them, and
 * libext2fs makes and reopens a filesystem through the overlay while the
 * file below stays untouched. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "lib/blockdev/overlay.h"
#include "tests/unit/check.h"

#define BASE_BYTES (64 * 1024)

/* A temporary file of len bytes: byte i is (i * 7 + 3) & 0xff, or zeros. */
static int temp_file(size_t len, int pattern)
{
	char path[] = "/tmp/ext4da-test-overlay.XXXXXX";
	int fd = mkstemp(path);
	uint8_t *b = calloc(1, len);

	if (fd < 0 || !b)
		abort();
	unlink(path);
	for (size_t i = 0; pattern && i < len; i++)
		b[i] = (uint8_t)(i * 7 + 3);
	if (pwrite(fd, b, len, 0) != (ssize_t)len)
		abort();
	free(b);
	return fd;
}

static uint8_t base_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + 3);
}

/* Does [off, off + len) of ov read as the base pattern? */
static int reads_base(struct overlay *ov, uint64_t off, size_t len)
{
	uint8_t *b = malloc(len);
	int ok = b && overlay_read(ov, off, b, len) == 0;

	for (size_t i = 0; ok && i < len; i++)
		ok = b[i] == base_byte(off + i);
	free(b);
	return ok;
}

static int file_is_base(int fd)
{
	uint8_t b[BASE_BYTES];

	if (pread(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return 0;
	for (size_t i = 0; i < sizeof(b); i++)
		if (b[i] != base_byte(i))
			return 0;
	return 1;
}

static void test_read_write(void)
{
	int fd = temp_file(BASE_BYTES, 1);
	struct overlay *ov = overlay_new(fd, BASE_BYTES, NULL);
	uint8_t w[3 * OVERLAY_CHUNK], r[sizeof(w) + 200];

	CHECK(ov && overlay_size(ov) == BASE_BYTES && overlay_chunks(ov) == 0);
	CHECK(reads_base(ov, 0, BASE_BYTES));
	CHECK(reads_base(ov, 4000, 5000));

	/* Unaligned, across three chunk boundaries: four chunks touched. */
	memset(w, 0xab, sizeof(w));
	CHECK(overlay_write(ov, 100, w, sizeof(w)) == 0);
	CHECK(overlay_chunks(ov) == 4);
	CHECK(overlay_read(ov, 0, r, sizeof(r)) == 0);
	for (size_t i = 0; i < sizeof(r); i++) {
		uint8_t want = i >= 100 && i < 100 + sizeof(w) ? 0xab : base_byte(i);

		if (r[i] != want) {
			CHECK(r[i] == want);
			break;
		}
	}
	/* The partly written chunks kept the base around the write. */
	CHECK(reads_base(ov, 0, 100));
	CHECK(reads_base(ov, 100 + sizeof(w), 4 * OVERLAY_CHUNK - 100 - sizeof(w)));
	/* Nothing reached the file. */
	CHECK(file_is_base(fd));

	/* A zeroed range reads as zeros; a whole-chunk write needs no read. */
	CHECK(overlay_zero(ov, 10 * OVERLAY_CHUNK + 1, 10) == 0);
	CHECK(overlay_read(ov, 10 * OVERLAY_CHUNK, r, 12) == 0);
	CHECK(r[0] == base_byte(10 * OVERLAY_CHUNK) && r[1] == 0 && r[10] == 0 &&
	      r[11] == base_byte(10 * OVERLAY_CHUNK + 11));

	/* Reset forgets every write. */
	overlay_reset(ov);
	CHECK(overlay_chunks(ov) == 0);
	CHECK(reads_base(ov, 0, BASE_BYTES));
	overlay_free(ov);

	/* A file shorter than the overlay reads zeros past its end. */
	ov = overlay_new(fd, 2 * BASE_BYTES, NULL);
	CHECK(overlay_read(ov, BASE_BYTES - 2, r, 6) == 0);
	CHECK(r[0] == base_byte(BASE_BYTES - 2) && r[1] == base_byte(BASE_BYTES - 1) && r[2] == 0 &&
	      r[5] == 0);
	overlay_free(ov);
	close(fd);
}

static void test_layers_and_materialize(void)
{
	int fd = temp_file(BASE_BYTES, 1), copy = temp_file(BASE_BYTES, 1);
	struct overlay *low = overlay_new(fd, BASE_BYTES, NULL);
	struct overlay *up = overlay_new(-1, 0, low);
	uint8_t one = 1, two = 2, three = 3, r[2 * OVERLAY_CHUNK];

	CHECK(low && up && overlay_size(up) == BASE_BYTES);
	CHECK(overlay_write(low, 5, &one, 1) == 0);
	/* The upper layer sees the lower one's writes... */
	CHECK(overlay_read(up, 5, r, 1) == 0 && r[0] == 1);
	/* ...and its own writes stay its own. */
	CHECK(overlay_write(up, OVERLAY_CHUNK + 9, &two, 1) == 0);
	CHECK(overlay_read(low, OVERLAY_CHUNK + 9, r, 1) == 0 && r[0] == base_byte(OVERLAY_CHUNK + 9));
	CHECK(overlay_chunks(low) == 1 && overlay_chunks(up) == 1);

	/* Upper's chunk was copied when first written: a later lower write
	 * inside it is hidden, one elsewhere shows through. */
	CHECK(overlay_write(low, OVERLAY_CHUNK + 20, &three, 1) == 0);
	CHECK(overlay_write(low, 7, &three, 1) == 0);
	CHECK(overlay_read(up, 0, r, sizeof(r)) == 0);
	CHECK(r[5] == 1 && r[7] == 3 && r[OVERLAY_CHUNK + 9] == 2 &&
	      r[OVERLAY_CHUNK + 20] == base_byte(OVERLAY_CHUNK + 20));

	/* Materializing the upper layer writes both layers into the copy, the
	 * upper one last; the base file is untouched. */
	CHECK(overlay_materialize(up, copy) == 0);
	CHECK(pread(copy, r, sizeof(r), 0) == (ssize_t)sizeof(r));
	CHECK(r[5] == 1 && r[7] == 3 && r[OVERLAY_CHUNK + 9] == 2 &&
	      r[OVERLAY_CHUNK + 20] == base_byte(OVERLAY_CHUNK + 20));
	CHECK(r[6] == base_byte(6) && r[OVERLAY_CHUNK + 8] == base_byte(OVERLAY_CHUNK + 8));
	CHECK(file_is_base(fd));

	/* Resetting the upper layer shows the lower one again. */
	overlay_reset(up);
	CHECK(overlay_read(up, OVERLAY_CHUNK + 9, r, 12) == 0 && r[0] == base_byte(OVERLAY_CHUNK + 9) &&
	      r[11] == 3);
	overlay_free(up);
	overlay_free(low);
	close(fd);
	close(copy);
}

/* overlay_write_shared borrows whole chunks of a buffer that outlives the
 * overlay: reads see the buffer, a later write copies the chunk first and
 * never writes into the buffer, each write takes a new generation, and a
 * reset forgets borrowed chunks like any other. */
static void test_shared_chunks(void)
{
	int fd = temp_file(BASE_BYTES, 1), copy = temp_file(BASE_BYTES, 1);
	struct overlay *low = overlay_new(fd, BASE_BYTES, NULL);
	struct overlay *up = overlay_new(-1, 0, low);
	size_t len = 3 * OVERLAY_CHUNK;
	uint8_t *src = malloc(len), *keep = malloc(len), r[3 * OVERLAY_CHUNK], x = 0xee;
	uint64_t g1, g2, g3;

	CHECK(low && up && src && keep);
	for (size_t i = 0; i < len; i++)
		src[i] = keep[i] = (uint8_t)(i * 13 + 1);
	/* Unaligned: the head and tail are copied, the chunk between borrowed. */
	CHECK(overlay_write_shared(low, OVERLAY_CHUNK / 2, src, len - OVERLAY_CHUNK) == 0);
	CHECK(overlay_read(up, 0, r, sizeof(r)) == 0);
	CHECK(r[0] == base_byte(0) && r[OVERLAY_CHUNK / 2 - 1] == base_byte(OVERLAY_CHUNK / 2 - 1));
	CHECK(memcmp(r + OVERLAY_CHUNK / 2, src, len - OVERLAY_CHUNK) == 0);
	CHECK(r[len - OVERLAY_CHUNK / 2] == base_byte(len - OVERLAY_CHUNK / 2));
	g1 = overlay_generation(up, OVERLAY_CHUNK, OVERLAY_CHUNK);
	CHECK(g1 != 0);

	/* A one-byte write into the borrowed chunk: a copy is changed, the
	 * buffer is not, the rest of the chunk reads as before. */
	CHECK(overlay_write(low, OVERLAY_CHUNK + 100, &x, 1) == 0);
	CHECK(memcmp(src, keep, len) == 0);
	CHECK(overlay_read(low, OVERLAY_CHUNK, r, OVERLAY_CHUNK) == 0);
	CHECK(r[100] == 0xee && r[99] == src[OVERLAY_CHUNK / 2 + 99] &&
	      r[101] == src[OVERLAY_CHUNK / 2 + 101]);
	g2 = overlay_generation(up, OVERLAY_CHUNK, OVERLAY_CHUNK);
	CHECK(g2 > g1);

	/* Borrowing over a chunk of its own: the new bytes show, a new generation. */
	CHECK(overlay_write_shared(low, OVERLAY_CHUNK, src, OVERLAY_CHUNK) == 0);
	CHECK(overlay_read(up, OVERLAY_CHUNK, r, OVERLAY_CHUNK) == 0 &&
	      memcmp(r, src, OVERLAY_CHUNK) == 0);
	g3 = overlay_generation(up, OVERLAY_CHUNK, OVERLAY_CHUNK);
	CHECK(g3 > g2);

	/* An upper layer's partial write copies the borrowed bytes from below. */
	CHECK(overlay_write(up, OVERLAY_CHUNK + 1, &x, 1) == 0);
	CHECK(overlay_read(up, OVERLAY_CHUNK, r, 3) == 0 && r[0] == src[0] && r[1] == 0xee &&
	      r[2] == src[2]);
	CHECK(memcmp(src, keep, len) == 0);

	/* Materialize writes borrowed chunks too. */
	overlay_reset(up);
	CHECK(overlay_materialize(up, copy) == 0);
	CHECK(pread(copy, r, OVERLAY_CHUNK, OVERLAY_CHUNK) == OVERLAY_CHUNK &&
	      memcmp(r, src, OVERLAY_CHUNK) == 0);

	/* Reset forgets them; the memory kept for reuse still works. */
	overlay_reset(low);
	CHECK(reads_base(up, 0, BASE_BYTES));
	CHECK(overlay_write(low, OVERLAY_CHUNK + 5, &x, 1) == 0);
	CHECK(overlay_read(up, OVERLAY_CHUNK, r, 8) == 0 && r[5] == 0xee && r[4] == base_byte(OVERLAY_CHUNK + 4));
	CHECK(memcmp(src, keep, len) == 0);
	overlay_free(up);
	overlay_free(low);
	free(src);
	free(keep);
	close(fd);
	close(copy);
}

static void test_overlay_io_manager(void)
{
	int fd = temp_file(BASE_BYTES, 1);
	struct overlay *ov = overlay_new(fd, BASE_BYTES, NULL);
	io_channel io;
	char name[64];
	uint8_t blk[4096];

	overlay_io_name(ov, name, sizeof(name));
	CHECK(overlay_io_manager->open("nonsense", IO_FLAG_RW, &io) == EXT2_ET_BAD_DEVICE_NAME);
	CHECK(overlay_io_manager->open(name, IO_FLAG_RW, &io) == 0);
	CHECK(io_channel_set_blksize(io, 4096) == 0);
	CHECK(io_channel_read_blk64(io, 1, 1, blk) == 0 && blk[0] == base_byte(4096));
	memset(blk, 0x5a, sizeof(blk));
	CHECK(io_channel_write_blk64(io, 2, 1, blk) == 0);
	/* A negative count is a byte count. */
	CHECK(io_channel_read_blk64(io, 2, -10, blk) == 0 && blk[9] == 0x5a);
	/* Past the end: a short read of zeros, a refused write. */
	CHECK(io_channel_read_blk64(io, BASE_BYTES / 4096, 1, blk) == EXT2_ET_SHORT_READ && blk[0] == 0);
	CHECK(io_channel_write_blk64(io, BASE_BYTES / 4096, 1, blk) == EXT2_ET_SHORT_WRITE);
	CHECK(io_channel_write_byte(io, 3, 1, "\x77") == 0);
	CHECK(overlay_read(ov, 3, blk, 1) == 0 && blk[0] == 0x77);
	io_channel_close(io);
	CHECK(file_is_base(fd));
	overlay_free(ov);
	close(fd);
}

/* libext2fs, unchanged, makes a filesystem in the overlay and opens it
 * again; the zero file below it stays zero. */
static void test_libext2fs_on_overlay(void)
{
	enum { FS_BYTES = 8 << 20 };
	int fd = temp_file(FS_BYTES, 0);
	struct overlay *ov = overlay_new(fd, FS_BYTES, NULL);
	struct ext2_super_block param;
	ext2_filsys fs = NULL;
	char name[64];
	uint8_t b[4096];
	int zero = 1;

	overlay_io_name(ov, name, sizeof(name));
	memset(&param, 0, sizeof(param));
	ext2fs_blocks_count_set(&param, FS_BYTES / 4096);
	param.s_log_block_size = 2;	/* 4 KiB */
	param.s_rev_level = EXT2_DYNAMIC_REV;
	param.s_feature_incompat = EXT3_FEATURE_INCOMPAT_EXTENTS;
	CHECK(ext2fs_initialize(name, EXT2_FLAG_RW, &param, overlay_io_manager, &fs) == 0);
	if (fs) {
		CHECK(ext2fs_allocate_tables(fs) == 0);
		CHECK(ext2fs_close_free(&fs) == 0);
	}
	CHECK(overlay_chunks(ov) > 0);
	CHECK(ext2fs_open(name, 0, 0, 0, overlay_io_manager, &fs) == 0);
	if (fs) {
		CHECK(fs->super->s_magic == EXT2_SUPER_MAGIC);
		CHECK(ext2fs_blocks_count(fs->super) == FS_BYTES / 4096);
		CHECK(ext2fs_has_feature_extents(fs->super));
		ext2fs_close_free(&fs);
	}
	for (off_t off = 0; off < FS_BYTES && zero; off += sizeof(b)) {
		if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b))
			zero = 0;
		for (size_t i = 0; zero && i < sizeof(b); i++)
			zero = b[i] == 0;
	}
	CHECK(zero);
	overlay_free(ov);
	close(fd);
}

int main(void)
{
	test_read_write();
	test_layers_and_materialize();
	test_shared_chunks();
	test_overlay_io_manager();
	test_libext2fs_on_overlay();
	return CHECK_SUMMARY();
}
