/* guardio.h: the io_manager every image is written through.
 *
 * It passes everything to the manager under it (unix_io_manager), with a
 * fault point (fault.h) before each write and flush.  Under libext2fs's
 * undo manager it also keeps the undo file valid for e2undo at every
 * moment, so that a run killed at any point can be undone:
 *   - writes go straight to the files (no write-back cache), so each
 *     block's undo record is on disk before the block is overwritten;
 *   - the undo header always says "complete" (E2UNDO_STATE_FINISHED),
 *     which is true once records land first; without it e2undo marks the
 *     filesystem not clean after restoring it;
 *   - before the image's superblock is overwritten, the undo file's copy
 *     of the superblock and the header's checksum of it are updated in one
 *     write, since e2undo refuses an undo file whose copy differs from the
 *     filesystem's superblock.
 * For each superblock write one kill point remains that e2undo refuses:
 * between that write and the superblock's own (ext4da-replay(8), --undo). */
#ifndef EXT4DA_GUARDIO_H
#define EXT4DA_GUARDIO_H

#include <ext2fs/ext2fs.h>

#include "lib/core/error.h"

/* The guarded manager over inner; undo_file (or NULL) names the undo file
 * that libext2fs's undo manager will open through it.  One setting per
 * process: the tools open one writable image at a time. */
io_manager guardio_manager(io_manager inner, const char *undo_file);

/* Create undo_file (it must not exist) as a complete e2undo file that
 * records no block yet, for the filesystem on image, whose block size is
 * blocksize: e2undo accepts it (and changes nothing) even if the run dies
 * before its first write, and the undo manager reopens and extends it. */
int guardio_create_undo(const char *undo_file, const char *image, unsigned int blocksize,
			struct err *e);

#endif
