/* recovery.c: sinks and the superblock updates after replay. */
#include <stdlib.h>
#include <string.h>

#include "lib/recovery.h"

#define SB_OFFSET 1024
#define SB_STATE 0x3a
#define SB_FEATURE_INCOMPAT 0x60
#define SB_FEATURE_RO_COMPAT 0x64
#define SB_CHECKSUM 0x3fc
#define INCOMPAT_RECOVER 0x4
#define RO_COMPAT_METADATA_CSUM 0x400
#define STATE_VALID 0x1
#define STATE_ERROR 0x2

static int io_sink_write(struct replay_sink *sink, uint64_t fs_block, const void *buf,
			 struct err *e)
{
	errcode_t rc = io_channel_write_blk64(sink->ctx, fs_block, 1, buf);

	if (rc)
		return fail(e, EXIT_OPERATIONAL, "writing block %llu: %s",
			    (unsigned long long)fs_block, errcode_text(rc));
	return 0;
}

void io_sink_init(struct replay_sink *sink, io_channel io)
{
	sink->write_block = io_sink_write;
	sink->ctx = io;
}

static int null_sink_write(struct replay_sink *sink, uint64_t fs_block, const void *buf,
			   struct err *e)
{
	(void)sink, (void)fs_block, (void)buf, (void)e;
	return 0;
}

void null_sink_init(struct replay_sink *sink)
{
	sink->write_block = null_sink_write;
	sink->ctx = NULL;
}

/* Rewrite the primary superblock from disk, since replay may have changed
 * it: clear needs_recovery and record the outcome in s_state, as e2fsck. */
static int update_fs_super(ext2_filsys fs, const struct replay_result *r, int journal_errno,
			   struct err *e)
{
	blk64_t blk = SB_OFFSET / fs->blocksize;
	size_t off = SB_OFFSET % fs->blocksize;
	uint8_t *buf = malloc(fs->blocksize), *sb;
	uint16_t state;
	errcode_t rc;

	if (!buf)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	rc = io_channel_read_blk64(fs->io, blk, 1, buf);
	if (rc) {
		free(buf);
		return fail(e, EXIT_OPERATIONAL, "reading the superblock: %s", errcode_text(rc));
	}
	sb = buf + off;
	put_le32(sb, SB_FEATURE_INCOMPAT, get_le32(sb, SB_FEATURE_INCOMPAT) & ~INCOMPAT_RECOVER);
	state = get_le16(sb, SB_STATE);
	if (r->fatal || r->nbad)
		state &= ~STATE_VALID;	/* a full fsck is needed */
	if (r->failed_commit || journal_errno)
		state |= STATE_ERROR;
	sb[SB_STATE] = state & 0xff;
	sb[SB_STATE + 1] = state >> 8;
	if (get_le32(sb, SB_FEATURE_RO_COMPAT) & RO_COMPAT_METADATA_CSUM)
		put_le32(sb, SB_CHECKSUM, ext2fs_crc32c_le(~0U, sb, SB_CHECKSUM));
	rc = io_channel_write_blk64(fs->io, blk, 1, buf);
	if (!rc)
		rc = io_channel_flush(fs->io);
	free(buf);
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "writing the superblock: %s", errcode_text(rc));
	return 0;
}

int recovery_finish(ext2_filsys fs, struct journal *j, const struct replay_result *r,
		    struct err *e)
{
	int journal_errno = (int32_t)get_be32(j->sb, JSB_ERRNO) != 0;

	/* The replayed blocks must be durable before the log is declared empty. */
	if (io_channel_flush(fs->io))
		return fail(e, EXIT_OPERATIONAL, "flushing replayed blocks failed");
	put_be32(j->sb, JSB_START, 0);
	put_be32(j->sb, JSB_SEQUENCE, r->new_sequence);
	put_be32(j->sb, JSB_ERRNO, 0);
	if (journal_write_super(j, e))
		return -1;
	return update_fs_super(fs, r, journal_errno, e);
}

int recovery_finish_fs_only(ext2_filsys fs, const struct replay_result *r, struct err *e)
{
	return update_fs_super(fs, r, 0, e);
}
