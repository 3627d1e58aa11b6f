/* recovery.c: the superblock updates after replay. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/recovery.h"

/* Rewrite the primary superblock from disk, since replay may have changed
 * it: clear needs_recovery and record the outcome in s_state, as e2fsck. */
static int update_fs_super(ext2_filsys fs, const struct replay_result *r, int journal_errno,
			   struct err *e)
{
	blk64_t blk = SUPERBLOCK_OFFSET / fs->blocksize;
	uint8_t *buf = malloc(fs->blocksize);
	struct ext2_super_block *sb;
	uint16_t state;
	errcode_t rc;

	if (!buf)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	rc = io_channel_read_blk64(fs->io, blk, 1, buf);
	if (rc) {
		free(buf);
		return fail(e, EXIT_OPERATIONAL, "reading the superblock: %s", errcode_text(rc));
	}
	/* The on-disk copy, little-endian: fs->super is libext2fs's cached
	 * copy from before replay and must not be written over it. */
	sb = (struct ext2_super_block *)(buf + SUPERBLOCK_OFFSET % fs->blocksize);
	sb->s_feature_incompat = ext2fs_cpu_to_le32(ext2fs_le32_to_cpu(sb->s_feature_incompat) &
						    ~EXT3_FEATURE_INCOMPAT_RECOVER);
	state = ext2fs_le16_to_cpu(sb->s_state);
	if (r->fatal || r->nbad)
		state &= ~EXT2_VALID_FS;	/* a full fsck is needed */
	if (r->failed_commit || journal_errno)
		state |= EXT2_ERROR_FS;
	sb->s_state = ext2fs_cpu_to_le16(state);
	if (ext2fs_le32_to_cpu(sb->s_feature_ro_compat) & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)
		sb->s_checksum = ext2fs_cpu_to_le32(ext2fs_crc32c_le(
			~0U, (unsigned char *)sb, offsetof(struct ext2_super_block, s_checksum)));
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
