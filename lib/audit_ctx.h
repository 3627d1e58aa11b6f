/* audit_ctx.h: state shared by the audit's passes (owners.c, audit.c,
 * stale.c).  Not part of the library's interface. */
#ifndef EXT4DA_AUDIT_CTX_H
#define EXT4DA_AUDIT_CTX_H

#include "lib/audit.h"
#include "lib/blockmap.h"

#define AUDIT_BUF_BYTES (1U << 20)

struct audit_ctx {
	ext2_filsys fs;
	const struct audit_opts *opts;
	struct findings *out;
	struct audit_stats *st;
	struct err *e;
	ext2fs_block_bitmap owned;	/* block granularity, even with bigalloc */
	ext2fs_block_bitmap dup;	/* blocks claimed more than once */
	struct blockmap xattr_blocks;	/* shared xattr blocks already counted */
	struct blockmap orphans;	/* inode -> 1 */
	uint32_t *dirs_per_group;
	uint32_t *inodes_per_group;	/* in-use inodes found, per group */
	int pass;			/* 1: mark owners; 2: name owners of duplicates */
	struct blockmap dup_owner;	/* pass 2: block -> first owner (+1; 1 = metadata) */
	uint8_t *block_buf;		/* scratch of AUDIT_BUF_BYTES */
	int failed;			/* a fatal error was recorded in e */
};

/* Owners of one block range, for inode ino (0: filesystem metadata). */
void own_range(struct audit_ctx *a, uint32_t ino, uint64_t blk, uint64_t n, uint64_t lblk);

int add_finding(struct audit_ctx *a, const struct finding *f);
int walk_inodes(struct audit_ctx *a);
int mark_fs_metadata(struct audit_ctx *a);
int find_orphans(struct audit_ctx *a);

/* stale.c: the data scan of one written extent inside i_size. */
int scan_extent_data(struct audit_ctx *a, uint32_t ino, uint32_t gen, uint64_t lblk,
		     uint64_t pblk, uint64_t n);

#endif
