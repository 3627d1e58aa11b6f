/* audit.c: the audit's passes in order, and the comparisons against the
 * on-disk bitmaps and group descriptors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/endian.h"
#include "lib/audit/audit_ctx.h"
#include "lib/journal/jbd2.h"

static int orphan_finding(struct audit_ctx *a, uint32_t ino, const struct ext2_inode *inode,
			  const char *where)
{
	struct finding f = { .code = F_ORPHAN, .severity = SEV_INFO, .group = NO_GROUP,
			     .ino = ino };
	int ins;

	if (!blockmap_slot(&a->orphans, ino, &ins))
		return fail(a->e, EXIT_OPERATIONAL, "out of memory");
	if (!ins)
		return 0;
	a->st->orphans++;
	snprintf(f.detail, sizeof(f.detail),
		 "pending orphan in %s (links %u, size %llu): the kernel frees or truncates it at "
		 "the next mount", where, inode->i_links_count,
		 (unsigned long long)EXT2_I_SIZE(inode));
	return add_finding(a, &f);
}

#define ORPHAN_BLOCK_MAGIC 0x0b10ca04U
#define ORPHAN_BLOCK_TAIL 8	/* le32 magic, le32 checksum */

/* The orphan_file feature keeps orphans as le32 inode numbers in the
 * blocks of a special file, each block ending in a magic and checksum. */
static int orphan_file_orphans(struct audit_ctx *a)
{
	ext2_filsys fs = a->fs;
	ext2_ino_t ofile = fs->super->s_orphan_file_inum;
	struct ext2_inode inode;
	uint32_t bs = fs->blocksize;
	uint64_t nblocks;
	ext2_file_t f;
	uint8_t *buf;

	if (!ext2fs_has_feature_orphan_file(fs->super) || !ofile ||
	    ext2fs_read_inode(fs, ofile, &inode) || ext2fs_file_open(fs, ofile, 0, &f))
		return 0;
	buf = malloc(bs);
	if (!buf) {
		ext2fs_file_close(f);
		return fail(a->e, EXIT_OPERATIONAL, "out of memory");
	}
	nblocks = EXT2_I_SIZE(&inode) / bs;
	for (uint64_t b = 0; b < nblocks; b++) {
		unsigned int got = 0;

		if (ext2fs_file_read(f, buf, bs, &got) || got != bs)
			break;
		if (le32_get(buf + (bs - ORPHAN_BLOCK_TAIL)) != ORPHAN_BLOCK_MAGIC)
			continue;
		for (uint32_t off = 0; off + 4 <= bs - ORPHAN_BLOCK_TAIL; off += 4) {
			uint32_t ino = le32_get(buf + off);
			struct ext2_inode o;

			if (!ino || ino < EXT2_FIRST_INODE(fs->super) || ino > fs->super->s_inodes_count ||
			    ext2fs_read_inode(fs, ino, &o))
				continue;
			if (orphan_finding(a, ino, &o, "the orphan file")) {
				free(buf);
				ext2fs_file_close(f);
				return -1;
			}
		}
	}
	free(buf);
	ext2fs_file_close(f);
	return 0;
}

/* The orphan list threads pending inodes through i_dtime. */
int find_orphans(struct audit_ctx *a)
{
	ext2_filsys fs = a->fs;
	uint32_t ino = fs->super->s_last_orphan;
	struct ext2_inode inode;
	struct finding f = { .code = F_ORPHAN, .severity = SEV_INFO, .group = NO_GROUP };

	for (uint32_t steps = 0; ino && steps < fs->super->s_inodes_count; steps++) {
		if (ino < EXT2_FIRST_INODE(fs->super) || ino > fs->super->s_inodes_count ||
		    ext2fs_read_inode(fs, ino, &inode)) {
			f.severity = SEV_WARNING;
			snprintf(f.detail, sizeof(f.detail), "orphan list points at invalid inode %u",
				 ino);
			return add_finding(a, &f);
		}
		if (blockmap_find(&a->orphans, ino)) {
			f.severity = SEV_WARNING;
			snprintf(f.detail, sizeof(f.detail), "orphan list loops at inode %u", ino);
			return add_finding(a, &f);
		}
		if (orphan_finding(a, ino, &inode, "the orphan list"))
			return -1;
		ino = inode.i_dtime;
	}
	return orphan_file_orphans(a);
}

