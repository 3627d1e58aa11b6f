/* damage.c: what the audit knows about blocks it cannot attribute for
 * sure.  A damaged inode may still map blocks the walk could not reach;
 * calling those LEAKED would let --repair free a file's data.  So the
 * audit keeps a second map, of blocks that a damaged structure may own
 * (entries salvaged from a bad node, other readings of a contradictory
 * inode), and remembers the first structure it could not walk at all:
 * while there is one, no unowned block is called LEAKED. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/audit/audit_ctx.h"

#define MAX_MAYBE_RUNS (1U << 16)	/* beyond this, owners go unnamed */
#define MAX_REPORTS_PER_INODE 16

int blk_in_fs(ext2_filsys fs, uint64_t blk, uint64_t n)
{
	uint64_t total = ext2fs_blocks_count(fs->super);

	return n && blk >= fs->super->s_first_data_block && blk < total && n <= total - blk;
}

int damage_setup(struct audit_ctx *a)
{
	errcode_t rc = ext2fs_allocate_subcluster_bitmap(a->fs, "maybe owned blocks", &a->maybe);

	if (rc)
		return fail(a->e, EXIT_OPERATIONAL, "allocating bitmaps: %s", errcode_text(rc));
	return 0;
}

void damage_teardown(struct audit_ctx *a)
{
	if (a->maybe)
		ext2fs_free_block_bitmap(a->maybe);
	a->maybe = NULL;
	free(a->maybe_runs);
	a->maybe_runs = NULL;
}

static void remember_run(struct audit_ctx *a, uint32_t ino, uint64_t blk, uint64_t n)
{
	struct maybe_run *r;

	if (a->n_maybe_runs) {
		r = &a->maybe_runs[a->n_maybe_runs - 1];
		if (r->ino == ino && r->blk + r->n == blk) {
			r->n += n;
			return;
		}
	}
	if (a->n_maybe_runs == a->cap_maybe_runs) {
		size_t cap = a->cap_maybe_runs ? a->cap_maybe_runs * 2 : 64;

		if (cap > MAX_MAYBE_RUNS)
			return;
		r = realloc(a->maybe_runs, cap * sizeof(*r));
		if (!r)
			return;	/* only the name of the owner is lost */
		a->maybe_runs = r;
		a->cap_maybe_runs = cap;
	}
	a->maybe_runs[a->n_maybe_runs++] = (struct maybe_run){ .blk = blk, .n = n, .ino = ino };
}

/* Pass 1 only: pass 2 names owners of duplicates, and maybe claims are
 * never duplicates. */
void maybe_own(struct audit_ctx *a, uint32_t ino, uint64_t blk, uint64_t n)
{
	if (a->pass != 1 || !blk_in_fs(a->fs, blk, n) || n >= (1ULL << 31))
		return;
	ext2fs_mark_block_bitmap_range2(a->maybe, blk, (unsigned)n);
	remember_run(a, ino, blk, n);
}

void note_damage(struct audit_ctx *a, uint32_t ino, const char *what)
{
	if (a->pass != 1)
		return;
	if (a->damaged_count++ == 0) {
		a->damaged_ino = ino;
		snprintf(a->damaged_what, sizeof(a->damaged_what), "%s", what);
	}
}

/* The inode that may own blk (0 if none is known). */
uint32_t maybe_owner(const struct audit_ctx *a, uint64_t blk, uint64_t n)
{
	for (size_t i = 0; i < a->n_maybe_runs; i++) {
		const struct maybe_run *r = &a->maybe_runs[i];

		if (r->blk < blk + n && blk < r->blk + r->n)
			return r->ino;
	}
	return 0;
}

void walk_corrupt(struct inode_walk *w, uint64_t lblk, uint64_t lblocks, uint64_t blk,
		  uint64_t blocks, const char *fmt, ...)
{
	struct finding f = { .code = F_CORRUPT, .severity = SEV_ERROR, .group = NO_GROUP,
			     .ino = w->ino, .has_logical = 1, .lblk = lblk,
			     .lblocks = lblocks, .block = blk, .blocks = blocks };
	va_list ap;

	if (w->a->pass != 1 || w->maybe)
		return;
	note_damage(w->a, w->ino, "");
	if (w->reports >= MAX_REPORTS_PER_INODE) {
		w->unreported++;
		return;
	}
	w->reports++;
	va_start(ap, fmt);
	vsnprintf(f.detail, sizeof(f.detail), fmt, ap);
	va_end(ap);
	add_finding(w->a, &f);
}

static int desc_bad(const struct audit_ctx *a, dgrp_t g, int flag)
{
	return a->opts->desc_damage && (a->opts->desc_damage[g].flags & flag);
}

int group_bitmap_unknown(const struct audit_ctx *a, dgrp_t g)
{
	return desc_bad(a, g, DESC_BAD_BBITMAP);
}

int group_inodes_unknown(const struct audit_ctx *a, dgrp_t g)
{
	return desc_bad(a, g, DESC_BAD_IBITMAP | DESC_BAD_ITABLE);
}

static void desc_finding(struct audit_ctx *a, dgrp_t g, const char *what, uint64_t at,
			 const char *so)
{
	struct finding f = { .code = F_CORRUPT, .severity = SEV_ERROR, .group = g };

	snprintf(f.detail, sizeof(f.detail), "group descriptor: %s at block %llu is unusable: %s",
		 what, (unsigned long long)at, so);
	add_finding(a, &f);
}

/* The view zeroed unusable descriptor locations; say which, and what the
 * audit cannot know because of them. */
void desc_findings(struct audit_ctx *a)
{
	for (dgrp_t g = 0; a->opts->desc_damage && g < a->fs->group_desc_count; g++) {
		const struct desc_damage *d = &a->opts->desc_damage[g];
		char what[96];

		if (d->flags & DESC_BAD_BBITMAP)
			desc_finding(a, g, "the block bitmap", d->bbitmap,
				     "which of the group's blocks are in use is unknown; its blocks and "
				     "counts are not compared");
		if (d->flags & DESC_BAD_IBITMAP)
			desc_finding(a, g, "the inode bitmap", d->ibitmap,
				     "the group's counts are not compared");
		if (d->flags & DESC_BAD_ITABLE)
			desc_finding(a, g, "the inode table", d->itable,
				     "the group's inodes cannot be read, and what they own is unknown");
		/* Where the real bitmaps or table lie is unknown: any unowned
		 * block may be one of them. */
		if (d->flags) {
			snprintf(what, sizeof(what), "the group descriptor of group %u is damaged", g);
			note_damage(a, 0, what);
		}
	}
}
