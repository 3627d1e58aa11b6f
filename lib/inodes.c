/* inodes.c: the audit's walk over in-use inodes: extent trees, indirect
 * blocks, xattr blocks, and where written or unwritten data lies against
 * i_size.  In use means what e2fsck means: a link count, or a reserved
 * inode, or a pending orphan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/audit_ctx.h"

#define BAD_BLOCKS_INO 1
#define RESIZE_INO 7
#define MAX_EXTENTS (1U << 26)

struct inode_walk {
	struct audit_ctx *a;
	uint32_t ino;
	struct ext2_inode_large *inode;
	uint64_t size, eof_block;	/* blocks at or past eof_block lie past i_size */
	int unconverted;		/* saw unwritten blocks inside i_size */
	int scan_data;			/* a regular user file: its data is judged */
	int corrupt;
};

static void inode_finding(struct inode_walk *w, enum finding_code code, enum severity sev,
			  uint64_t lblk, uint64_t pblk, uint64_t n, const char *detail)
{
	struct finding f = { .code = code, .severity = sev, .ino = w->ino, .has_logical = 1,
			     .lblk = lblk, .lblocks = n, .block = pblk, .blocks = n };

	f.group = pblk ? (int64_t)ext2fs_group_of_blk2(w->a->fs, pblk) : NO_GROUP;
	snprintf(f.detail, sizeof(f.detail), "%s", detail);
	add_finding(w->a, &f);
}

static void corrupt(struct inode_walk *w, const char *what, errcode_t rc)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "%s%s%s", what, rc ? ": " : "", rc ? errcode_text(rc) : "");
	inode_finding(w, F_CORRUPT, SEV_ERROR, 0, 0, 0, msg);
	w->corrupt = 1;
}

/* A run of data blocks: ownership, then where it lies against i_size. */
static void data_run(struct inode_walk *w, uint64_t lblk, uint64_t pblk, uint64_t n,
		     int unwritten)
{
	struct audit_ctx *a = w->a;
	uint64_t inside = 0;

	own_range(a, w->ino, pblk, n, lblk);
	if (a->pass != 1)
		return;
	if (lblk < w->eof_block)
		inside = w->eof_block - lblk < n ? w->eof_block - lblk : n;
	if (inside && unwritten) {
		a->st->unconverted_blocks += inside;
		w->unconverted = 1;
	} else if (inside && w->scan_data) {
		scan_extent_data(a, w->ino, w->inode->i_generation, lblk, pblk, inside);
	}
	if (inside < n && !unwritten && blockmap_find(&a->orphans, w->ino))
		inode_finding(w, F_PAST_EOF, SEV_INFO, lblk + inside, pblk + inside, n - inside,
			      "blocks past i_size of a pending orphan: a truncate the kernel "
			      "finishes at the next mount");
	else if (inside < n)
		inode_finding(w, F_PAST_EOF, unwritten ? SEV_INFO : SEV_ERROR, lblk + inside,
			      pblk + inside, n - inside,
			      unwritten ? "unwritten extent past i_size (fallocate KEEP_SIZE, or an "
					  "append whose size update never committed)"
					: "written blocks past i_size");
}

static void walk_extents(struct inode_walk *w)
{
	ext2_filsys fs = w->a->fs;
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	errcode_t rc;
	int op = EXT2_EXTENT_ROOT;

	rc = ext2fs_extent_open2(fs, w->ino, (struct ext2_inode *)w->inode, &h);
	if (rc) {
		corrupt(w, "bad extent tree root", rc);
		return;
	}
	for (uint32_t steps = 0; steps < MAX_EXTENTS; steps++, op = EXT2_EXTENT_NEXT) {
		rc = ext2fs_extent_get(h, op, &ext);
		if (rc == EXT2_ET_EXTENT_NO_NEXT)
			break;
		if (rc && rc != EXT2_ET_EXTENT_CSUM_INVALID) {
			corrupt(w, "bad extent tree", rc);
			break;
		}
		if (!(ext.e_flags & EXT2_EXTENT_FLAGS_LEAF)) {
			if (ext.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)
				continue;
			own_range(w->a, w->ino, ext.e_pblk, 1, ext.e_lblk);
			/* own_range reported it; descending would only fail again. */
			if (ext.e_pblk >= ext2fs_blocks_count(fs->super))
				break;
			continue;
		}
		if (ext.e_len == 0)
			continue;
		data_run(w, ext.e_lblk, ext.e_pblk, ext.e_len,
			 !!(ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT));
	}
	ext2fs_extent_free(h);
}

