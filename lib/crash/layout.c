/* layout.c: see layout.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/crash/layout.h"

static const char *const kind_names[LK_NKINDS] = {
	[LK_SUPERBLOCK] = "superblock",	[LK_GROUP_DESC] = "group descriptor",
	[LK_BITMAP] = "bitmap",		[LK_INODE_TABLE] = "inode table",
	[LK_JOURNAL] = "journal",	[LK_DATA] = "data",
	[LK_OUTSIDE] = "outside the filesystem",
};

const char *layout_kind_name(enum layout_kind k)
{
	return k < LK_NKINDS ? kind_names[k] : "?";
}

static int add(struct fs_layout *l, uint64_t block, uint64_t blocks, enum layout_kind kind)
{
	struct layout_range *last = l->n ? &l->v[l->n - 1] : NULL;

	if (!blocks || block >= l->fs_blocks)
		return 0;
	if (blocks > l->fs_blocks - block)
		blocks = l->fs_blocks - block;
	if (last && last->kind == kind && last->block + last->blocks == block) {
		last->blocks += blocks;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct layout_range *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct layout_range){ block, blocks, kind };
	return 0;
}

static int journal_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref,
			 int ref_offset, void *priv)
{
	(void)fs, (void)blockcnt, (void)ref, (void)ref_offset;
	return add(priv, *blocknr, 1, LK_JOURNAL) ? BLOCK_ABORT : 0;
}

static int by_block(const void *a, const void *b)
{
	const struct layout_range *x = a, *y = b;

	return x->block < y->block ? -1 : x->block > y->block;
}

/* Later ranges win where two overlap (a damaged layout): cut the earlier. */
static void untangle(struct fs_layout *l)
{
	size_t k = 0;

	qsort(l->v, l->n, sizeof(*l->v), by_block);
	for (size_t i = 0; i < l->n; i++) {
		struct layout_range r = l->v[i];

		if (k && l->v[k - 1].block + l->v[k - 1].blocks > r.block) {
			uint64_t end = l->v[k - 1].block + l->v[k - 1].blocks;

			if (end >= r.block + r.blocks)
				continue;
			r.blocks -= end - r.block;
			r.block = end;
		}
		l->v[k++] = r;
	}
	l->n = k;
}

int fs_layout_build(ext2_filsys fs, struct fs_layout *l, struct err *e)
{
	int rc = 0;

	memset(l, 0, sizeof(*l));
	l->blocksize = fs->blocksize;
	l->fs_blocks = ext2fs_blocks_count(fs->super);
	/* Block 0 holds the boot sector and, for 4 KiB blocks, the superblock. */
	rc |= add(l, 0, fs->super->s_first_data_block + 1, LK_SUPERBLOCK);
	for (dgrp_t g = 0; g < fs->group_desc_count && !rc; g++) {
		blk64_t super = 0, old_desc = 0, new_desc = 0;
		blk_t used = 0;

		ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
		if (super)
			rc |= add(l, super, 1, LK_SUPERBLOCK);
		if (old_desc)
			rc |= add(l, old_desc, fs->desc_blocks + fs->super->s_reserved_gdt_blocks,
				  LK_GROUP_DESC);
		if (new_desc)
			rc |= add(l, new_desc, 1, LK_GROUP_DESC);
		rc |= add(l, ext2fs_block_bitmap_loc(fs, g), 1, LK_BITMAP);
		rc |= add(l, ext2fs_inode_bitmap_loc(fs, g), 1, LK_BITMAP);
		rc |= add(l, ext2fs_inode_table_loc(fs, g), fs->inode_blocks_per_group,
			  LK_INODE_TABLE);
	}
	if (!rc && fs->super->s_journal_inum && ext2fs_has_feature_journal(fs->super)) {
		/* A journal that cannot be walked leaves its blocks as data. */
		ext2fs_block_iterate3(fs, fs->super->s_journal_inum, BLOCK_FLAG_READ_ONLY, NULL,
				      journal_block, l);
	}
	if (rc) {
		fs_layout_free(l);
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	untangle(l);
	return 0;
}

void fs_layout_free(struct fs_layout *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

unsigned fs_layout_classify(const struct fs_layout *l, uint64_t off, uint64_t len)
{
	uint64_t first, last, at;
	unsigned kinds = 0;
	size_t lo = 0, hi = l->n;

	if (!len || !l->blocksize)
		return 0;
	first = off / l->blocksize;
	last = (off + len - 1) / l->blocksize;
	if (last >= l->fs_blocks)
		kinds |= 1U << LK_OUTSIDE;
	if (first >= l->fs_blocks)
		return kinds;
	if (last >= l->fs_blocks)
		last = l->fs_blocks - 1;
	/* The first range ending after first. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (l->v[mid].block + l->v[mid].blocks <= first)
			lo = mid + 1;
		else
			hi = mid;
	}
	at = first;
	for (size_t i = lo; i < l->n && l->v[i].block <= last; i++) {
		if (l->v[i].block > at)
			kinds |= 1U << LK_DATA;	/* a gap between ranges */
		kinds |= 1U << l->v[i].kind;
		at = l->v[i].block + l->v[i].blocks;
	}
	if (at <= last)
		kinds |= 1U << LK_DATA;
	return kinds;
}
