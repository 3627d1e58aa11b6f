/* guardio.c: see guardio.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/blockdev/fault.h"
#include "lib/blockdev/guardio.h"
#include "lib/core/endian.h"

/* The e2undo file format (e2fsprogs, lib/ext2fs/undo_io.c): a 512-byte
 * header in block 0, the filesystem's superblock (magic inverted) in
 * block 1, key blocks and saved blocks from block 2. */
#define UNDO_MAGIC "E2UNDO02"
#define UNDO_HDR_SIZE 512
#define UH_NUM_KEYS 8
#define UH_SUPER_OFFSET 16
#define UH_KEY_OFFSET 24
#define UH_BLOCK_SIZE 32
#define UH_FS_BLOCK_SIZE 36
#define UH_SB_CRC 40
#define UH_STATE 44
#define UH_CRC 508
#define UNDO_STATE_FINISHED 0x1
#define SB_OFFSET 1024
#define SB_SIZE 1024
#define SB_MAGIC 0x38

struct guard {
	io_channel inner;
	int is_undo;		/* this channel is the undo file */
};

static io_manager inner_manager;
static char *undo_path;
/* The undo file's channel, its latest header and block size, once open. */
static io_channel undo_inner;
static uint8_t undo_hdr[UNDO_HDR_SIZE];
static int have_hdr;

static void seal_header(uint8_t *hdr)
{
	le32_put(hdr + UH_STATE, le32_get(hdr + UH_STATE) | UNDO_STATE_FINISHED);
	le32_put(hdr + UH_CRC, ext2fs_crc32c_le(~0U, hdr, UH_CRC));
}

/* The superblock copy as e2undo compares it: magic inverted. */
static void undo_sb_copy(uint8_t *dst, const uint8_t *sb)
{
	memcpy(dst, sb, SB_SIZE);
	dst[SB_MAGIC] = (uint8_t)~sb[SB_MAGIC];
	dst[SB_MAGIC + 1] = (uint8_t)~sb[SB_MAGIC + 1];
}

static struct guard *guard_of(io_channel io)
{
	return io->private_data;
}

/* Short reads: the undo manager learns their length from read_error on
 * the channel it holds, which is ours, not the one that failed. */
static errcode_t forward_read_error(io_channel inner, unsigned long block, int count, void *data,
				    size_t size, int actual, errcode_t error)
{
	io_channel outer = inner->app_data;

	if (outer && outer->read_error)
		return outer->read_error(outer, block, count, data, size, actual, error);
	return error;
}

static errcode_t g_open(const char *name, int flags, io_channel *channel)
{
	struct guard *g = calloc(1, sizeof(*g));
	io_channel io = calloc(1, sizeof(*io));
	errcode_t rc;

	if (!g || !io || !(io->name = strdup(name))) {
		free(g);
		free(io);
		return EXT2_ET_NO_MEMORY;
	}
	rc = inner_manager->open(name, flags, &g->inner);
	if (rc) {
		free(io->name);
		free(g);
		free(io);
		return rc;
	}
	g->is_undo = undo_path && strcmp(name, undo_path) == 0;
	/* Under the undo manager, no write may wait in a cache: the undo
	 * record must reach its file before the block it saves is changed. */
	if (undo_path)
		g->inner->flags |= CHANNEL_FLAGS_WRITETHROUGH;
	if (g->is_undo) {
		undo_inner = g->inner;
		have_hdr = 0;
	}
	g->inner->app_data = io;
	g->inner->read_error = forward_read_error;
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = guardio_manager(inner_manager, undo_path);
	io->block_size = g->inner->block_size;
	io->flags = g->inner->flags;
	io->refcount = 1;
	io->private_data = g;
	*channel = io;
	return 0;
}

static errcode_t g_close(io_channel io)
{
	struct guard *g = guard_of(io);
	errcode_t rc;

	if (--io->refcount > 0)
		return 0;
	if (g->is_undo)
		undo_inner = NULL;
	rc = io_channel_close(g->inner);
	free(g);
	free(io->name);
	free(io);
	return rc;
}

