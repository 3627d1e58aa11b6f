/* view.c: see view.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "lib/journal/fc_replay.h"
#include "lib/blockdev/image.h"
#include "lib/core/fdio.h"
#include "lib/journal/recovery.h"
#include "lib/audit/view.h"

static int open_on_overlay(struct view *v, uint64_t sb, unsigned int bs, struct err *e)
{
	struct image_open_opts io = { .writable = 1, .manager = overlay_io_manager,
				      .superblock = sb, .blocksize = bs };
	char name[64];

	overlay_io_name(v->ov, name, sizeof(name));
	if (image_open(name, &io, &v->fs, e))
		return -1;
	/* Red-black tree bitmaps keep runs, not bits: owner maps of large,
	 * mostly contiguous filesystems stay small (e2fsck does the same). */
	v->fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	return 0;
}

/* An internal journal that cannot be read is damage to report, not a
 * reason to refuse the audit: go on without replay, as e2fsck would after
 * clearing it.  (An external journal that is missing is an input error.) */
static int journal_damaged(struct view *v, const struct view_opts *opts, struct err *e)
{
	if (!opts->keep_damage || !v->fs->super->s_journal_inum)
		return -1;
	snprintf(v->journal_damage, sizeof(v->journal_damage), "%.190s", e->msg);
	v->needed_recovery = ext2fs_has_feature_journal_needs_recovery(v->fs->super);
	e->msg[0] = 0;
	return 0;
}

/* Replay into the overlay, then reopen so libext2fs sees the recovered
 * superblock and descriptors. */
static int replay_into_overlay(struct view *v, const struct view_opts *opts, struct err *e)
{
	struct recovery_opts ro = { .journal_path = opts->journal_path, .vcache = opts->vcache,
				    .resume = opts->resume };
	struct replay_sink sink;
	struct recovery rs;

	if (recovery_open(&rs, v->fs, &ro, e))
		return journal_damaged(v, opts, e);
	v->journal_blocks = rs.j->maxlen;
	/* As the kernel at mount: a log without needs_recovery is discarded,
	 * not replayed (e2fsck -y would ask to replay it; ext4da-replay does). */
	v->needed_recovery = ext2fs_has_feature_journal_needs_recovery(v->fs->super);
	v->stale_log = rs.j->start != 0 && !v->needed_recovery;
	if (v->needed_recovery && opts->replay) {
		io_sink_init(&sink, v->fs->io);
		if (opts->vcache)	/* generations as this view sees the device */
			verify_cache_bind(opts->vcache, v->ov);
		if (recovery_replay(&rs, &sink, e) || recovery_finish_fs_only(&rs, e)) {
			recovery_close(&rs);
			return -1;
		}
		v->replayed = 1;
	}
	recovery_take(&rs, &v->log, &v->result);
	recovery_close(&rs);
	if (!v->replayed)
		return 0;
	ext2fs_free(v->fs);
	v->fs = NULL;
	if (open_on_overlay(v, v->sb_used, v->sb_used ? v->sb_blocksize : 0, e))
		return -1;
	/* The fast commit, after the full commits, as the kernel at mount. */
	if (!v->result.fatal && v->log.fc.present &&
	    fc_replay(v->fs, &v->log.fc.log, &v->result.fc, e))
		return -1;
	return 0;
}

static int loc_ok(ext2_filsys fs, dgrp_t g, uint64_t blk, uint64_t n)
{
	uint64_t total = ext2fs_blocks_count(fs->super);

	if (blk < fs->super->s_first_data_block || blk >= total || n > total - blk)
		return 0;
	if (ext2fs_has_feature_flex_bg(fs->super))
		return 1;
	return blk >= ext2fs_group_first_block2(fs, g) && blk + n - 1 <= ext2fs_group_last_block2(fs, g);
}

/* Zero each unusable location in memory (libext2fs then reads nothing
 * there), and remember what it was; the audit reports it per group. */
