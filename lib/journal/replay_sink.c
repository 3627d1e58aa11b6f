/* replay_sink.c: where replay puts home blocks.  Every write to an image
 * goes through an io channel (never a raw write on its descriptor), so the
 * undo manager, the overlay and any other io_manager see all of them. */
#include "lib/journal/replay.h"

static int io_sink_write(struct replay_sink *sink, uint64_t fs_block, uint32_t count,
			 const void *buf, struct err *e)
{
	errcode_t rc = io_channel_write_blk64(sink->ctx, fs_block, (int)count, buf);

	if (rc)
		return fail(e, EXIT_OPERATIONAL, "writing blocks %llu+%u: %s",
			    (unsigned long long)fs_block, count, errcode_text(rc));
	return 0;
}

void io_sink_init(struct replay_sink *sink, io_channel io)
{
	sink->write = io_sink_write;
	sink->ctx = io;
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
}
