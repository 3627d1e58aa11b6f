/* fc_replay.c: logical replay of fast-commit tags through libext2fs.
 * Extent changes are gathered per inode as a flat list and written back as
 * a fresh extent tree when the replay moves to another inode, a dentry or a
 * tail: the tree ends up the same whatever order the kernel logged ranges
 * in, and as e2fsck -E journal_only builds it.  Block and inode bitmaps
 * follow each change; group and superblock counters are recomputed from
 * them at the end. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>
#include <ext2fs/ext3_extents.h>

#include "lib/core/endian.h"
#include "lib/journal/fc_extents.h"
#include "lib/journal/fc_replay.h"
#include "lib/blockdev/image.h"
#include "lib/core/fdio.h"
#include "lib/blockdev/overlay.h"
#include "lib/journal/jbd2.h"

#define I_BLOCK_OFF offsetof(struct ext2_inode, i_block)
#define I_GENERATION_OFF offsetof(struct ext2_inode, i_generation)
#define EXT4_FC_REPLAY_STATE 0x0020	/* s_state while a replay is under way */

struct replayer {
	ext2_filsys fs;
	const struct fc_log *log;
	struct fc_extent_list list;	/* the inode whose extents are being edited */
	blk64_t index_freed;		/* its old index blocks, freed on load */
	ext2_ino_t *touched;
	size_t ntouched, cap;
	size_t cur;			/* index of the tag being replayed */
};

static void note_inode(struct replayer *rp, ext2_ino_t ino)
{
	for (size_t i = 0; i < rp->ntouched; i++)
		if (rp->touched[i] == ino)
			return;
	if (rp->ntouched == rp->cap) {
		size_t ncap = rp->cap ? rp->cap * 2 : 16;
		ext2_ino_t *p = realloc(rp->touched, ncap * sizeof(*p));

		if (!p)
			return;	/* only a count for the report */
		rp->touched = p;
		rp->cap = ncap;
	}
	rp->touched[rp->ntouched++] = ino;
}

static int ino_ok(ext2_filsys fs, ext2_ino_t ino)
{
	return ino >= 1 && ino <= fs->super->s_inodes_count;
}

/* Range and name tags about an inode that does not exist (out of range,
 * or not in use) are skipped, as the kernel's replay skips what it cannot
 * look up. */
static int ino_live(ext2_filsys fs, ext2_ino_t ino)
{
	struct ext2_inode inode;

	return ino_ok(fs, ino) && ext2fs_read_inode(fs, ino, &inode) == 0 &&
	       inode.i_links_count != 0;
}

/* Clamp a physical range to the filesystem before touching the bitmap:
 * a tag naming blocks outside it must not make libext2fs complain. */
static void set_range(ext2_filsys fs, uint64_t pblk, uint64_t len, int used)
{
	uint64_t first = fs->super->s_first_data_block, end = ext2fs_blocks_count(fs->super);

	if (pblk < first) {
		len = pblk + len > first ? pblk + len - first : 0;
		pblk = first;
	}
	if (pblk >= end || !len)
		return;
	if (len > end - pblk)
		len = end - pblk;
	if (used)
		ext2fs_mark_block_bitmap_range2(fs->block_map, pblk, (unsigned)len);
	else
		ext2fs_unmark_block_bitmap_range2(fs->block_map, pblk, (unsigned)len);
}

static void unmap_cb(void *ctx, uint64_t pblk, uint64_t len)
{
	set_range(ctx, pblk, len, 0);
}

/* Blocks the inode's extent tree maps plus its tree blocks (libext2fs
 * 1.47.0's ext2fs_count_blocks misses tree blocks below the first level,
 * so files with a deeper tree would be left with too small an i_blocks). */
static errcode_t count_blocks(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode,
			      blk64_t *count)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t rc;

	*count = 0;
	/* (With bigalloc i_blocks counts clusters: leave that to libext2fs.) */
	if (!(inode->i_flags & EXT4_EXTENTS_FL) || (inode->i_flags & EXT4_INLINE_DATA_FL) ||
	    ext2fs_has_feature_bigalloc(fs->super))
		return ext2fs_count_blocks(fs, ino, inode, count);
	rc = ext2fs_extent_open2(fs, ino, inode, &h);
	if (rc)
		return rc;
	rc = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex);
	while (rc == 0) {
		if (ex.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)
			;	/* counted on the way down */
		else if (ex.e_flags & EXT2_EXTENT_FLAGS_LEAF)
			*count += ex.e_len;
		else
			*count += 1;	/* the node this index entry points to */
		rc = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex);
	}
	ext2fs_extent_free(h);
	return rc == EXT2_ET_EXTENT_NO_NEXT ? 0 : rc;
}