static int keep_bad_descriptors(struct view *v, struct err *e)
{
	ext2_filsys fs = v->fs;
	int any = 0;

	v->desc_damage = calloc(fs->group_desc_count, sizeof(*v->desc_damage));
	if (!v->desc_damage)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		struct desc_damage *d = &v->desc_damage[g];

		d->bbitmap = ext2fs_block_bitmap_loc(fs, g);
		d->ibitmap = ext2fs_inode_bitmap_loc(fs, g);
		d->itable = ext2fs_inode_table_loc(fs, g);
		if (!loc_ok(fs, g, d->bbitmap, 1)) {
			d->flags |= DESC_BAD_BBITMAP;
			ext2fs_block_bitmap_loc_set(fs, g, 0);
		}
		if (!loc_ok(fs, g, d->ibitmap, 1)) {
			d->flags |= DESC_BAD_IBITMAP;
			ext2fs_inode_bitmap_loc_set(fs, g, 0);
		}
		if (!loc_ok(fs, g, d->itable, fs->inode_blocks_per_group)) {
			d->flags |= DESC_BAD_ITABLE;
			ext2fs_inode_table_loc_set(fs, g, 0);
		}
		any |= d->flags;
	}
	return any ? 0 : -1;
}

/* Descriptors pointing outside the filesystem would derail every later
 * read (and make libext2fs print on its own): refuse them, as e2fsck does,
 * unless the caller audits around them. */
static int check_descriptors(struct view *v, const struct view_opts *opts, struct err *e)
{
	errcode_t rc = ext2fs_check_desc(v->fs);

	if (rc && (!opts->keep_damage || keep_bad_descriptors(v, e)))
		return fail(e, EXIT_OPERATIONAL, "corrupt group descriptors: %s", errcode_text(rc));
	return 0;
}

/* The backups e2fsck tries: group 1's superblock for each block size
 * (or the one asked for, with each block size). */
static int open_backup(struct view *v, uint64_t sb)
{
	for (unsigned int bs = EXT2_MIN_BLOCK_SIZE; bs <= EXT2_MAX_BLOCK_SIZE; bs *= 2) {
		uint64_t at = sb ? sb : bs == 1024 ? 8193 : (uint64_t)bs * 8;
		struct err ignored = { 0 };

		if (open_on_overlay(v, at, bs, &ignored) == 0) {
			v->sb_used = at;
			v->sb_blocksize = bs;
			return 0;
		}
	}
	return -1;
}

static int open_superblock(struct view *v, const struct view_opts *opts, struct err *e)
{
	if (opts->superblock) {
		if (open_backup(v, opts->superblock))
			return fail(e, EXIT_OPERATIONAL, "no usable superblock at block %llu",
				    (unsigned long long)opts->superblock);
		return 0;
	}
	if (open_on_overlay(v, 0, 0, e) == 0)
		return 0;
	if (!opts->keep_damage || open_backup(v, 0))
		return -1;
	snprintf(v->sb_problem, sizeof(v->sb_problem), "%.150s", e->msg);
	e->msg[0] = 0;
	return 0;
}

static int open_view(struct view *v, const struct view_opts *opts, uint64_t device_bytes,
		     struct err *e)
{
	if (open_superblock(v, opts, e) ||
	    (device_bytes && image_check_size(v->fs, device_bytes, e)) ||
	    journal_path_applies(v->fs, opts->journal_path, e) ||
	    (fs_has_journal(v->fs) && (v->has_journal = 1) && replay_into_overlay(v, opts, e)) ||
	    check_descriptors(v, opts, e)) {
		view_close(v);
		return -1;
	}
	return 0;
}

int view_open_on(struct overlay *lower, const struct view_opts *opts, struct view *v,
		 struct err *e)
{
	memset(v, 0, sizeof(*v));
	v->fd = -1;
	v->ov = overlay_new(-1, 0, lower);
	if (!v->ov)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	return open_view(v, opts, 0, e);
}

int view_open(const char *path, const struct view_opts *opts, struct view *v, struct err *e)
{
	uint64_t size;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	if (image_check_path(path, e))
		return -1;
	v->fd = open(path, O_RDONLY);
	if (v->fd < 0)
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (fd_size_bytes(v->fd, &size) || !(v->ov = overlay_new(v->fd, size, NULL))) {
		view_close(v);
		return fail(e, EXIT_OPERATIONAL, "cannot size or map the image");
	}
	return open_view(v, opts, size, e);
}

void view_close(struct view *v)
{
	if (v->fs)
		ext2fs_free(v->fs);
	overlay_free(v->ov);
	if (v->fd >= 0)
		close(v->fd);
	jlog_free(&v->log);
	replay_result_free(&v->result);
	free(v->desc_damage);
	memset(v, 0, sizeof(*v));
	v->fd = -1;
}
