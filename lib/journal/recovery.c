/* recovery.c: the superblock updates after replay. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/journal/recovery.h"

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
	/* The last write of the recovery: closing the image (image_close)
	 * flushes it, so no flush of its own here. */
	rc = io_channel_write_blk64(fs->io, blk, 1, buf);
	free(buf);
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "writing the superblock: %s", errcode_text(rc));
	return 0;
}

int recovery_open(struct recovery *rs, ext2_filsys fs, const struct recovery_opts *o,
		  struct err *e)
{
	struct journal_open_opts jo = { 0 };

	memset(rs, 0, sizeof(*rs));
	if (o)
		rs->opts = *o;
	jo.external_path = rs->opts.journal_path;
	jo.writable = rs->opts.writable;
	rs->fs = fs;
	if (journal_open(fs, &jo, &rs->j, e))
		return -1;
	if (journal_scan_resume(rs->j, &rs->log, rs->opts.resume, e) ||
	    (rs->opts.has_upto && replay_check_upto(&rs->log, rs->opts.upto, e))) {
		recovery_close(rs);
		return -1;
	}
	return 0;
}

void recovery_close(struct recovery *rs)
{
	replay_result_free(&rs->result);
	jlog_free(&rs->log);
	journal_close(rs->j);
	memset(rs, 0, sizeof(*rs));
}

int recovery_needed(const struct recovery *rs)
{
	return rs->j->start != 0 || ext2fs_has_feature_journal_needs_recovery(rs->fs->super);
}

int recovery_rebind(struct recovery *rs, ext2_filsys fs, struct err *e)
{
	struct journal_open_opts jo = { .external_path = rs->opts.journal_path,
					.writable = rs->opts.writable, .map_from = rs->j };
	struct journal *j;

	if (journal_open(fs, &jo, &j, e))
		return -1;
	if (memcmp(j->sb, rs->j->sb, JSB_SIZE) != 0) {
		journal_close(j);
		return fail(e, EXIT_OPERATIONAL, "the journal changed while it was being read");
	}
	journal_close(rs->j);
	rs->j = j;
	rs->fs = fs;
	if (rs->log.data)
		log_reader_bind(rs->log.data, j);
	return 0;
}

int recovery_replay(struct recovery *rs, struct replay_sink *sink, struct err *e)
{
	struct replay_opts ro = { .has_upto = rs->opts.has_upto, .upto = rs->opts.upto,
				  .fs_blocks = ext2fs_blocks_count(rs->fs->super),
				  .progress = rs->opts.progress,
				  .progress_ctx = rs->opts.progress_ctx,
				  .vcache = rs->opts.vcache,
				  .defer_superseded = rs->opts.defer_superseded };

	replay_result_free(&rs->result);
	if (replay_into(rs->j, &rs->log, &ro, sink, &rs->result, e))
		return -1;
	rs->replayed = 1;
	/* --upto stops among the full commits: the fast commit after them
	 * is not reached. */
	if (!rs->result.fatal && rs->log.fc.present && rs->opts.has_upto)
		rs->result.fc_dropped = 1;
	return 0;
}

int recovery_finish(struct recovery *rs, struct err *e)
{
	struct journal *j = rs->j;
	int journal_errno = (int32_t)get_be32(j->sb, JSB_ERRNO) != 0;

	/* The replayed blocks must be durable before the log is declared empty. */
	if (io_channel_flush(rs->fs->io))
		return fail(e, EXIT_OPERATIONAL, "flushing replayed blocks failed");
	/* The superseded copies were verified during the flush: their
	 * outcome goes into both superblocks. */
	if (replay_settle(&rs->result, e))
		return -1;
	put_be32(j->sb, JSB_START, 0);
	put_be32(j->sb, JSB_SEQUENCE, rs->result.new_sequence);
	put_be32(j->sb, JSB_ERRNO, 0);
	if (journal_write_super(j, e))
		return -1;
	return update_fs_super(rs->fs, &rs->result, journal_errno, e);
}

int recovery_finish_fs_only(struct recovery *rs, struct err *e)
{
	if (replay_settle(&rs->result, e))
		return -1;
	return update_fs_super(rs->fs, &rs->result, 0, e);
}

void recovery_take(struct recovery *rs, struct jlog *log, struct replay_result *r)
{
	/* The log's bytes were for the replay pass: do not keep them. */
	if (rs->log.data) {
		log_reader_free(rs->log.data);
		free(rs->log.data);
		rs->log.data = NULL;
	}
	*log = rs->log;
	*r = rs->result;
	memset(&rs->log, 0, sizeof(rs->log));
	memset(&rs->result, 0, sizeof(rs->result));
}