static errcode_t load_extents(struct replayer *rp, ext2_ino_t ino)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t rc;

	rp->list.ino = ino;
	rp->index_freed = 0;
	rc = ext2fs_extent_open(rp->fs, ino, &h);
	if (rc)
		return rc;
	rc = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex);
	while (rc == 0) {
		if (ex.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT) {
			/* already seen on the way down */
		} else if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF)) {
			/* Index blocks are rebuilt from scratch on flush. */
			ext2fs_block_alloc_stats2(rp->fs, ex.e_pblk, -1);
			rp->index_freed++;
		} else {
			struct fc_extent f = { (uint32_t)ex.e_lblk, ex.e_len, ex.e_pblk,
					       !!(ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT) };

			if (fc_extents_append(&rp->list, &f)) {
				rc = EXT2_ET_NO_MEMORY;
				break;
			}
		}
		rc = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex);
	}
	ext2fs_extent_free(h);
	return rc == EXT2_ET_EXTENT_NO_NEXT ? 0 : rc;
}

/* Write the edited list back as the inode's extent tree. */
static errcode_t rewrite_tree(struct replayer *rp)
{
	struct ext2_inode_large inode;
	ext2_ino_t ino = rp->list.ino;
	ext2_extent_handle_t h;
	blk64_t count;
	errcode_t rc;

	memset(&inode, 0, sizeof(inode));
	rc = ext2fs_read_inode_full(rp->fs, ino, EXT2_INODE(&inode), sizeof(inode));
	if (rc || (inode.i_flags & EXT4_INLINE_DATA_FL))
		return rc;
	inode.i_flags &= ~EXT4_EXTENTS_FL;
	memset(inode.i_block, 0, sizeof(inode.i_block));
	rc = ext2fs_iblk_sub_blocks(rp->fs, EXT2_INODE(&inode), rp->index_freed);
	if (!rc)
		rc = ext2fs_extent_open2(rp->fs, ino, EXT2_INODE(&inode), &h);
	if (rc)
		return rc;
	for (size_t i = 0; i < rp->list.n && !rc; i++) {
		struct fc_extent f = rp->list.ex[i];
		uint32_t max = f.unwritten ? EXT_UNINIT_MAX_LEN : EXT_INIT_MAX_LEN;

		/* One on-disk extent holds at most max blocks. */
		while (f.len && !rc) {
			struct ext2fs_extent ex = { .e_pblk = f.pblk, .e_lblk = f.lblk,
						    .e_len = f.len > max ? max : f.len,
						    .e_flags = f.unwritten ?
							       EXT2_EXTENT_FLAGS_UNINIT : 0 };

			rc = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &ex);
			if (!rc)
				rc = ext2fs_extent_fix_parents(h);
			f.lblk += ex.e_len;
			f.pblk += ex.e_len;
			f.len -= ex.e_len;
		}
	}
	ext2fs_extent_free(h);
	if (!rc)
		rc = ext2fs_write_inode(rp->fs, ino, EXT2_INODE(&inode));
	if (!rc)
		rc = count_blocks(rp->fs, ino, EXT2_INODE(&inode), &count);
	if (!rc)
		rc = ext2fs_iblk_set(rp->fs, EXT2_INODE(&inode), count);
	if (!rc)
		rc = ext2fs_write_inode_full(rp->fs, ino, EXT2_INODE(&inode), sizeof(inode));
	return rc;
}

/* Finish with the cached inode unless the next tag is about it too. */
static errcode_t flush_unless(struct replayer *rp, ext2_ino_t next)
{
	errcode_t rc = 0;

	if (!rp->list.ino || rp->list.ino == next)
		return 0;
	rc = rewrite_tree(rp);
	fc_extents_reset(&rp->list);
	return rc;
}

static errcode_t with_extents(struct replayer *rp, ext2_ino_t ino)
{
	errcode_t rc = flush_unless(rp, ino);

	if (rc || rp->list.ino == ino)
		return rc;
	return load_extents(rp, ino);
}

