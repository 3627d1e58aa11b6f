/* owners.c: who owns each block.  Filesystem metadata (superblocks,
 * descriptors, bitmaps, inode tables, the resize inode's index block) and
 * every in-use inode's extent tree, indirect blocks, data and xattr block.
 * Pass 1 builds the owned and duplicate maps; pass 2 re-walks only to name
 * the owners of duplicated blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/audit/audit_ctx.h"

#define RESIZE_INO 7
#define BAD_BLOCKS_INO 1
#define MAX_EXTENTS_PER_INODE (1U << 26)

static int64_t group_of(ext2_filsys fs, uint64_t blk)
{
	return (int64_t)ext2fs_group_of_blk2(fs, blk);
}

static void report_beyond(struct audit_ctx *a, uint32_t ino, uint64_t blk, uint64_t n,
			  uint64_t lblk)
{
	struct finding f = { .code = F_CORRUPT, .severity = SEV_ERROR, .group = NO_GROUP,
			     .block = blk, .blocks = n, .ino = ino, .has_logical = ino != 0,
			     .lblk = lblk, .lblocks = n };

	snprintf(f.detail, sizeof(f.detail), "block numbers beyond the filesystem (%llu blocks)",
		 (unsigned long long)ext2fs_blocks_count(a->fs->super));
	/* What the pointer should have named is unknown: not walked. */
	note_damage(a, ino, ino ? "" : "filesystem metadata beyond the device");
	add_finding(a, &f);
}

/* Pass 2: the second claimant of a duplicated cluster names both owners. */
static void name_dup_owner(struct audit_ctx *a, uint32_t ino, uint64_t blk, uint64_t lblk)
{
	uint32_t *first;
	int ins;
	struct finding f = { .code = F_MULTIPLY_OWNED, .severity = SEV_ERROR };

	first = blockmap_slot(&a->dup_owner, blk, &ins);
	if (!first) {
		a->failed = 1;
		return;
	}
	if (ins) {
		*first = ino + 1;	/* 1 means filesystem metadata */
		return;
	}
	f.group = group_of(a->fs, blk);
	f.block = blk;
	f.blocks = 1;
	f.ino = *first - 1;
	f.other_ino = ino;
	f.has_logical = ino != 0;
	f.lblk = lblk;
	f.lblocks = 1;
	if (f.ino && f.ino == ino)
		snprintf(f.detail, sizeof(f.detail), "claimed twice by inode %u", ino);
	else if (f.ino && ino)
		snprintf(f.detail, sizeof(f.detail), "claimed by inode %u and inode %u", f.ino, ino);
	else if (ino)
		snprintf(f.detail, sizeof(f.detail),
			 "filesystem metadata, also claimed by inode %u", ino);
	else
		snprintf(f.detail, sizeof(f.detail), "claimed twice by filesystem metadata");
	add_finding(a, &f);
}

/* A block of a backup superblock or of the descriptors after it. */
static int in_backup_super(ext2_filsys fs, uint64_t blk)
{
	dgrp_t g = ext2fs_group_of_blk2(fs, blk);
	blk64_t super = 0, old_desc = 0, new_desc = 0;
	blk_t used = 0;

	if (g == 0 || !ext2fs_bg_has_super(fs, g) ||
	    ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used))
		return 0;
	return blk >= super && blk < super + used;
}

/* Claims that legally overlap earlier ones, as e2fsck allows them: any
 * inode's under the shared_blocks feature (deduplicated images), and the
 * bad blocks inode's on blocks of backup superblocks and descriptors
 * (metadata is marked first; a bad block in primary metadata, or a file
 * claiming a listed bad block, is still a duplicate). */
static int may_share(const struct audit_ctx *a, uint32_t ino, uint64_t blk)
{
	if (ino == BAD_BLOCKS_INO)
		return in_backup_super(a->fs, blk);
	return ino && ext2fs_has_feature_shared_blocks(a->fs->super);
}

#define MAX_UNMARKED_RUNS (1U << 20)	/* beyond this, UNMARKED owners go unnamed */

/* Pass 2: the parts of ino's claim that are free in the bitmap, so that
 * UNMARKED findings can name their owner. */
static void note_unmarked_owner(struct audit_ctx *a, uint32_t ino, uint64_t blk, uint64_t n,
				uint64_t lblk)
{
	blk64_t end = blk + n - 1, b = blk;

	while (b <= end && !a->unm_full) {
		blk64_t s, z;
		struct owner_run *r;

		if (ext2fs_find_first_zero_block_bitmap2(a->fs->block_map, b, end, &s))
			break;
		if (s < b)	/* bigalloc: the cluster's first block */
			s = b;
		if (ext2fs_find_first_set_block_bitmap2(a->fs->block_map, s, end, &z) || z > end)
			z = end + 1;
		if (z <= s)
			z = s + 1;
		if (a->n_unm == a->cap_unm) {
			size_t cap = a->cap_unm ? a->cap_unm * 2 : 64;

			r = cap <= MAX_UNMARKED_RUNS ? realloc(a->unm_runs, cap * sizeof(*r)) : NULL;
			if (!r) {
				a->unm_full = 1;	/* only the owners' names are lost */
				break;
			}
			a->unm_runs = r;
			a->cap_unm = cap;
		}
		a->unm_runs[a->n_unm] = (struct owner_run){ .blk = s, .n = z - s, .ino = ino,
							    .lblk = lblk + (s - blk),
							    .seq = (uint32_t)a->n_unm };
		a->n_unm++;
		b = z;
	}
}