static int indirect_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref,
			  int ref_offset, void *priv)
{
	struct inode_walk *w = priv;

	(void)fs, (void)ref, (void)ref_offset;
	if (w->ino == RESIZE_INO) {
		/* Its indirect blocks are the reserved descriptor blocks,
		 * already owned as filesystem metadata. */
		if (blockcnt == BLOCK_COUNT_DIND)
			own_range(w->a, w->ino, *blocknr, 1, 0);
		return 0;
	}
	if (blockcnt < 0)
		own_range(w->a, w->ino, *blocknr, 1, 0);
	else
		data_run(w, (uint64_t)blockcnt, *blocknr, 1, 0);
	return w->a->failed ? BLOCK_ABORT : 0;
}

static void walk_indirect(struct inode_walk *w)
{
	errcode_t rc = ext2fs_block_iterate3(w->a->fs, w->ino, BLOCK_FLAG_READ_ONLY, NULL,
					     indirect_block, w);

	if (rc)
		corrupt(w, "bad block map", rc);
}

static void own_xattr_block(struct inode_walk *w)
{
	struct audit_ctx *a = w->a;
	blk64_t blk = ext2fs_file_acl_block(a->fs, (struct ext2_inode *)w->inode);
	int ins;

	if (!blk)
		return;
	/* Many inodes may share one xattr block; it has one owner. */
	if (!blockmap_slot(&a->xattr_blocks, blk, &ins)) {
		a->failed = 1;
		return;
	}
	if (ins)
		own_range(a, w->ino, blk, 1, 0);
}

static int in_use(struct audit_ctx *a, uint32_t ino, const struct ext2_inode_large *inode)
{
	if (ino < EXT2_FIRST_INODE(a->fs->super))
		return inode->i_mode || ino == BAD_BLOCKS_INO || inode->i_links_count;
	return inode->i_links_count || blockmap_find(&a->orphans, ino);
}

static void count_in_use(struct audit_ctx *a, uint32_t ino, const struct ext2_inode_large *inode)
{
	dgrp_t g = (ino - 1) / a->fs->super->s_inodes_per_group;

	a->st->inodes_in_use++;
	a->inodes_per_group[g]++;
	if (LINUX_S_ISDIR(inode->i_mode)) {
		a->st->dirs++;
		a->dirs_per_group[g]++;
	} else if (LINUX_S_ISREG(inode->i_mode)) {
		a->st->files++;
	}
}

static void audit_inode(struct audit_ctx *a, uint32_t ino, struct ext2_inode_large *inode)
{
	struct inode_walk w = { .a = a, .ino = ino, .inode = inode };
	uint32_t bs = a->fs->blocksize;

	w.size = EXT2_I_SIZE(inode);
	/* Only files data can be stale in: not the journal, quota or
	 * directories, whose blocks never carry stamps or poison by design. */
	w.scan_data = a->opts->data_scan && LINUX_S_ISREG(inode->i_mode) &&
		      ino >= EXT2_FIRST_INODE(a->fs->super);
	w.eof_block = (w.size + bs - 1) / bs;
	if (a->pass == 1)
		count_in_use(a, ino, inode);
	own_xattr_block(&w);
	/* The bad-blocks inode has no file type, but its indirect map is real. */
	if (ino != BAD_BLOCKS_INO && !ext2fs_inode_has_valid_blocks2(a->fs, (struct ext2_inode *)inode))
		return;
	if (inode->i_flags & EXT4_EXTENTS_FL)
		walk_extents(&w);
	else
		walk_indirect(&w);
	if (w.unconverted && a->pass == 1)
		a->st->unconverted_files++;
}

static void hidden_finding(struct audit_ctx *a, dgrp_t g, ext2_ino_t ino, uint32_t unused)
{
	struct finding f = { .code = F_GROUP_COUNTS, .severity = SEV_ERROR, .group = g,
			     .ino = ino };

	if (a->pass != 1)
		return;
	snprintf(f.detail, sizeof(f.detail),
		 "%s hides in-use inode %u from inode scans",
		 ext2fs_bg_flags_test(a->fs, g, EXT2_BG_INODE_UNINIT) ? "the INODE_UNINIT flag"
								      : "bg_itable_unused",
		 ino);
	(void)unused;
	add_finding(a, &f);
}

static int all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Read an INODE_UNINIT group's table in large pieces; zeroed slots, the
 * common case, cost one memcmp. */
