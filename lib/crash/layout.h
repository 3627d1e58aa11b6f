/* layout.h: what a byte range of a device holds in an ext4 filesystem, by
 * its static layout: superblocks, group descriptors (and the blocks
 * reserved for them), bitmaps, inode tables and the journal; the rest
 * inside the filesystem is data (file data, directories, extent and
 * xattr blocks).  ext4da-crash --list names what each logged write hit. */
#ifndef EXT4DA_LAYOUT_H
#define EXT4DA_LAYOUT_H

#include <ext2fs/ext2fs.h>

#include "lib/core/error.h"

enum layout_kind {
	LK_SUPERBLOCK, LK_GROUP_DESC, LK_BITMAP, LK_INODE_TABLE, LK_JOURNAL, LK_DATA,
	LK_OUTSIDE,	/* past the filesystem's last block (the mark area) */
	LK_NKINDS
};

struct layout_range {
	uint64_t block, blocks;
	enum layout_kind kind;
};

struct fs_layout {
	unsigned blocksize;
	uint64_t fs_blocks;
	struct layout_range *v;	/* sorted by block, not overlapping */
	size_t n, cap;
};

/* The layout of fs.  Fails only when out of memory. */
int fs_layout_build(ext2_filsys fs, struct fs_layout *l, struct err *e);
void fs_layout_free(struct fs_layout *l);
/* The kinds [off, off + len) touches, a bit (1U << kind) each. */
unsigned fs_layout_classify(const struct fs_layout *l, uint64_t off, uint64_t len);
/* "superblock", "group descriptor", "bitmap", "inode table", "journal",
 * "data", "outside the filesystem". */
const char *layout_kind_name(enum layout_kind k);

#endif