static void range_finding(struct audit_ctx *a, enum finding_code code, enum severity sev,
			  uint64_t blk, uint64_t n, uint32_t ino, const char *detail)
{
	ext2_filsys fs = a->fs;

	/* One finding per group, so each names its group. */
	while (n) {
		dgrp_t g = ext2fs_group_of_blk2(fs, blk);
		uint64_t end = ext2fs_group_last_block2(fs, g) + 1;
		uint64_t k = end - blk < n ? end - blk : n;
		struct finding f = { .code = code, .severity = sev, .group = g, .block = blk,
				     .blocks = k, .ino = ino };

		blk += k;
		n -= k;
		if (group_bitmap_unknown(a, g))
			continue;
		snprintf(f.detail, sizeof(f.detail), "%s", detail);
		add_finding(a, &f);
		if (code == F_LEAKED)
			a->st->leaked_blocks += k;
		else if (code == F_UNMARKED)
			a->st->unmarked_blocks += k;
		else
			a->st->unknown_blocks += k;
	}
}

/* Set in the bitmap, owned by nothing the audit could walk.  Leaked only
 * if no damaged structure might own it: else OWNER_UNKNOWN, which
 * --repair never frees. */
static void classify_unowned(struct audit_ctx *a, uint64_t blk, uint64_t n, int in_maybe)
{
	uint32_t ino = in_maybe ? maybe_owner(a, blk, n) : 0;
	char detail[200];

	if (!in_maybe && !a->damaged_count) {
		range_finding(a, F_LEAKED, SEV_ERROR, blk, n, 0,
			      "in use in the bitmap but owned by nothing (an uncommitted reservation?)");
		return;
	}
	if (!ino)
		ino = a->damaged_ino;
	if (ino)
		snprintf(detail, sizeof(detail),
			 "in use, owner unknown (inode %u damaged): it may map these blocks, so they "
			 "are not LEAKED", ino);
	else
		snprintf(detail, sizeof(detail),
			 "in use, owner unknown (%s): they may be owned, so they are not LEAKED",
			 a->damaged_what);
	range_finding(a, F_OWNER_UNKNOWN, SEV_WARNING, blk, n, ino, detail);
}

static void unowned_run(struct audit_ctx *a, uint64_t blk, uint64_t n, ext2fs_block_bitmap maybe)
{
	uint64_t end = blk + n;

	while (blk < end) {
		int in_maybe = ext2fs_test_block_bitmap2(maybe, blk);
		blk64_t z;

		if (in_maybe ? ext2fs_find_first_zero_block_bitmap2(maybe, blk, end - 1, &z)
			     : ext2fs_find_first_set_block_bitmap2(maybe, blk, end - 1, &z))
			z = end;
		classify_unowned(a, blk, z - blk, in_maybe);
		blk = z;
	}
}

static void unmarked_finding(struct audit_ctx *a, uint64_t blk, uint64_t n, uint32_t ino,
			     uint64_t lblk, int has_lblk)
{
	ext2_filsys fs = a->fs;

	/* One finding per group, so each names its group. */
	while (n) {
		dgrp_t g = ext2fs_group_of_blk2(fs, blk);
		uint64_t end = ext2fs_group_last_block2(fs, g) + 1;
		uint64_t k = end - blk < n ? end - blk : n;
		struct finding f = { .code = F_UNMARKED, .severity = SEV_ERROR, .group = g,
				     .block = blk, .blocks = k, .ino = ino,
				     .has_logical = has_lblk, .lblk = lblk,
				     .lblocks = has_lblk ? k : 0 };

		if (!group_bitmap_unknown(a, g)) {
			snprintf(f.detail, sizeof(f.detail), "%s but free in the bitmap: could be "
				 "allocated twice", ino ? "owned by the inode" : "filesystem metadata");
			add_finding(a, &f);
			a->st->unmarked_blocks += k;
		}
		blk += k;
		n -= k;
		lblk += k;
	}
}

