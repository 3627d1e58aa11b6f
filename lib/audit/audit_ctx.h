/* audit_ctx.h: state shared by the audit's passes (owners.c, audit.c,
 * stale.c).  Not part of the library's interface. */
#ifndef EXT4DA_AUDIT_CTX_H
#define EXT4DA_AUDIT_CTX_H

#include "lib/audit/audit.h"
#include "lib/blockdev/blockmap.h"

#define AUDIT_BUF_BYTES (1U << 20)
/* Inode tables are walked in pieces of this size (walk_uninit_group). */
#define ITABLE_BUF_BYTES (256U << 10)

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
	uint8_t *itable_buf;		/* ITABLE_BUF_BYTES of inode table, kept
					 * while its inodes (and their data,
					 * in block_buf) are audited */
	int failed;			/* a fatal error was recorded in e */
	/* Damage: blocks a damaged structure may own (salvaged entries, other
	 * readings of a contradictory inode), and who may own them; and the
	 * first structure that could not be walked at all.  A bitmap-set
	 * block nobody owns is OWNER_UNKNOWN rather than LEAKED while either
	 * says it might not be leaked. */
	ext2fs_block_bitmap maybe;
	struct maybe_run *maybe_runs;
	size_t n_maybe_runs, cap_maybe_runs;
	/* Pass 2: who owns each block that is free in the bitmap (UNMARKED),
	 * as runs in the order claimed; unm_full when there were too many. */
	struct owner_run *unm_runs;
	size_t n_unm, cap_unm;
	int unm_full;
	uint32_t damaged_ino;		/* first inode with an unwalked part */
	uint64_t damaged_count;		/* structures with unwalked parts */
	char damaged_what[96];		/* the first, described */
};

struct owner_run {
	uint64_t blk, n, lblk;
	uint32_t ino;		/* 0: filesystem metadata */
	uint32_t seq;		/* claim order, for a stable sort */
};

struct maybe_run {
	uint64_t blk, n;
	uint32_t ino;
};

/* One inode's walk: shared by inodes.c, extwalk.c and indwalk.c. */
struct inode_walk {
	struct audit_ctx *a;
	uint32_t ino;
	struct ext2_inode_large *inode;
	uint64_t size, eof_block;	/* blocks at or past eof_block lie past i_size */
	int unconverted;		/* saw unwritten blocks inside i_size */
	int scan_data;			/* a regular user file: its data is judged */
	int verity;			/* fs-verity: blocks past i_size are its Merkle tree */
	int maybe;			/* claims go to the maybe map (a doubtful reading) */
	uint32_t reports;		/* CORRUPT findings made for this inode */
	uint32_t unreported;		/* ... and those left out past the cap */
	uint64_t nodes;			/* tree blocks read: a loop guard */
	struct blockmap *tree_seen;	/* indirect or extent tree blocks walked */
};

/* The tree blocks of one file walked so far (owners.c): a tree names each
 * once, so one met again is a loop or a shared subtree, and following it
 * would claim the same blocks over and over. */
int tree_seen_begin(struct inode_walk *w);
int tree_seen_before(struct inode_walk *w, uint64_t blk);
void tree_seen_end(struct inode_walk *w);

/* Owners of one block range, for inode ino (0: filesystem metadata). */
void own_range(struct audit_ctx *a, uint32_t ino, uint64_t blk, uint64_t n, uint64_t lblk);

/* Append a finding to the audit's report; inline so that every pass can
 * report without depending on another pass's file. */
static inline int add_finding(struct audit_ctx *a, const struct finding *f)
{
	if (findings_add(a->out, f)) {
		a->failed = 1;
		return fail(a->e, EXIT_OPERATIONAL, "out of memory");
	}
	return 0;
}

/* damage.c: doubtful ownership and unwalkable structures. */
void maybe_own(struct audit_ctx *a, uint32_t ino, uint64_t blk, uint64_t n);
void note_damage(struct audit_ctx *a, uint32_t ino, const char *what);
uint32_t maybe_owner(const struct audit_ctx *a, uint64_t blk, uint64_t n);
int damage_setup(struct audit_ctx *a);
/* Unusable group descriptor locations (opts->desc_damage). */
void desc_findings(struct audit_ctx *a);
int group_bitmap_unknown(const struct audit_ctx *a, dgrp_t g);
int group_inodes_unknown(const struct audit_ctx *a, dgrp_t g);
void damage_teardown(struct audit_ctx *a);

/* claims.c: a range of ino's blocks (data runs, or tree blocks): owned, or
 * only maybe owned when w->maybe; data runs are also placed against i_size.
 * The two walkers below call these, and inodes.c calls the walkers. */
void claim_data(struct inode_walk *w, uint64_t lblk, uint64_t pblk, uint64_t n, int unwritten);
void claim_meta(struct inode_walk *w, uint64_t pblk, uint64_t lblk);
/* A CORRUPT finding on w's inode (capped per inode); the part it names
 * was not walked. */
void walk_corrupt(struct inode_walk *w, uint64_t lblk, uint64_t lblocks, uint64_t blk,
		  uint64_t blocks, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int blk_in_fs(ext2_filsys fs, uint64_t blk, uint64_t n);

/* extwalk.c, indwalk.c: the two block map formats, walked past damage.
 * Return 0 when the map could be read as that format at all. */
#define EXT_ROOT_BYTES 60
int extent_root_ok(const uint8_t *iblock);
void walk_extent_tree(struct inode_walk *w);
void walk_block_map(struct inode_walk *w);
int walk_inodes(struct audit_ctx *a);
int mark_fs_metadata(struct audit_ctx *a);
int find_orphans(struct audit_ctx *a);

/* stale.c: the data scan of one written extent inside i_size. */
int scan_extent_data(struct audit_ctx *a, uint32_t ino, uint32_t gen, uint64_t lblk,
		     uint64_t pblk, uint64_t n);

#endif