/* Mark every block the list maps as in use. */
static void mark_list(struct replayer *rp)
{
	for (size_t i = 0; i < rp->list.n; i++)
		set_range(rp->fs, rp->list.ex[i].pblk, rp->list.ex[i].len, 1);
	ext2fs_mark_bb_dirty(rp->fs);
}

static errcode_t add_range(struct replayer *rp, const struct fc_tag *t)
{
	ext2_ino_t ino = le32_get(t->val);
	struct fc_extent f;
	errcode_t rc;

	if (ino != rp->list.ino && !ino_live(rp->fs, ino))
		return 0;
	fc_decode_extent(t->val + 4, &f);
	rc = with_extents(rp, ino);
	if (rc)
		return rc;
	note_inode(rp, ino);
	if (fc_extents_add(&rp->list, &f, unmap_cb, rp->fs))
		return EXT2_ET_NO_MEMORY;
	mark_list(rp);
	return 0;
}

static errcode_t del_range(struct replayer *rp, const struct fc_tag *t)
{
	ext2_ino_t ino = le32_get(t->val);
	errcode_t rc;

	if (ino != rp->list.ino && !ino_live(rp->fs, ino))
		return 0;
	rc = with_extents(rp, ino);
	if (rc)
		return rc;
	note_inode(rp, ino);
	if (fc_extents_del(&rp->list, le32_get(t->val + 4), le32_get(t->val + 8), unmap_cb,
			   rp->fs))
		return EXT2_ET_NO_MEMORY;
	mark_list(rp);
	return 0;
}

/* Group descriptors count directories; the summary pass does not
 * recount them, so follow each inode that becomes or stops being one. */
static void count_dir(ext2_filsys fs, ext2_ino_t ino, int was_dir, int is_dir)
{
	dgrp_t g = ext2fs_group_of_ino(fs, ino);
	uint32_t n = ext2fs_bg_used_dirs_count(fs, g);

	if (is_dir == was_dir || (!is_dir && n == 0))
		return;
	ext2fs_bg_used_dirs_count_set(fs, g, is_dir ? n + 1 : n - 1);
	ext2fs_group_desc_csum_set(fs, g);
	ext2fs_mark_super_dirty(fs);
}

/* The logged inode replaces the one on disk, except for its block map,
 * which ADD_RANGE and DEL_RANGE tags own (inline data comes with it). */
static errcode_t inode_tag(struct replayer *rp, const struct fc_tag *t)
{
	ext2_ino_t ino = le32_get(t->val);
	const uint8_t *raw = t->val + FC_INODE_HDR;
	size_t isz = EXT2_INODE_SIZE(rp->fs->super), len = t->len - FC_INODE_HDR;
	struct ext2_inode_large *inode;
	blk64_t count;
	errcode_t rc;
	int was_dir;

	if (!ino_ok(rp->fs, ino))
		return EXT2_ET_BAD_INODE_NUM;
	rc = flush_unless(rp, ino);
	if (rc)
		return rc;
	inode = calloc(1, isz > sizeof(*inode) ? isz : sizeof(*inode));
	if (!inode)
		return EXT2_ET_NO_MEMORY;
	rc = ext2fs_read_inode_full(rp->fs, ino, EXT2_INODE(inode), (int)isz);
	was_dir = ext2fs_test_inode_bitmap2(rp->fs->inode_map, ino) &&
		  LINUX_S_ISDIR(inode->i_mode);
	if (!rc) {
		uint8_t *dst = (uint8_t *)inode;
		struct ext3_extent_header *eh = (struct ext3_extent_header *)inode->i_block;

		memcpy(dst, raw, I_BLOCK_OFF);
		memcpy(dst + I_GENERATION_OFF, raw + I_GENERATION_OFF, len - I_GENERATION_OFF);
		if (inode->i_flags & EXT4_EXTENTS_FL) {
			if (ext2fs_le16_to_cpu(eh->eh_magic) != EXT3_EXT_MAGIC) {
				memset(eh, 0, sizeof(*eh));
				eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
				eh->eh_max = ext2fs_cpu_to_le16((sizeof(inode->i_block) - sizeof(*eh)) /
								sizeof(struct ext3_extent));
			}
		} else if (inode->i_flags & EXT4_INLINE_DATA_FL) {
			memcpy(inode->i_block, raw + I_BLOCK_OFF, sizeof(inode->i_block));
		}
		rc = count_blocks(rp->fs, ino, EXT2_INODE(inode), &count);
		if (rc == 0)
			rc = ext2fs_iblk_set(rp->fs, EXT2_INODE(inode), count);
		if (rc == 0)
			rc = ext2fs_write_inode_full(rp->fs, ino, EXT2_INODE(inode), (int)isz);
	}
	if (!rc) {
		note_inode(rp, ino);
		if (inode->i_links_count)
			ext2fs_mark_inode_bitmap2(rp->fs->inode_map, ino);
		else
			ext2fs_unmark_inode_bitmap2(rp->fs->inode_map, ino);
		ext2fs_mark_ib_dirty(rp->fs);
		count_dir(rp->fs, ino, was_dir, inode->i_links_count && LINUX_S_ISDIR(inode->i_mode));
	}
	free(inode);
	return rc;
}