static int by_block(const void *x, const void *y)
{
	const struct owner_run *p = x, *q = y;

	if (p->blk != q->blk)
		return p->blk < q->blk ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* An UNMARKED run [blk, blk+n), split where its owner changes (the first
 * claimant of a block owns it).  With bigalloc a run covers whole clusters
 * and its owners' blocks only part of them: each piece reaches to the next
 * owner's first block, so the pieces still cover the run. */
static void unmarked_run(struct audit_ctx *a, uint64_t blk, uint64_t n)
{
	uint64_t end = blk + n, pos = blk, start = blk, lblk = 0;
	uint32_t ino = 0;
	int open = 0;
	size_t lo = 0, hi = a->n_unm;

	if (a->unm_full || !a->n_unm) {
		unmarked_finding(a, blk, n, 0, 0, 0);
		return;
	}
	/* A run is owned blocks free in the bitmap, so it lies inside one
	 * UNMARKED run: the first to look at is the first starting at blk. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->unm_runs[mid].blk < blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < a->n_unm && a->unm_runs[i].blk < end; i++) {
		const struct owner_run *r = &a->unm_runs[i];
		uint64_t rs = r->blk > pos ? r->blk : pos, rl;

		if (r->blk + r->n <= rs)
			continue;	/* already owned by an earlier claimant */
		rl = r->lblk + (rs - r->blk);
		if (open && r->ino == ino && (!ino || lblk + (rs - start) == rl)) {
			pos = r->blk + r->n < end ? r->blk + r->n : end;
			continue;
		}
		if (open) {
			unmarked_finding(a, start, rs - start, ino, lblk, ino != 0);
			start = rs;
		}
		open = 1;
		ino = r->ino;
		lblk = rl - (rs - start);	/* before rs: a shared cluster's other blocks */
		if (rl < rs - start)
			lblk = 0;
		pos = r->blk + r->n < end ? r->blk + r->n : end;
	}
	unmarked_finding(a, start, end - start, open ? ino : 0, lblk, open && ino != 0);
}

/* Report the blocks set in `in` but clear in `out`, walking runs rather
 * than bits: both maps are run-length trees. */
static void report_difference(struct audit_ctx *a, ext2fs_block_bitmap in,
			      ext2fs_block_bitmap out, ext2fs_block_bitmap maybe)
{
	ext2_filsys fs = a->fs;
	blk64_t end = ext2fs_blocks_count(fs->super) - 1, b = fs->super->s_first_data_block;

	while (b <= end) {
		blk64_t s, z, gap_start, gap_end;

		if (ext2fs_find_first_set_block_bitmap2(in, b, end, &s))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(in, s, end, &z))
			z = end + 1;
		for (blk64_t c = s; c < z;) {
			if (ext2fs_find_first_zero_block_bitmap2(out, c, z - 1, &gap_start))
				break;
			if (ext2fs_find_first_set_block_bitmap2(out, gap_start, z - 1, &gap_end))
				gap_end = z;
			if (maybe)
				unowned_run(a, gap_start, gap_end - gap_start, maybe);
			else
				unmarked_run(a, gap_start, gap_end - gap_start);
			c = gap_end;
		}
		b = z;
	}
}

/* A block map at the bitmap's granularity: with bigalloc a cluster is in
 * use when any of its blocks is. */