static errcode_t g_set_blksize(io_channel io, int blksize)
{
	errcode_t rc = io_channel_set_blksize(guard_of(io)->inner, blksize);

	if (!rc)
		io->block_size = blksize;
	return rc;
}

static errcode_t g_read64(io_channel io, unsigned long long block, int count, void *data)
{
	return io_channel_read_blk64(guard_of(io)->inner, block, count, data);
}

static errcode_t g_read(io_channel io, unsigned long block, int count, void *data)
{
	return g_read64(io, block, count, data);
}

/* Before the image's superblock changes, point the undo file at the new
 * one: header (sealed) and superblock copy in a single write, block 0
 * and block 1 of the undo file. */
static errcode_t undo_follow_super(const uint8_t *sb)
{
	int ubs = undo_inner->block_size;
	size_t len = (size_t)ubs + SB_SIZE;
	uint8_t *buf;
	errcode_t rc;

	if (le64_get(undo_hdr + UH_SUPER_OFFSET) != 1 || ubs < UNDO_HDR_SIZE)
		return 0;	/* not the layout the undo manager writes */
	buf = calloc(1, len);
	if (!buf)
		return EXT2_ET_NO_MEMORY;
	/* Block 0 past the header holds zeros (the undo manager never writes
	 * there); read it back all the same. */
	rc = io_channel_read_blk64(undo_inner, 0, 1, buf);
	if (!rc) {
		memcpy(buf, undo_hdr, UNDO_HDR_SIZE);
		le32_put(buf + UH_SB_CRC, ext2fs_crc32c_le(~0U, sb, SB_SIZE));
		seal_header(buf);
		undo_sb_copy(buf + ubs, sb);
		fault_point();
		rc = io_channel_write_blk64(undo_inner, 0, -(int)len, buf);
	}
	if (!rc)
		memcpy(undo_hdr, buf, UNDO_HDR_SIZE);
	free(buf);
	return rc;
}

static errcode_t g_write64(io_channel io, unsigned long long block, int count, const void *data)
{
	struct guard *g = guard_of(io);
	uint64_t off = block * (uint64_t)io->block_size;
	uint64_t len = count < 0 ? (uint64_t)-count : (uint64_t)count * (uint64_t)io->block_size;

	if (g->is_undo && block == 0 && count == -UNDO_HDR_SIZE &&
	    memcmp(data, UNDO_MAGIC, 8) == 0) {
		/* The undo manager's header: sealed, and remembered. */
		memcpy(undo_hdr, data, UNDO_HDR_SIZE);
		seal_header(undo_hdr);
		have_hdr = 1;
		fault_point();
		return io_channel_write_blk64(g->inner, 0, count, undo_hdr);
	}
	if (!g->is_undo && undo_inner && have_hdr && off <= SB_OFFSET &&
	    off + len >= SB_OFFSET + SB_SIZE) {
		const uint8_t *sb = (const uint8_t *)data + (SB_OFFSET - off);
		errcode_t rc = undo_follow_super(sb);

		if (rc)
			return rc;
	}
	fault_point();
	return io_channel_write_blk64(g->inner, block, count, data);
}

static errcode_t g_write(io_channel io, unsigned long block, int count, const void *data)
{
	return g_write64(io, block, count, data);
}

static errcode_t g_write_byte(io_channel io, unsigned long offset, int count, const void *data)
{
	struct guard *g = guard_of(io);
	io_channel inner = g->inner;

	/* libext2fs writes the superblock's changed fields one by one; under
	 * an undo file, refusing makes it write the whole superblock in one
	 * piece (closefs.c), which the undo file can follow in one step. */
	if (!inner->manager->write_byte ||
	    (!g->is_undo && undo_inner && offset < SB_OFFSET + SB_SIZE &&
	     offset + (unsigned long)(count < 0 ? 0 : count) > SB_OFFSET))
		return EXT2_ET_UNIMPLEMENTED;
	fault_point();
	return io_channel_write_byte(inner, offset, count, data);
}