/* Mark [blk, blk+n) as owned by ino, noting duplicates. */
void own_range(struct audit_ctx *a, uint32_t ino, uint64_t blk, uint64_t n, uint64_t lblk)
{
	ext2_filsys fs = a->fs;
	uint64_t total = ext2fs_blocks_count(fs->super);

	if (n == 0)
		return;
	if (blk < fs->super->s_first_data_block || blk >= total || n > total - blk) {
		if (a->pass == 1)
			report_beyond(a, ino, blk, n, lblk);
		return;
	}
	if (a->pass == 2) {
		blk64_t d = blk;

		/* the duplicates in the claim, run by run */
		while (d < blk + n && !ext2fs_find_first_set_block_bitmap2(a->dup, d, blk + n - 1, &d)) {
			name_dup_owner(a, ino, d, lblk + (d - blk));
			d++;
		}
		note_unmarked_owner(a, ino, blk, n, lblk);
		return;
	}
	if (ext2fs_test_block_bitmap_range2(a->owned, blk, (unsigned)n) && n < (1ULL << 31)) {
		ext2fs_mark_block_bitmap_range2(a->owned, blk, (unsigned)n);
		a->st->owned_blocks += n;
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (ext2fs_fast_test_block_bitmap2(a->owned, blk + i) && !may_share(a, ino, blk + i)) {
			/* distinct blocks claimed twice or more */
			if (!ext2fs_fast_test_block_bitmap2(a->dup, blk + i))
				a->st->multiply_owned_blocks++;
			ext2fs_fast_mark_block_bitmap2(a->dup, blk + i);
		} else
			ext2fs_fast_mark_block_bitmap2(a->owned, blk + i);
		a->st->owned_blocks++;
	}
}

static void mark_group_metadata(struct audit_ctx *a, dgrp_t g)
{
	ext2_filsys fs = a->fs;
	blk64_t itable = ext2fs_inode_table_loc(fs, g);
	blk64_t bb = ext2fs_block_bitmap_loc(fs, g), ib = ext2fs_inode_bitmap_loc(fs, g);

	/* 0: unusable, zeroed by the view and reported by the audit. */
	if (bb)
		own_range(a, 0, bb, 1, 0);
	if (ib)
		own_range(a, 0, ib, 1, 0);
	if (itable)
		own_range(a, 0, itable, fs->inode_blocks_per_group, 0);
}

/* Superblock copies, descriptors and reserved descriptor blocks (which the
 * resize inode points into), then per-group bitmaps and inode tables. */
int mark_fs_metadata(struct audit_ctx *a)
{
	ext2_filsys fs = a->fs;
	ext2fs_block_bitmap sb_and_gdt;
	errcode_t rc;
	blk64_t b;

	rc = ext2fs_allocate_subcluster_bitmap(fs, "superblocks and descriptors", &sb_and_gdt);
	if (rc)
		return fail(a->e, EXIT_OPERATIONAL, "allocating a bitmap: %s", errcode_text(rc));
	for (dgrp_t g = 0; g < fs->group_desc_count; g++)
		ext2fs_reserve_super_and_bgd(fs, g, sb_and_gdt);
	for (b = fs->super->s_first_data_block; b < ext2fs_blocks_count(fs->super);) {
		blk64_t set, zero, end = ext2fs_blocks_count(fs->super) - 1;

		if (ext2fs_find_first_set_block_bitmap2(sb_and_gdt, b, end, &set))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(sb_and_gdt, set, end, &zero))
			zero = end + 1;
		own_range(a, 0, set, zero - set, 0);
		b = zero;
	}
	ext2fs_free_block_bitmap(sb_and_gdt);
	for (dgrp_t g = 0; g < fs->group_desc_count; g++)
		mark_group_metadata(a, g);
	if (ext2fs_has_feature_mmp(fs->super) && fs->super->s_mmp_block)
		own_range(a, 0, fs->super->s_mmp_block, 1, 0);
	return 0;
}

int tree_seen_begin(struct inode_walk *w)
{
	w->tree_seen = malloc(sizeof(*w->tree_seen));
	if (!w->tree_seen || blockmap_init(w->tree_seen, 16)) {
		free(w->tree_seen);
		w->tree_seen = NULL;
		w->a->failed = 1;
		return fail(w->a->e, EXIT_OPERATIONAL, "out of memory");
	}
	return 0;
}

int tree_seen_before(struct inode_walk *w, uint64_t blk)
{
	int fresh;

	if (!w->tree_seen)
		return 0;
	if (!blockmap_slot(w->tree_seen, blk, &fresh)) {
		w->a->failed = 1;
		fail(w->a->e, EXIT_OPERATIONAL, "out of memory");
		return 1;
	}
	return !fresh;
}

void tree_seen_end(struct inode_walk *w)
{
	if (!w->tree_seen)
		return;
	blockmap_free(w->tree_seen);
	free(w->tree_seen);
	w->tree_seen = NULL;
}
