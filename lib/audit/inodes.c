/* inodes.c: the audit's walk over in-use inodes: extent trees, indirect
 * blocks and xattr blocks (what each block claims is claims.c's).  In use
 * means what e2fsck means: a link count, or a reserved
 * inode, or a pending orphan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/audit/audit_ctx.h"

#define BAD_BLOCKS_INO 1

enum kind { K_DATA, K_SPECIAL, K_INVALID };

static enum kind kind_of(struct inode_walk *w)
{
	switch (w->inode->i_mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:
	case LINUX_S_IFDIR:
	case LINUX_S_IFLNK:
		return K_DATA;
	case LINUX_S_IFCHR:
	case LINUX_S_IFBLK:
	case LINUX_S_IFIFO:
	case LINUX_S_IFSOCK:
		return K_SPECIAL;
	case 0:
		/* Reserved inodes (the bad blocks list) may have no mode. */
		return w->ino < EXT2_FIRST_INODE(w->a->fs->super) ? K_DATA : K_INVALID;
	default:
		return K_INVALID;
	}
}

static const char *special_name(uint16_t mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFCHR: return "a character device";
	case LINUX_S_IFBLK: return "a block device";
	case LINUX_S_IFIFO: return "a FIFO";
	default: return "a socket";
	}
}

/* Why the inode's mode, flags and i_block disagree about its block map,
 * or NULL.  Device inodes keep their numbers in i_block[0] or [1] (e2fsck
 * allows the first four words); the rest must be empty. */
static const char *contradiction(struct inode_walk *w, int header, char *buf, size_t len)
{
	const struct ext2_inode_large *in = w->inode;
	int ext_fl = !!(in->i_flags & EXT4_EXTENTS_FL), inline_fl = !!(in->i_flags & EXT4_INLINE_DATA_FL);
	int tail = 0;

	for (int i = 4; i < EXT2_N_BLOCKS; i++)
		tail |= in->i_block[i] != 0;
	switch (kind_of(w)) {
	case K_INVALID:
		snprintf(buf, len, "invalid file type in mode 0%o", in->i_mode);
		return buf;
	case K_SPECIAL:
		if (!ext_fl && !header && !tail && !inline_fl)
			break;
		snprintf(buf, len, "the mode says %s, but the inode has a block map%s",
			 special_name(in->i_mode), header ? " (an extent tree)" : "");
		return buf;
	case K_DATA:
		if (inline_fl && (ext_fl || header))
			return "inline data flag together with an extent tree";
		if (!ext_fl && header && !inline_fl)
			return "an extent header in a block-mapped inode (extents flag clear)";
		break;
	}
	return NULL;
}

/* An inode whose own description of its map cannot be trusted: walk every
 * reading that could be true, so that whichever it is, its blocks stay
 * owned.  A well-formed extent root is strong evidence: owned; a block map
 * read from the same bytes is only maybe. */
static void walk_contradictory(struct inode_walk *w, int header, const char *why)
{
	int ext_fl = !!(w->inode->i_flags & EXT4_EXTENTS_FL);

	walk_corrupt(w, 0, 0, 0, 0, "%s", why);
	if (header || ext_fl)
		walk_extent_tree(w);
	if (!header) {
		w->maybe = ext_fl || w->inode->i_blocks == 0;
		walk_block_map(w);
		w->maybe = 0;
	}
}

static void walk_blocks(struct inode_walk *w)
{
	struct ext2_inode_large *in = w->inode;
	int header = extent_root_ok((const uint8_t *)in->i_block);
	const char *why;
	char buf[120];

	why = contradiction(w, header, buf, sizeof(buf));
	if (why) {
		walk_contradictory(w, header, why);
		return;
	}
	if (kind_of(w) == K_SPECIAL || (in->i_flags & EXT4_INLINE_DATA_FL))
		return;
	/* Fast symbolic links keep their target in i_block. */
	if (LINUX_S_ISLNK(in->i_mode) &&
	    !ext2fs_inode_has_valid_blocks2(w->a->fs, (struct ext2_inode *)in))
		return;
	if (!(in->i_flags & EXT4_EXTENTS_FL)) {
		walk_block_map(w);
		return;
	}
	walk_extent_tree(w);
	if (!header) {
		/* The root is unreadable: the map might be a block map. */
		w->maybe = 1;
		walk_block_map(w);
		w->maybe = 0;
	}
}

