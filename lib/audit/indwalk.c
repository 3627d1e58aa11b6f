/* indwalk.c: a block-mapped inode's direct, indirect, double and triple
 * indirect blocks, walked past damage: a pointer beyond the filesystem or
 * an unreadable indirect block is a CORRUPT finding for the logical range
 * it covers, and the walk goes on with the next pointer. */
#include <stdlib.h>

#include "lib/core/endian.h"
#include "lib/audit/audit_ctx.h"
#include "lib/journal/jbd2.h"

#define N_DIRECT 12
#define RESIZE_INO 7

static const char *const level_name[] = { "", "indirect", "double indirect", "triple indirect" };

/* Logical blocks one pointer of an indirect block at level covers. */
static uint64_t span_of(uint64_t apb, int level)
{
	uint64_t s = 1;

	while (--level > 0)
		s *= apb;
	return s;
}

/* A doubtful reading (another interpretation of a contradictory inode)
 * trusts an indirect block only if every pointer in it is a block. */
static int plausible(ext2_filsys fs, const uint8_t *buf, uint32_t apb)
{
	for (uint32_t i = 0; i < apb; i++) {
		uint32_t v = le32_get(buf + (size_t)i * 4);

		if (v && !blk_in_fs(fs, v, 1))
			return 0;
	}
	return 1;
}

static void walk_ind(struct inode_walk *w, uint64_t blk, int level, uint64_t lblk);

static void bad_run(struct inode_walk *w, int level, uint64_t lblk, uint64_t n, uint32_t first)
{
	uint64_t span = span_of(w->a->fs->blocksize / 4, level);

	if (n)
		walk_corrupt(w, lblk, n * span, 0, 0,
			     "%llu block pointer(s) in a%s %s block beyond the filesystem (the first: %u)",
			     (unsigned long long)n, level == 1 ? "n" : "", level_name[level], first);
}

static void walk_pointers(struct inode_walk *w, const uint8_t *buf, int level, uint64_t lblk)
{
	uint32_t apb = w->a->fs->blocksize / 4, first_bad = 0;
	uint64_t span = span_of(apb, level), bad_start = 0, bad_n = 0;

	for (uint32_t i = 0; i < apb && !w->a->failed; i++) {
		uint32_t v = le32_get(buf + (size_t)i * 4);
		uint64_t l = lblk + i * span;

		if (v && !blk_in_fs(w->a->fs, v, 1)) {
			if (!bad_n++) {
				bad_start = l;
				first_bad = v;
			}
			continue;
		}
		bad_run(w, level, bad_start, bad_n, first_bad);
		bad_n = 0;
		if (!v)
			continue;
		if (level == 1)
			claim_data(w, l, v, 1, 0);
		else
			walk_ind(w, v, level - 1, l);
	}
	bad_run(w, level, bad_start, bad_n, first_bad);
}

static void walk_ind(struct inode_walk *w, uint64_t blk, int level, uint64_t lblk)
{
	ext2_filsys fs = w->a->fs;
	uint32_t apb = fs->blocksize / 4;
	uint64_t covers = span_of(apb, level + 1);
	uint8_t *buf;
	errcode_t rc;

	if (!blk)
		return;
	if (!blk_in_fs(fs, blk, 1) || ++w->nodes > ext2fs_blocks_count(fs->super)) {
		walk_corrupt(w, lblk, covers, 0, 0, "%s block %llu is beyond the filesystem",
			     level_name[level], (unsigned long long)blk);
		return;
	}
	/* A tree names each indirect block once.  Following one again (a
	 * block that points to itself, or to an ancestor) would claim the
	 * same blocks up to apb^3 times: millions of findings from a few KiB. */
	if (tree_seen_before(w, blk)) {
		if (!w->a->failed)
			walk_corrupt(w, lblk, covers, 0, 0,
				     "%s block %llu is already in this file's block map (a loop)",
				     level_name[level], (unsigned long long)blk);
		return;
	}
	buf = malloc(fs->blocksize);
	if (!buf) {
		w->a->failed = 1;
		fail(w->a->e, EXIT_OPERATIONAL, "out of memory");
		return;
	}
	rc = io_channel_read_blk64(fs->io, blk, 1, buf);
	if (rc) {
		walk_corrupt(w, lblk, covers, blk, 1, "cannot read %s block: %s", level_name[level],
			     errcode_text(rc));
		maybe_own(w->a, w->ino, blk, 1);
	} else if (!w->maybe || plausible(fs, buf, apb)) {
		claim_meta(w, blk, 0);
		walk_pointers(w, buf, level, lblk);
	}
	free(buf);
}

void walk_block_map(struct inode_walk *w)
{
	const uint32_t *ib = w->inode->i_block;
	uint64_t apb = w->a->fs->blocksize / 4;

	/* The resize inode's indirect blocks are the reserved descriptor
	 * blocks, already owned as filesystem metadata. */
	if (w->ino == RESIZE_INO) {
		if (ib[EXT2_DIND_BLOCK])
			claim_meta(w, ib[EXT2_DIND_BLOCK], 0);
		return;
	}
	for (uint32_t i = 0; i < N_DIRECT; i++)
		if (ib[i])
			claim_data(w, i, ib[i], 1, 0);
	if (tree_seen_begin(w))
		return;
	walk_ind(w, ib[EXT2_IND_BLOCK], 1, N_DIRECT);
	walk_ind(w, ib[EXT2_DIND_BLOCK], 2, N_DIRECT + apb);
	walk_ind(w, ib[EXT2_TIND_BLOCK], 3, N_DIRECT + apb + apb * apb);
	tree_seen_end(w);
}