static int file_type(uint16_t mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG: return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR: return EXT2_FT_DIR;
	case LINUX_S_IFCHR: return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK: return EXT2_FT_BLKDEV;
	case LINUX_S_IFLNK: return EXT2_FT_SYMLINK;
	case LINUX_S_IFIFO: return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK: return EXT2_FT_SOCK;
	}
	return 0;
}

static void dentry_name(const struct fc_tag *t, char *name)
{
	size_t n = t->len - FC_DENTRY_HDR;

	memcpy(name, t->val + FC_DENTRY_HDR, n);
	name[n] = 0;
}

/* Is blk claimed by an add-range tag being replayed?  Then the block just
 * past that range; else 0.  The kernel keeps its replay allocator off
 * those blocks, which later tags may map. */
static blk64_t claimed_until(const struct replayer *rp, blk64_t blk)
{
	for (size_t i = 0; i < rp->log->nreplay; i++) {
		const struct fc_tag *t = &rp->log->tags[i];
		struct fc_extent ex;

		if (t->type != FC_ADD_RANGE)
			continue;
		fc_decode_extent(t->val + 4, &ex);
		if (blk >= ex.pblk && blk - ex.pblk < ex.len)
			return ex.pblk + ex.len;
	}
	return 0;
}

/* Does the fast commit holding the current tag (from the tail before it to
 * the tail after it) log inode ino? */
static int logged_in_commit(const struct replayer *rp, ext2_ino_t ino)
{
	const struct fc_log *log = rp->log;
	size_t a = rp->cur, b = rp->cur;

	while (a > 0 && log->tags[a - 1].type != FC_TAIL)
		a--;
	while (b < log->nreplay && log->tags[b].type != FC_TAIL)
		b++;
	for (size_t i = a; i < b; i++)
		if (log->tags[i].type == FC_INODE && le32_get(log->tags[i].val) == ino)
			return 1;
	return 0;
}

/* libext2fs's allocator hook while replay runs (extent tree blocks): keep
 * off blocks the fast commit maps, as the kernel's replay allocator does. */
static errcode_t alloc_unclaimed(ext2_filsys fs, blk64_t goal, blk64_t *ret)
{
	const struct replayer *rp = fs->priv_data;
	size_t regions = 0, tries;
	blk64_t blk = 0, end;
	errcode_t rc;

	for (size_t i = 0; i < rp->log->nreplay; i++)
		regions += rp->log->tags[i].type == FC_ADD_RANGE;
	/* Each miss jumps past one claimed range; twice round the
	 * filesystem is enough to know there is no unclaimed block. */
	for (tries = 0; tries <= 2 * (regions + 1); tries++) {
		/* With a map given, libext2fs does not call this hook again. */
		rc = ext2fs_new_block2(fs, goal, fs->block_map, &blk);
		if (rc)
			return rc;
		end = claimed_until(rp, blk);
		if (!end) {
			*ret = blk;	/* ext2fs_alloc_block marks it in use */
			return 0;
		}
		goal = end < ext2fs_blocks_count(fs->super) ? end : fs->super->s_first_data_block;
	}
	return EXT2_ET_BLOCK_ALLOC_FAIL;
}

/* At the end, every block a changed inode maps (and its tree blocks) is in
 * use, whatever order the tags freed and claimed them in (the kernel does
 * the same after its replay). */