static ext2fs_block_bitmap clusters_of(struct audit_ctx *a, ext2fs_block_bitmap blocks)
{
	ext2_filsys fs = a->fs;
	ext2fs_block_bitmap c;
	blk64_t end = ext2fs_blocks_count(fs->super) - 1, b = fs->super->s_first_data_block;

	if (EXT2FS_CLUSTER_RATIO(fs) == 1)
		return blocks;
	if (ext2fs_allocate_block_bitmap(fs, "clusters", &c))
		return NULL;
	while (b <= end) {
		blk64_t s, z;

		if (ext2fs_find_first_set_block_bitmap2(blocks, b, end, &s))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(blocks, s, end, &z))
			z = end + 1;
		ext2fs_mark_block_bitmap_range2(c, s, (unsigned)(z - s));
		b = z;
	}
	return c;
}

static void compare_bitmaps(struct audit_ctx *a)
{
	ext2fs_block_bitmap owned = clusters_of(a, a->owned), maybe = clusters_of(a, a->maybe);

	if (!owned || !maybe) {
		a->failed = 1;
		fail(a->e, EXIT_OPERATIONAL, "out of memory");
	} else {
		report_difference(a, a->fs->block_map, owned, maybe);
		report_difference(a, owned, a->fs->block_map, NULL);
	}
	if (owned && owned != a->owned)
		ext2fs_free_block_bitmap(owned);
	if (maybe && maybe != a->maybe)
		ext2fs_free_block_bitmap(maybe);
}

/* Set blocks in [first, last], counted in clusters. */
static uint64_t used_clusters(ext2_filsys fs, uint64_t first, uint64_t last)
{
	uint64_t n = 0;

	for (blk64_t b = first; b <= last;) {
		blk64_t s, z;

		if (ext2fs_find_first_set_block_bitmap2(fs->block_map, b, last, &s))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, s, last, &z))
			z = last + 1;
		n += EXT2FS_NUM_B2C(fs, z - s);
		b = z;
	}
	return n;
}

static uint64_t free_clusters_in_group(struct audit_ctx *a, dgrp_t g)
{
	ext2_filsys fs = a->fs;
	uint64_t first = ext2fs_group_first_block2(fs, g), last = ext2fs_group_last_block2(fs, g);

	return EXT2FS_NUM_B2C(fs, last - first + 1) - used_clusters(fs, first, last);
}

static uint64_t free_inodes_in_group(struct audit_ctx *a, dgrp_t g)
{
	ext2_filsys fs = a->fs;
	uint32_t per = fs->super->s_inodes_per_group;
	ext2_ino_t first = g * per + 1, last = first + per - 1, i = first;
	uint64_t used = 0;

	while (i <= last) {
		ext2_ino_t s, z;

		if (ext2fs_find_first_set_inode_bitmap2(fs->inode_map, i, last, &s))
			break;
		if (ext2fs_find_first_zero_inode_bitmap2(fs->inode_map, s, last, &z))
			z = last + 1;
		used += z - s;
		i = z;
	}
	return per - used;
}

static void group_finding(struct audit_ctx *a, dgrp_t g, const char *what, uint64_t has,
			  uint64_t should)
{
	struct finding f = { .code = F_GROUP_COUNTS, .severity = SEV_ERROR, .group = g };

	snprintf(f.detail, sizeof(f.detail), "%s is %llu, the bitmaps say %llu", what,
		 (unsigned long long)has, (unsigned long long)should);
	add_finding(a, &f);
}