static void own_xattr_block(struct inode_walk *w)
{
	struct audit_ctx *a = w->a;
	blk64_t blk = ext2fs_file_acl_block(a->fs, (struct ext2_inode *)w->inode);
	int ins;

	/* Without ext_attr nothing reads i_file_acl: its block is not the
	 * inode's (e2fsck leaves it free, and would zero the field). */
	if (!blk || !ext2fs_has_feature_xattr(a->fs->super))
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
	/* fs-verity keeps the Merkle tree and its descriptor past i_size. */
	w.verity = (inode->i_flags & EXT4_VERITY_FL) && ext2fs_has_feature_verity(a->fs->super);
	if (a->pass == 1)
		count_in_use(a, ino, inode);
	own_xattr_block(&w);
	walk_blocks(&w);
	if (w.unreported) {
		w.reports = 0;
		walk_corrupt(&w, 0, 0, 0, 0, "and %u more damaged entries", w.unreported);
	}
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
 * common case, cost one memcmp.  The piece stays in a->itable_buf while
 * its inodes are audited: a data scan reads their blocks into block_buf. */
static void walk_uninit_group(struct audit_ctx *a, dgrp_t g, struct ext2_inode_large *inode,
			      int isize)
{
	ext2_filsys fs = a->fs;
	uint32_t per = fs->super->s_inodes_per_group, ipb = fs->blocksize / (uint32_t)isize;
	uint32_t chunk = ITABLE_BUF_BYTES / fs->blocksize;	/* small: keeps RSS down */
	blk64_t itable = ext2fs_inode_table_loc(fs, g);
	uint8_t *buf = a->itable_buf;
	int zeroed = ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_ZEROED);

	for (uint32_t b = 0; itable && b < fs->inode_blocks_per_group && !a->failed; b += chunk) {
		uint32_t n = fs->inode_blocks_per_group - b < chunk ? fs->inode_blocks_per_group - b
								     : chunk;

		if (io_channel_read_blk64(fs->io, itable + b, (int)n, buf))
			return;
		if (a->pass == 1)
			a->st->uninit_itable_blocks_read += n;
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

/* e2fsck reads nothing of a group whose INODE_UNINIT flag its verified
 * descriptor checksum vouches for.  The audit reads one block more, the
 * group's on-disk inode bitmap, which mke2fs never writes for such a group
 * (zeros on a fresh or sparse image): if it shows inodes in use, the flag
 * was set over live inodes and the table is read after all. */
static int uninit_group_trusted(struct audit_ctx *a, dgrp_t g)
{
	ext2_filsys fs = a->fs;
	blk64_t ib = ext2fs_inode_bitmap_loc(fs, g);
	uint32_t bytes = fs->super->s_inodes_per_group / 8;

	if (!ext2fs_group_desc_csum_verify(fs, g) || !blk_in_fs(fs, ib, 1) ||
	    bytes > fs->blocksize || io_channel_read_blk64(fs->io, ib, 1, a->block_buf))
		return 0;
	return all_zero(a->block_buf, bytes);
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
		if (uninit && uninit_group_trusted(a, g)) {
			a->st->uninit_groups_skipped += a->pass == 1;
			continue;
		}
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

/* The bad blocks list names a block of the inode table: the scan hands
 * out zeros for its inodes.  mke2fs never puts a table on a bad block, so
 * the list is damaged: read the inodes anyway, and say so once a block. */
static int read_despite_badblocks(struct audit_ctx *a, ext2_ino_t ino,
				  struct ext2_inode_large *inode, int isize, blk64_t *last)
{
	ext2_filsys fs = a->fs;
	uint32_t per = fs->super->s_inodes_per_group;
	dgrp_t g = (ino - 1) / per;
	blk64_t blk = ext2fs_inode_table_loc(fs, g) + (blk64_t)((ino - 1) % per) * (uint32_t)isize /
						      fs->blocksize;
	errcode_t rc;

	if (blk != *last && a->pass == 1) {
		struct finding f = { .code = F_CORRUPT, .severity = SEV_ERROR, .group = g,
				     .block = blk, .blocks = 1, .ino = BAD_BLOCKS_INO };

		snprintf(f.detail, sizeof(f.detail),
			 "the bad blocks list names block %llu of group %u's inode table; its inodes "
			 "were read anyway", (unsigned long long)blk, g);
		add_finding(a, &f);
	}
	*last = blk;
	rc = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode, isize);
	return rc == 0 || rc == EXT2_ET_INODE_CSUM_INVALID;
}

/* A group's inode table could not be read: its inodes' blocks are owned
 * by someone the audit cannot see. */
static void unreadable_table(struct audit_ctx *a, dgrp_t g, errcode_t rc)
{
	struct finding f = { .code = F_CORRUPT, .severity = SEV_ERROR, .group = g };
	char what[96];

	if (a->pass != 1)
		return;
	snprintf(what, sizeof(what), "the inode table of group %u could not be read", g);
	note_damage(a, 0, what);
	snprintf(f.detail, sizeof(f.detail), "%s: %s", what, errcode_text(rc));
	add_finding(a, &f);
}

static int scan_next(struct audit_ctx *a, ext2_inode_scan scan, ext2_ino_t *ino,
		     struct ext2_inode_large *inode, int isize, blk64_t *bad_last)
{
	ext2_filsys fs = a->fs;
	ext2_ino_t prev = *ino;

	for (dgrp_t tries = 0; tries <= fs->group_desc_count; tries++) {
		errcode_t rc = ext2fs_get_next_inode_full(scan, ino, (struct ext2_inode *)inode, isize);
		dgrp_t g;

		if (rc == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
			return read_despite_badblocks(a, *ino, inode, isize, bad_last) ? 0 : 1;
		if (!rc || rc == EXT2_ET_INODE_CSUM_INVALID || rc == EXT2_ET_INODE_IS_GARBAGE)
			return 0;
		g = prev / fs->super->s_inodes_per_group;
		unreadable_table(a, g, rc);
		if (g + 1 >= fs->group_desc_count || ext2fs_inode_scan_goto_blockgroup(scan, (int)g + 1)) {
			*ino = 0;
			return 0;
		}
		prev = (g + 1) * fs->super->s_inodes_per_group;
	}
	*ino = 0;
	return 0;
}

int walk_inodes(struct audit_ctx *a)
{
	ext2_filsys fs = a->fs;
	ext2_inode_scan scan;
	struct ext2_inode_large *inode;
	int isize = EXT2_INODE_SIZE(fs->super);
	ext2_ino_t ino = 0;
	blk64_t bad_last = 0;
	errcode_t rc;

	inode = malloc((size_t)isize);
	if (!inode)
		return fail(a->e, EXIT_OPERATIONAL, "out of memory");
	rc = ext2fs_open_inode_scan(fs, 0, &scan);
	if (rc) {
		free(inode);
		return fail(a->e, EXIT_OPERATIONAL, "scanning inodes: %s", errcode_text(rc));
	}
	/* Groups whose table location is unusable were zeroed by the audit's
	 * descriptor check and reported there. */
	ext2fs_inode_scan_flags(scan, EXT2_SF_SKIP_MISSING_ITABLE, 0);
	for (;;) {
		int skip = scan_next(a, scan, &ino, inode, isize, &bad_last);

		if (ino == 0 || a->failed)
			break;
		if (!skip && in_use(a, ino, inode))
			audit_inode(a, ino, inode);
		if (a->opts->progress && (ino & 1023) == 0)
			a->opts->progress(a->opts->progress_ctx, ino, fs->super->s_inodes_count);
	}
	ext2fs_close_inode_scan(scan);
	if (!a->failed)
		walk_hidden_inodes(a, inode, isize);
	free(inode);
	return a->failed ? -1 : 0;
}