static errcode_t mark_inode_blocks(ext2_filsys fs, ext2_ino_t ino)
{
	struct ext2_inode inode;
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t rc;

	rc = ext2fs_read_inode(fs, ino, &inode);
	if (rc || !inode.i_links_count || !(inode.i_flags & EXT4_EXTENTS_FL) ||
	    (inode.i_flags & EXT4_INLINE_DATA_FL))
		return rc;
	rc = ext2fs_extent_open2(fs, ino, &inode, &h);
	if (rc)
		return rc;
	rc = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex);
	while (rc == 0) {
		if (!(ex.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT))
			set_range(fs, ex.e_pblk,
				  ex.e_flags & EXT2_EXTENT_FLAGS_LEAF ? ex.e_len : 1, 1);
		rc = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex);
	}
	ext2fs_extent_free(h);
	return rc == EXT2_ET_EXTENT_NO_NEXT ? 0 : rc;
}

/* A directory created by a fast commit: its block with "." and ".." is not
 * in the log (directory blocks are metadata), so make it, as the kernel's
 * replay does: logical block 0 (allocated if unmapped), i_size one block. */
static errcode_t init_new_dir(struct replayer *rp, ext2_ino_t dir, ext2_ino_t ino)
{
	ext2_filsys fs = rp->fs;
	struct ext2_inode inode;
	blk64_t pblk = 0, goal;
	char *buf = NULL;
	errcode_t rc;

	rc = ext2fs_read_inode(fs, ino, &inode);
	if (!rc)
		rc = ext2fs_bmap2(fs, ino, &inode, NULL, 0, 0, NULL, &pblk);
	if (rc)
		return rc;
	if (!pblk) {
		goal = ext2fs_find_inode_goal(fs, ino, &inode, 0);
		rc = alloc_unclaimed(fs, goal, &pblk);
		if (rc)
			return rc;
		ext2fs_block_alloc_stats2(fs, pblk, +1);
		rc = ext2fs_bmap2(fs, ino, &inode, NULL, BMAP_SET, 0, NULL, &pblk);
		if (rc)
			return rc;
		rc = ext2fs_read_inode(fs, ino, &inode);	/* bmap wrote the mapping */
		if (!rc)
			rc = ext2fs_iblk_add_blocks(fs, &inode, 1);
		if (rc)
			return rc;
	}
	rc = ext2fs_new_dir_block(fs, ino, dir, &buf);
	if (!rc)
		rc = ext2fs_write_dir_block4(fs, pblk, buf, 0, ino);
	ext2fs_free_mem(&buf);
	if (rc)
		return rc;
	inode.i_size = fs->blocksize;
	inode.i_size_high = 0;
	rc = ext2fs_write_inode(fs, ino, &inode);
	if (rc)
		return rc;
	/* The new directory's ".." is a link to its parent, unless the same
	 * fast commit logs the parent, whose count then includes it. */
	if (logged_in_commit(rp, dir))
		return 0;
	rc = ext2fs_read_inode(fs, dir, &inode);
	if (!rc && inode.i_links_count > 1 && inode.i_links_count < EXT2_LINK_MAX) {
		inode.i_links_count++;
		rc = ext2fs_write_inode(fs, dir, &inode);
	}
	return rc;
}

/* LINK and CREATE: the inode (logged before) gets a name in its parent.
 * An entry of the same name is replaced. */
static errcode_t link_tag(struct replayer *rp, const struct fc_tag *t)
{
	ext2_ino_t dir = le32_get(t->val), ino = le32_get(t->val + 4);
	char name[FC_NAME_MAX + 1];
	struct ext2_inode inode;
	errcode_t rc;
	int type;

	if (!ino_ok(rp->fs, ino))
		return t->type == FC_CREAT ? EXT2_ET_BAD_INODE_NUM : 0;
	if (!ino_live(rp->fs, dir) || (t->type == FC_LINK && !ino_live(rp->fs, ino)))
		return 0;
	rc = flush_unless(rp, 0);
	if (!rc)
		rc = ext2fs_read_inode(rp->fs, ino, &inode);
	if (rc)
		return rc;
	type = file_type(inode.i_mode);
	if (!type)
		return EXT2_ET_BAD_INODE_NUM;	/* no file type: nothing a name can point to */
	if (t->type == FC_CREAT && LINUX_S_ISDIR(inode.i_mode)) {
		rc = init_new_dir(rp, dir, ino);
		if (rc)
			return rc;
	}
	dentry_name(t, name);
	ext2fs_unlink(rp->fs, dir, name, ino, EXT2FS_UNLINK_FORCE);
	rc = ext2fs_link(rp->fs, dir, name, ino, type);
	if (rc == EXT2_ET_DIR_NO_SPACE) {
		rc = ext2fs_expand_dir(rp->fs, dir);
		if (!rc)
			rc = ext2fs_link(rp->fs, dir, name, ino, type);
	}
	note_inode(rp, dir);
	return rc;
}

