/* audit.h: the ext4da-check audit of one filesystem state: who owns each
 * block, and how that disagrees with the bitmaps, the group descriptors,
 * i_size, and (with a data scan) the data the files really wrote. */
#ifndef EXT4DA_AUDIT_H
#define EXT4DA_AUDIT_H

#include <ext2fs/ext2fs.h>

#include "lib/core/error.h"
#include "lib/audit/findings.h"

/* A group descriptor whose locations were unusable; the view zeroed them
 * in memory, so that libext2fs reads nothing there. */
#define DESC_BAD_BBITMAP 1
#define DESC_BAD_IBITMAP 2
#define DESC_BAD_ITABLE 4
struct desc_damage {
	uint8_t flags;
	uint64_t bbitmap, ibitmap, itable;	/* the locations as found */
};

struct audit_opts {
	int data_scan;		/* read written blocks for poison and foreign stamps */
	int keep_owner_map;	/* hand the owner map out in stats->owner_map */
	const struct desc_damage *desc_damage;	/* per group, or NULL */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};

struct audit_stats {
	uint64_t inodes_in_use, files, dirs;
	uint64_t owned_blocks;
	uint64_t unconverted_files, unconverted_blocks;
	uint64_t orphans;
	uint64_t data_blocks_scanned;
	uint64_t leaked_blocks, unmarked_blocks, multiply_owned_blocks;
	uint64_t stale_blocks;
	uint64_t unknown_blocks;	/* OWNER_UNKNOWN: in use, a damaged structure may own them */
	uint64_t damaged;		/* structures with parts the audit could not walk */
	uint64_t uninit_groups_skipped;	/* INODE_UNINIT groups whose tables were not read */
	uint64_t uninit_itable_blocks_read;	/* inode table blocks read in INODE_UNINIT groups */
	uint32_t *dirs_per_group;	/* in-use directories per group; caller frees */
	/* With keep_owner_map: every block owned or maybe owned (block
	 * granularity); the caller frees it, before closing the fs. */
	ext2fs_block_bitmap owner_map;
};

/* Audit fs (opened with EXT2_FLAG_64BITS; its bitmaps are read here).
 * Fails only when the audit cannot run at all; damage is reported as
 * findings. */
int audit_run(ext2_filsys fs, const struct audit_opts *opts, struct findings *out,
	      struct audit_stats *stats, struct err *e);

#endif
