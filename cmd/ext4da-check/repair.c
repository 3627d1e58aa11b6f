/* repair.c: --repair frees LEAKED blocks and makes the group descriptors
 * and superblock totals agree with the bitmaps.  Every overwritten block is
 * saved in an undo file first, so e2undo can put the image back. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/ext4da-check/check.h"
#include "lib/blockdev/image.h"

/* The first block of [blk, blk+n) that the audit found owned (or maybe
 * owned), or 0.  Block 0 is never in a LEAKED range: it is the boot block
 * or the superblock. */
static uint64_t owned_in(ext2fs_block_bitmap owners, uint64_t blk, uint64_t n)
{
	blk64_t hit;

	if (!owners)
		return blk ? blk : 1;	/* no owner map: trust nothing */
	if (ext2fs_find_first_set_block_bitmap2(owners, blk, blk + n - 1, &hit))
		return 0;
	return hit;
}

/* The last line of defence: whatever the findings say, a block some inode
 * maps is never freed.  Checked before anything is opened for writing. */
static uint64_t leaked_but_owned(const struct findings *f, const struct audit_stats *st)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];
		uint64_t hit;

		if (x->code == F_LEAKED && x->blocks && (hit = owned_in(st->owner_map, x->block, x->blocks)))
			return hit;
	}
	return 0;
}

static void free_leaked(ext2_filsys fs, const struct findings *f, const struct audit_stats *st)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];

		/* Checked before; checked again where it matters. */
		if (x->code == F_LEAKED && x->blocks && !owned_in(st->owner_map, x->block, x->blocks))
			ext2fs_unmark_block_bitmap_range2(fs->block_map, x->block, (unsigned)x->blocks);
	}
	ext2fs_mark_bb_dirty(fs);
}

/* Index in its group (1-based) of the group's last in-use inode, 0 if none. */
static uint32_t last_used_inode(ext2_filsys fs, dgrp_t g)
{
	uint32_t per = fs->super->s_inodes_per_group;

	for (uint32_t i = per; i >= 1; i--)
		if (ext2fs_fast_test_inode_bitmap2(fs->inode_map, g * per + i))
			return i;
	return 0;
}

static void fix_counts(ext2_filsys fs, const struct audit_stats *st)
{
	uint64_t total_free = 0, total_ifree = 0;
	uint32_t per = fs->super->s_inodes_per_group;

	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		uint64_t first = ext2fs_group_first_block2(fs, g), last = ext2fs_group_last_block2(fs, g);
		uint32_t free_c = 0, free_i = 0;

		for (uint64_t b = first; b <= last; b += EXT2FS_CLUSTER_RATIO(fs))
			free_c += !ext2fs_fast_test_block_bitmap2(fs->block_map, b);
		for (uint32_t i = 1; i <= per; i++)
			free_i += !ext2fs_fast_test_inode_bitmap2(fs->inode_map, g * per + i);
		ext2fs_bg_free_blocks_count_set(fs, g, free_c);
		if (ext2fs_has_group_desc_csum(fs))
			ext2fs_bg_itable_unused_set(fs, g, per - last_used_inode(fs, g));
		ext2fs_bg_free_inodes_count_set(fs, g, free_i);
		if (st->dirs_per_group)
			ext2fs_bg_used_dirs_count_set(fs, g, st->dirs_per_group[g]);
		ext2fs_group_desc_csum_set(fs, g);
		total_free += free_c;
		total_ifree += free_i;
	}
	ext2fs_free_blocks_count_set(fs->super, EXT2FS_C2B(fs, total_free));
	fs->super->s_free_inodes_count = (uint32_t)total_ifree;
	ext2fs_mark_super_dirty(fs);
}

void repair_undo_path(const struct check_cmd *cmd, char *buf, size_t len)
{
	if (cmd->undo)
		snprintf(buf, len, "%s", cmd->undo);
	else
		snprintf(buf, len, "%s.ext4da-undo", cmd->image);
}

/* An existing undo file is never overwritten, whether or not there turns
 * out to be anything to repair: the same rule as ext4da-replay --undo. */
int repair_undo_free(const struct check_cmd *cmd, struct err *e)
{
	char path[4096];

	repair_undo_path(cmd, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return fail(e, EXIT_OPERATIONAL, "undo file %s already exists; remove it first",
			    path);
	return 0;
}

int repair_image(const struct check_cmd *cmd, const struct findings *f,
		 const struct audit_stats *st, char *undo_used, size_t len, struct err *e)
{
	uint64_t owned;

	/* An inode the audit could not follow may own blocks that look leaked:
	 * freeing them could destroy recoverable data. */
	undo_used[0] = 0;
	if (f->count[F_CORRUPT] || f->count[F_OWNER_UNKNOWN] || st->damaged) {
		cli_warn(&cmd->cli, cmd->image,
			 "not repairing: some inodes or structures could not be walked (CORRUPT), and "
			 "blocks they may own would look leaked; nothing written");
		return EXIT_PROBLEMS;
	}
	owned = leaked_but_owned(f, st);
	if (owned) {
		cli_warn(&cmd->cli, cmd->image,
			 "not repairing: block %llu of a LEAKED range is owned; nothing written",
			 (unsigned long long)owned);
		return EXIT_PROBLEMS;
	}
	struct image_open_opts io = { .writable = 1 };
	ext2_filsys fs;
	errcode_t rc;

	repair_undo_path(cmd, undo_used, len);
	if (repair_undo_free(cmd, e)) {
		undo_used[0] = 0;
		return -1;
	}
	if (cancel_point()) {
		undo_used[0] = 0;
		return cancel_fail(e, "nothing was written");
	}
	io.undo_file = undo_used;
	if (image_open(cmd->image, &io, &fs, e)) {
		undo_used[0] = 0;
		return -1;
	}
	rc = ext2fs_read_bitmaps(fs);
	if (rc) {
		ext2fs_free(fs);
		return fail(e, EXIT_OPERATIONAL, "reading bitmaps: %s", errcode_text(rc));
	}
	free_leaked(fs, f, st);
	fix_counts(fs, st);
	fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;	/* as e2fsck: backups stay as they are */
	rc = ext2fs_close_free(&fs);
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "writing repairs: %s", errcode_text(rc));
	for (size_t i = 0; i < f->n; i++) {
		enum finding_code c = f->v[i].code;

		if (f->v[i].severity == SEV_ERROR && c != F_LEAKED && c != F_GROUP_COUNTS)
			return EXIT_PROBLEMS;
	}
	return EXIT_FIXED;
}