/* A name that is already gone is fine: the directory block may have
 * reached the disk before the crash. */
static errcode_t unlink_tag(struct replayer *rp, const struct fc_tag *t)
{
	ext2_ino_t dir = le32_get(t->val), ino = le32_get(t->val + 4);
	char name[FC_NAME_MAX + 1];
	errcode_t rc;

	rc = flush_unless(rp, ino);
	if (rc || !ino_live(rp->fs, dir))
		return rc;
	dentry_name(t, name);
	rc = ext2fs_unlink(rp->fs, dir, name, ino, 0);
	note_inode(rp, dir);
	return rc == EXT2_ET_DIR_NO_SPACE || rc == EXT2_ET_FILE_NOT_FOUND ? 0 : rc;
}

static errcode_t apply(struct replayer *rp, const struct fc_tag *t)
{
	switch (t->type) {
	case FC_ADD_RANGE: return add_range(rp, t);
	case FC_DEL_RANGE: return del_range(rp, t);
	case FC_INODE: return inode_tag(rp, t);
	case FC_CREAT:
	case FC_LINK: return link_tag(rp, t);
	case FC_UNLINK: return unlink_tag(rp, t);
	case FC_TAIL: return flush_unless(rp, 0);
	default: return 0;	/* head, pad */
	}
}

static int io_fail(struct err *e, const char *what, errcode_t rc)
{
	return fail(e, EXIT_OPERATIONAL, "fast-commit replay: %s: %s", what, errcode_text(rc));
}

int fc_replay(ext2_filsys fs, const struct fc_log *log, struct fc_result *r, struct err *e)
{
	struct replayer rp = { .fs = fs, .log = log };
	uint16_t state = fs->super->s_state;
	int flags = fs->flags;
	void *old_priv = fs->priv_data;
	errcode_t (*old_alloc)(ext2_filsys, blk64_t, blk64_t *) = NULL;
	errcode_t rc;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	if (log->verdict != FC_REPLAY)
		return 0;
	/* Checksums are rewritten as replay goes; the caller's flags (an
	 * audit wants checksum errors seen) come back afterwards. */
	fs->flags |= EXT2_FLAG_IGNORE_CSUM_ERRORS | EXT2_FLAG_MASTER_SB_ONLY;
	rc = ext2fs_read_bitmaps(fs);
	if (rc) {
		fs->flags = flags;
		return io_fail(e, "reading the bitmaps", rc);
	}
	/* Mark the filesystem as mid-replay until it is done: a crash in
	 * between leaves a state fsck must look at. */
	fs->super->s_state |= EXT2_ERROR_FS | EXT4_FC_REPLAY_STATE;
	ext2fs_mark_super_dirty(fs);
	rc = ext2fs_flush(fs);
	if (rc) {
		fs->flags = flags;
		return io_fail(e, "marking the superblock", rc);
	}
	fs->priv_data = &rp;
	ext2fs_set_alloc_block_callback(fs, alloc_unclaimed, &old_alloc);
	for (size_t i = 0; i < log->nreplay; i++) {
		rp.cur = i;
		rc = apply(&rp, &log->tags[i]);
		if (rc) {
			r->failed = 1;
			r->failed_tag = i;
			snprintf(r->why, sizeof(r->why), "%s tag %zu (inode %u): %s",
				 fc_tag_name(log->tags[i].type), i, fc_tag_ino(&log->tags[i]),
				 errcode_text(rc));
			break;
		}
		r->applied++;
	}
	if (!r->failed) {
		rc = flush_unless(&rp, 0);
		if (rc) {
			r->failed = 1;
			r->failed_tag = log->nreplay;
			snprintf(r->why, sizeof(r->why), "rewriting inode %u's extents: %s",
				 rp.list.ino, errcode_text(rc));
		}
	}
	for (size_t i = 0; i < rp.ntouched && !r->failed; i++) {
		rc = mark_inode_blocks(fs, rp.touched[i]);
		if (rc) {
			r->failed = 1;
			r->failed_tag = log->nreplay;
			snprintf(r->why, sizeof(r->why), "marking inode %u's blocks: %s",
				 rp.touched[i], errcode_text(rc));
		}
	}
	ext2fs_mark_bb_dirty(fs);
	ext2fs_set_alloc_block_callback(fs, old_alloc, NULL);
	fs->priv_data = old_priv;
	fc_extents_reset(&rp.list);
	r->inodes = rp.ntouched;
	free(rp.touched);
	rc = ext2fs_calculate_summary_stats(fs, 0);
	if (!rc) {
		ext2fs_mark_bb_dirty(fs);
		ext2fs_mark_ib_dirty(fs);
		ext2fs_set_gdt_csum(fs);
		/* A failed replay leaves the error flag for fsck. */
		fs->super->s_state = r->failed ? (state | EXT2_ERROR_FS) : state;
		ext2fs_mark_super_dirty(fs);
		rc = ext2fs_flush(fs);
	}
	if (rc)
		ret = io_fail(e, "writing bitmaps and counters", rc);
	fs->flags = (fs->flags & ~(EXT2_FLAG_IGNORE_CSUM_ERRORS | EXT2_FLAG_MASTER_SB_ONLY)) |
		    (flags & (EXT2_FLAG_IGNORE_CSUM_ERRORS | EXT2_FLAG_MASTER_SB_ONLY));
	return ret;
}