static void compare_group_counts(struct audit_ctx *a)
{
	ext2_filsys fs = a->fs;
	uint64_t sum_blocks = 0, sum_inodes = 0;

	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		uint64_t fb = free_clusters_in_group(a, g), fi = free_inodes_in_group(a, g);

		sum_blocks += fb;
		sum_inodes += fi;
		if (group_bitmap_unknown(a, g) || group_inodes_unknown(a, g))
			continue;
		if (ext2fs_bg_free_blocks_count(fs, g) != fb)
			group_finding(a, g, "free blocks count", ext2fs_bg_free_blocks_count(fs, g), fb);
		if (ext2fs_bg_free_inodes_count(fs, g) != fi)
			group_finding(a, g, "free inodes count", ext2fs_bg_free_inodes_count(fs, g), fi);
		if (ext2fs_bg_used_dirs_count(fs, g) != a->dirs_per_group[g])
			group_finding(a, g, "directories count", ext2fs_bg_used_dirs_count(fs, g),
				      a->dirs_per_group[g]);
		if (ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT) && a->inodes_per_group[g])
			group_finding(a, g, "INODE_UNINIT group's in-use inodes", a->inodes_per_group[g], 0);
	}
	if (ext2fs_free_blocks_count(fs->super) != EXT2FS_C2B(fs, sum_blocks) ||
	    fs->super->s_free_inodes_count != sum_inodes) {
		struct finding f = { .code = F_GROUP_COUNTS, .severity = SEV_INFO, .group = NO_GROUP };

		snprintf(f.detail, sizeof(f.detail),
			 "superblock totals (%llu free blocks, %u free inodes) differ from the groups "
			 "(%llu, %llu); the kernel recomputes them at mount",
			 (unsigned long long)ext2fs_free_blocks_count(fs->super),
			 fs->super->s_free_inodes_count,
			 (unsigned long long)EXT2FS_C2B(fs, sum_blocks), (unsigned long long)sum_inodes);
		add_finding(a, &f);
	}
}

static int any_duplicates(struct audit_ctx *a)
{
	blk64_t found;

	return ext2fs_find_first_set_block_bitmap2(a->dup, a->fs->super->s_first_data_block,
						   ext2fs_blocks_count(a->fs->super) - 1, &found) == 0;
}

/* Any owned block free in the bitmap? */
static int any_unmarked(struct audit_ctx *a)
{
	ext2_filsys fs = a->fs;
	blk64_t end = ext2fs_blocks_count(fs->super) - 1, b = fs->super->s_first_data_block;

	while (b <= end) {
		blk64_t s, z, free_blk;

		if (ext2fs_find_first_set_block_bitmap2(a->owned, b, end, &s))
			return 0;
		if (ext2fs_find_first_zero_block_bitmap2(a->owned, s, end, &z))
			z = end + 1;
		if (!ext2fs_find_first_zero_block_bitmap2(fs->block_map, s, z - 1, &free_blk))
			return 1;
		b = z;
	}
	return 0;
}

static int setup(struct audit_ctx *a)
{
	ext2_filsys fs = a->fs;
	errcode_t rc;

	rc = ext2fs_read_bitmaps(fs);
	if (rc)
		return fail(a->e, EXIT_OPERATIONAL, "reading bitmaps: %s", errcode_text(rc));
	/* Block granularity: with bigalloc, metadata and files share clusters. */
	rc = ext2fs_allocate_subcluster_bitmap(fs, "owned blocks", &a->owned);
	if (!rc)
		rc = ext2fs_allocate_subcluster_bitmap(fs, "duplicate blocks", &a->dup);
	if (rc)
		return fail(a->e, EXIT_OPERATIONAL, "allocating bitmaps: %s", errcode_text(rc));
	if (damage_setup(a))
		return -1;
	a->block_buf = malloc(AUDIT_BUF_BYTES);
	a->itable_buf = malloc(ITABLE_BUF_BYTES);
	a->dirs_per_group = calloc(fs->group_desc_count, sizeof(uint32_t));
	a->inodes_per_group = calloc(fs->group_desc_count, sizeof(uint32_t));
	if (!a->block_buf || !a->itable_buf || !a->dirs_per_group || !a->inodes_per_group ||
	    blockmap_init(&a->xattr_blocks, 64) ||
	    blockmap_init(&a->orphans, 64) || blockmap_init(&a->dup_owner, 64))
		return fail(a->e, EXIT_OPERATIONAL, "out of memory");
	return 0;
}

