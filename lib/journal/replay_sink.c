/* replay_sink.c: where replay puts home blocks.  Every write to an image
 * goes through an io channel (never a raw write on its descriptor), so the
 * undo manager, the overlay and any other io_manager see all of them. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/journal/replay.h"

/* Start the write-back of what was written so far every this many bytes,
 * so that the disk works while the rest is written and the flush after
 * the replay has less left to wait for. */
#define WRITEBACK_BYTES ((uint64_t)16 << 20)

/* Ask the kernel to start writing back the image's dirty pages (it does
 * not wait, and writes nothing of its own), through a descriptor of our
 * own on the file the channel names.  Not under the undo manager: there
 * the undo file's records should reach the disk first, as the kernel's
 * own write-back order happens to leave them. */
static void start_writeback(io_channel io)
{
	struct stat st;
	int fd;

	if (io->manager == undo_io_manager || !io->name)
		return;
	fd = open(io->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	close(fd);
}

static int io_sink_write(struct replay_sink *sink, uint64_t fs_block, uint32_t count,
			 const void *buf, struct err *e)
{
	io_channel io = sink->ctx;
	errcode_t rc = io_channel_write_blk64(io, fs_block, (int)count, buf);

	if (rc)
		return fail(e, EXIT_OPERATIONAL, "writing blocks %llu+%u: %s",
			    (unsigned long long)fs_block, count, errcode_text(rc));
	sink->unsynced += (uint64_t)count * (unsigned)io->block_size;
	if (sink->unsynced >= WRITEBACK_BYTES) {
		start_writeback(io);
		sink->unsynced = 0;
	}
	return 0;
}

void io_sink_init(struct replay_sink *sink, io_channel io)
{
	sink->write = io_sink_write;
	sink->ctx = io;
	sink->unsynced = 0;
}

static int null_sink_write(struct replay_sink *sink, uint64_t fs_block, uint32_t count,
			   const void *buf, struct err *e)
{
	(void)sink, (void)fs_block, (void)count, (void)buf, (void)e;
	return 0;
}

void null_sink_init(struct replay_sink *sink)
{
	sink->write = null_sink_write;
	sink->ctx = NULL;
	sink->unsynced = 0;
}