int fc_replay_overlay(struct overlay *ov, const struct fc_log *log, struct fc_result *r,
		      struct err *e)
{
	struct image_open_opts io = { .writable = 1, .manager = overlay_io_manager };
	ext2_filsys fs;
	char name[64];
	int rc;

	memset(r, 0, sizeof(*r));
	if (log->verdict != FC_REPLAY)
		return 0;
	overlay_io_name(ov, name, sizeof(name));
	if (image_open(name, &io, &fs, e))
		return -1;
	rc = fc_replay(fs, log, r, e);
	ext2fs_free(fs);	/* fc_replay flushed what it changed */
	return rc;
}

struct write_back {
	io_channel io;
	uint8_t *buf;
	unsigned bs;
	struct err *e;
};

/* Copy one overlay chunk into the image, a whole channel block at a time. */
static int write_chunk(void *ctx, uint64_t off, const void *data, size_t len)
{
	struct write_back *w = ctx;
	uint64_t first = off / w->bs, last = (off + len - 1) / w->bs;
	errcode_t rc;

	for (uint64_t b = first; b <= last; b++) {
		uint64_t bstart = b * w->bs;
		uint64_t s = off > bstart ? off : bstart;
		uint64_t t = off + len < bstart + w->bs ? off + len : bstart + w->bs;

		rc = s == bstart && t == bstart + w->bs ? 0 :
		     io_channel_read_blk64(w->io, b, 1, w->buf);
		if (!rc) {
			memcpy(w->buf + (s - bstart), (const uint8_t *)data + (s - off), t - s);
			rc = io_channel_write_blk64(w->io, b, 1, w->buf);
		}
		if (rc)
			return io_fail(w->e, "writing the image", rc);
	}
	return 0;
}

int fc_replay_through(const char *path, io_channel io, const struct fc_log *log,
		      struct fc_result *r, struct err *e)
{
	struct write_back w = { .io = io, .bs = (unsigned)io->block_size, .e = e };
	struct overlay *ov = NULL;
	uint64_t size;
	int fd, rc = -1;

	memset(r, 0, sizeof(*r));
	if (log->verdict != FC_REPLAY)
		return 0;
	if (io_channel_flush(io))
		return fail(e, EXIT_OPERATIONAL, "%s: flushing the full-commit replay", path);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail(e, EXIT_OPERATIONAL, "%s: %s", path, strerror(errno));
	if (fd_size_bytes(fd, &size) || size == 0) {
		fail(e, EXIT_OPERATIONAL, "%s: cannot size it", path);
		goto out;
	}
	ov = overlay_new(fd, size, NULL);
	w.buf = malloc(w.bs);
	if (!ov || !w.buf) {
		fail(e, EXIT_OPERATIONAL, "out of memory");
		goto out;
	}
	if (fc_replay_overlay(ov, log, r, e) || overlay_each(ov, write_chunk, &w))
		goto out;
	if (io_channel_flush(io)) {
		fail(e, EXIT_OPERATIONAL, "%s: flushing the fast-commit replay", path);
		goto out;
	}
	rc = 0;
out:
	free(w.buf);
	overlay_free(ov);
	close(fd);
	return rc;
}
