/* claims.c: what one inode's walk claims.  The extent and block-map
 * walkers (extwalk.c, indwalk.c) report every block they find here: data
 * runs are owned and placed against i_size (UNCONVERTED, PAST_EOF, the
 * data scan), tree blocks are owned, and under a damaged walk both are
 * only maybe owned (damage.c).  Kept apart from inodes.c, which drives the
 * walkers, so that the walkers and their driver do not depend on each
 * other. */
#include <stdio.h>

#include "lib/audit/audit_ctx.h"

static void inode_finding(struct inode_walk *w, enum finding_code code, enum severity sev,
			  uint64_t lblk, uint64_t pblk, uint64_t n, const char *detail)
{
	struct finding f = { .code = code, .severity = sev, .ino = w->ino, .has_logical = 1,
			     .lblk = lblk, .lblocks = n, .block = pblk, .blocks = n };

	f.group = pblk ? (int64_t)ext2fs_group_of_blk2(w->a->fs, pblk) : NO_GROUP;
	snprintf(f.detail, sizeof(f.detail), "%s", detail);
	add_finding(w->a, &f);
}

/* A run of data blocks: ownership, then where it lies against i_size. */
static void data_run(struct inode_walk *w, uint64_t lblk, uint64_t pblk, uint64_t n,
		     int unwritten)
{
	struct audit_ctx *a = w->a;
	uint64_t inside = 0;

	own_range(a, w->ino, pblk, n, lblk);
	if (a->pass != 1 || !blk_in_fs(a->fs, pblk, n))
		return;
	if (lblk < w->eof_block)
		inside = w->eof_block - lblk < n ? w->eof_block - lblk : n;
	if (inside && unwritten) {
		a->st->unconverted_blocks += inside;
		w->unconverted = 1;
	} else if (inside && w->scan_data) {
		scan_extent_data(a, w->ino, w->inode->i_generation, lblk, pblk, inside);
	}
	if (inside < n && w->verity)
		return;
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

void claim_data(struct inode_walk *w, uint64_t lblk, uint64_t pblk, uint64_t n, int unwritten)
{
	if (w->maybe)
		maybe_own(w->a, w->ino, pblk, n);
	else
		data_run(w, lblk, pblk, n, unwritten);
}

void claim_meta(struct inode_walk *w, uint64_t pblk, uint64_t lblk)
{
	if (w->maybe)
		maybe_own(w->a, w->ino, pblk, 1);
	else
		own_range(w->a, w->ino, pblk, 1, lblk);
}