static errcode_t g_flush(io_channel io)
{
	fault_point();
	return io_channel_flush(guard_of(io)->inner);
}

static errcode_t g_set_option(io_channel io, const char *option, const char *arg)
{
	io_channel inner = guard_of(io)->inner;

	if (!inner->manager->set_option)
		return EXT2_ET_INVALID_ARGUMENT;
	return inner->manager->set_option(inner, option, arg);
}

static errcode_t g_get_stats(io_channel io, io_stats *stats)
{
	io_channel inner = guard_of(io)->inner;

	if (!inner->manager->get_stats)
		return EXT2_ET_UNIMPLEMENTED;
	return inner->manager->get_stats(inner, stats);
}

static errcode_t g_discard(io_channel io, unsigned long long block, unsigned long long count)
{
	fault_point();
	return io_channel_discard(guard_of(io)->inner, block, count);
}

static errcode_t g_zeroout(io_channel io, unsigned long long block, unsigned long long count)
{
	fault_point();
	return io_channel_zeroout(guard_of(io)->inner, block, count);
}

static errcode_t g_readahead(io_channel io, unsigned long long block, unsigned long long count)
{
	return io_channel_cache_readahead(guard_of(io)->inner, block, count);
}

static struct struct_io_manager guard_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "ext4da guarded writes",
	.open = g_open,
	.close = g_close,
	.set_blksize = g_set_blksize,
	.read_blk = g_read,
	.write_blk = g_write,
	.flush = g_flush,
	.write_byte = g_write_byte,
	.set_option = g_set_option,
	.get_stats = g_get_stats,
	.read_blk64 = g_read64,
	.write_blk64 = g_write64,
	.discard = g_discard,
	.cache_readahead = g_readahead,
	.zeroout = g_zeroout,
};

io_manager guardio_manager(io_manager inner, const char *undo_file)
{
	inner_manager = inner;
	if (undo_file != undo_path) {
		free(undo_path);
		undo_path = undo_file ? strdup(undo_file) : NULL;
	}
	return &guard_manager;
}

int guardio_create_undo(const char *undo_file, const char *image, unsigned int blocksize,
			struct err *e)
{
	uint8_t sb[SB_SIZE], *buf;
	size_t len = 3 * (size_t)blocksize;
	int fd;
	ssize_t n;

	fd = open(image, O_RDONLY);
	if (fd < 0)
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	n = pread(fd, sb, SB_SIZE, SB_OFFSET);
	close(fd);
	if (n != SB_SIZE)
		return fail(e, EXIT_OPERATIONAL, "reading the superblock: %s",
			    n < 0 ? strerror(errno) : "short read");
	buf = calloc(1, len);
	if (!buf)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	memcpy(buf, UNDO_MAGIC, 8);
	le64_put(buf + UH_NUM_KEYS, 0);
	le64_put(buf + UH_SUPER_OFFSET, 1);
	le64_put(buf + UH_KEY_OFFSET, 2);
	le32_put(buf + UH_BLOCK_SIZE, blocksize);
	le32_put(buf + UH_FS_BLOCK_SIZE, blocksize);
	le32_put(buf + UH_SB_CRC, ext2fs_crc32c_le(~0U, sb, SB_SIZE));
	seal_header(buf);
	undo_sb_copy(buf + blocksize, sb);
	fd = open(undo_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		free(buf);
		return fail(e, EXIT_OPERATIONAL, "undo file %s: %s", undo_file,
			    errno == EEXIST ? "already exists; remove it first" : strerror(errno));
	}
	n = write(fd, buf, len);
	free(buf);
	if (n != (ssize_t)len || fsync(fd) != 0) {
		int err = n < 0 ? errno : EIO;

		close(fd);
		unlink(undo_file);
		return fail(e, EXIT_OPERATIONAL, "undo file %s: %s", undo_file, strerror(err));
	}
	close(fd);
	return 0;
}