static void teardown(struct audit_ctx *a)
{
	if (a->owned)
		ext2fs_free_block_bitmap(a->owned);
	if (a->dup)
		ext2fs_free_block_bitmap(a->dup);
	damage_teardown(a);
	free(a->block_buf);
	free(a->itable_buf);
	if (a->failed || !a->st->dirs_per_group)
		free(a->dirs_per_group);
	free(a->inodes_per_group);
	blockmap_free(&a->xattr_blocks);
	blockmap_free(&a->orphans);
	blockmap_free(&a->dup_owner);
	free(a->unm_runs);
}

static void unconverted_summary(struct audit_ctx *a)
{
	struct finding f = { .code = F_UNCONVERTED, .severity = SEV_INFO, .group = NO_GROUP };

	if (!a->st->unconverted_blocks)
		return;
	snprintf(f.detail, sizeof(f.detail),
		 "%llu unwritten blocks inside i_size in %llu files: fallocated, or (after a crash "
		 "with dioread_nolock) written data whose conversion never committed",
		 (unsigned long long)a->st->unconverted_blocks,
		 (unsigned long long)a->st->unconverted_files);
	f.blocks = 0;
	add_finding(a, &f);
}

/* For --repair's last check: what it must never free. */
static void keep_owner_map(struct audit_ctx *a)
{
	ext2_filsys fs = a->fs;
	blk64_t end = ext2fs_blocks_count(fs->super) - 1, b = fs->super->s_first_data_block;
	ext2fs_block_bitmap map;

	if (ext2fs_copy_bitmap(a->owned, &map)) {
		a->failed = 1;
		fail(a->e, EXIT_OPERATIONAL, "out of memory");
		return;
	}
	while (b <= end) {
		blk64_t s, z;

		if (ext2fs_find_first_set_block_bitmap2(a->maybe, b, end, &s))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(a->maybe, s, end, &z))
			z = end + 1;
		ext2fs_mark_block_bitmap_range2(map, s, (unsigned)(z - s));
		b = z;
	}
	a->st->owner_map = map;
}

int audit_run(ext2_filsys fs, const struct audit_opts *opts, struct findings *out,
	      struct audit_stats *stats, struct err *e)
{
	static const struct audit_opts defaults;
	struct audit_ctx a = { .fs = fs, .opts = opts ? opts : &defaults, .out = out,
			       .st = stats, .e = e, .pass = 1 };
	int rc = -1;

	memset(stats, 0, sizeof(*stats));
	if (setup(&a))
		goto out;
	desc_findings(&a);
	if (find_orphans(&a) || mark_fs_metadata(&a) || walk_inodes(&a))
		goto out;
	/* Pass 2 names the owners of duplicated and of unmarked blocks. */
	if (any_duplicates(&a) || any_unmarked(&a)) {
		a.pass = 2;
		blockmap_free(&a.xattr_blocks);
		if (blockmap_init(&a.xattr_blocks, 64)) {
			fail(e, EXIT_OPERATIONAL, "out of memory");
			goto out;
		}
		if (mark_fs_metadata(&a) || walk_inodes(&a))
			goto out;
		a.pass = 1;
		if (a.n_unm)	/* pass 2 may be for duplicates only */
			qsort(a.unm_runs, a.n_unm, sizeof(*a.unm_runs), by_block);
	}
	compare_bitmaps(&a);
	compare_group_counts(&a);
	unconverted_summary(&a);
	stats->damaged = a.damaged_count;
	if (!a.failed && a.opts->keep_owner_map)
		keep_owner_map(&a);
	rc = a.failed ? -1 : 0;
	if (rc == 0)
		stats->dirs_per_group = a.dirs_per_group;
out:
	teardown(&a);
	return rc;
}