static void walk_uninit_group(struct audit_ctx *a, dgrp_t g, struct ext2_inode_large *inode,
			      int isize)
{
	ext2_filsys fs = a->fs;
	uint32_t per = fs->super->s_inodes_per_group, ipb = fs->blocksize / (uint32_t)isize;
	uint32_t chunk = (256U << 10) / fs->blocksize;	/* small: keeps RSS down */
	blk64_t itable = ext2fs_inode_table_loc(fs, g);
	uint8_t *buf = a->block_buf;
	int zeroed = ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_ZEROED);

	for (uint32_t b = 0; itable && b < fs->inode_blocks_per_group && !a->failed; b += chunk) {
		uint32_t n = fs->inode_blocks_per_group - b < chunk ? fs->inode_blocks_per_group - b
								     : chunk;

		if (io_channel_read_blk64(fs->io, itable + b, (int)n, buf))
			return;
		if (all_zero(buf, (size_t)n * fs->blocksize))
			continue;
		for (uint32_t k = 0; k < n * ipb && b * ipb + k < per; k++) {
			ext2_ino_t ino = g * per + b * ipb + k + 1;

			if (all_zero(buf + (size_t)k * (uint32_t)isize, (size_t)isize))
				continue;
			/* A table never zeroed may hold garbage: trust only inodes
			 * whose checksum holds. */
			if (ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode, isize) == 0 &&
			    (zeroed || ext2fs_inode_csum_verify(fs, ino, inode)) && in_use(a, ino, inode)) {
				hidden_finding(a, g, ino, per);
				audit_inode(a, ino, inode);
			}
		}
	}
}

/* The lazy inode scan skips each group's unused tail (bg_itable_unused)
 * and INODE_UNINIT groups.  A descriptor that understates its used inodes
 * would hide live ones, and --repair would free their blocks: so inodes
 * the bitmap says are in use are read there one by one. */
static int walk_hidden_inodes(struct audit_ctx *a, struct ext2_inode_large *inode, int isize)
{
	ext2_filsys fs = a->fs;
	uint32_t per = fs->super->s_inodes_per_group;
	int lazy = ext2fs_has_group_desc_csum(fs);

	for (dgrp_t g = 0; g < fs->group_desc_count && lazy; g++) {
		int uninit = ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT);
		uint32_t unused = uninit ? per : ext2fs_bg_itable_unused(fs, g);

		/* An INODE_UNINIT group's bitmap reads as empty, so its (zeroed)
		 * table is read instead: a flag set over live inodes hides them. */
		if (uninit && (ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_ZEROED) ||
			       ext2fs_has_feature_metadata_csum(fs->super))) {
			walk_uninit_group(a, g, inode, isize);
			continue;
		}
		ext2_ino_t first = g * per + (per - (unused > per ? per : unused)) + 1;
		ext2_ino_t last = (g + 1) * per, ino = first;

		while (unused && ino <= last) {
			ext2_ino_t s, z;

			if (ext2fs_find_first_set_inode_bitmap2(fs->inode_map, ino, last, &s))
				break;
			if (ext2fs_find_first_zero_inode_bitmap2(fs->inode_map, s, last, &z))
				z = last + 1;
			for (ext2_ino_t i = s; i < z && !a->failed; i++) {
				errcode_t rc = ext2fs_read_inode_full(fs, i, (struct ext2_inode *)inode,
								      isize);

				if ((!rc || rc == EXT2_ET_INODE_CSUM_INVALID) && in_use(a, i, inode)) {
					hidden_finding(a, g, i, unused);
					audit_inode(a, i, inode);
				}
			}
			ino = z;
		}
	}
	return a->failed ? -1 : 0;
}

int walk_inodes(struct audit_ctx *a)
{
	ext2_filsys fs = a->fs;
	ext2_inode_scan scan;
	struct ext2_inode_large *inode;
	int isize = EXT2_INODE_SIZE(fs->super);
	ext2_ino_t ino;
	errcode_t rc;

	inode = malloc((size_t)isize);
	if (!inode)
		return fail(a->e, EXIT_OPERATIONAL, "out of memory");
	rc = ext2fs_open_inode_scan(fs, 0, &scan);
	if (rc) {
		free(inode);
		return fail(a->e, EXIT_OPERATIONAL, "scanning inodes: %s", errcode_text(rc));
	}
	for (;;) {
		rc = ext2fs_get_next_inode_full(scan, &ino, (struct ext2_inode *)inode, isize);
		if (rc == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
			continue;
		if (rc && rc != EXT2_ET_INODE_CSUM_INVALID && rc != EXT2_ET_INODE_IS_GARBAGE) {
			ext2fs_close_inode_scan(scan);
			free(inode);
			return fail(a->e, EXIT_OPERATIONAL, "reading inodes: %s", errcode_text(rc));
		}
		if (ino == 0)
			break;
		if (in_use(a, ino, inode))
			audit_inode(a, ino, inode);
		if (a->opts->progress && (ino & 1023) == 0)
			a->opts->progress(a->opts->progress_ctx, ino, fs->super->s_inodes_count);
		if (a->failed)
			break;
	}
	ext2fs_close_inode_scan(scan);
	if (!a->failed)
		walk_hidden_inodes(a, inode, isize);
	free(inode);
	return a->failed ? -1 : 0;
}
