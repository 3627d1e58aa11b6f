/* image.h: opening an ext4 image or device with libext2fs, with clear
 * errors for everything that is not one, and never flushing libext2fs's
 * cached metadata over blocks that a replay rewrote. */
#ifndef EXT4DA_IMAGE_H
#define EXT4DA_IMAGE_H

#include <ext2fs/ext2fs.h>

#include "lib/core/error.h"

struct image_open_opts {
	int writable;
	const char *undo_file;	/* record every overwritten block for e2undo */
	io_manager manager;	/* NULL: unix_io_manager */
	uint64_t superblock;	/* 0: the primary; else a backup (e2fsck -b), */
	unsigned int blocksize;	/* ... read with this block size */
};

/* Is path something we can open: exists, not a directory? */
int image_check_path(const char *path, struct err *e);

int image_open(const char *path, const struct image_open_opts *opts, ext2_filsys *out,
	       struct err *e);

/* Is a device of bytes long enough for the filesystem fs describes? */
int image_check_size(ext2_filsys fs, uint64_t bytes, struct err *e);

/* Flush raw writes and release fs without writing libext2fs's copies of the
 * superblock and descriptors. */
int image_close(ext2_filsys fs, struct err *e);

/* Make a sparse copy of src at dst (dst must not exist).  Messages name the
 * destination as label; the caller names the source. */
int image_copy(const char *src, const char *dst, const char *label, struct err *e);
/* The same into an open, empty file out (not synced, not closed). */
int image_copy_into(const char *src, int out, const char *label, struct err *e);

#endif
