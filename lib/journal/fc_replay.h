/* fc_replay.h: apply the tags fc_parse accepted to a filesystem opened
 * read-write with libext2fs, after the full commits were replayed. */
#ifndef EXT4DA_FC_REPLAY_H
#define EXT4DA_FC_REPLAY_H

#include <ext2fs/ext2fs.h>

#include "lib/core/error.h"
#include "lib/journal/fc.h"


/* Returns -1 with e set on I/O or memory errors; a tag that cannot be
 * applied (as the kernel would fail it) sets r->failed instead. */
int fc_replay(ext2_filsys fs, const struct fc_log *log, struct fc_result *r, struct err *e);

/* The same on a filesystem seen through ov (opened and closed here). */
struct overlay;
int fc_replay_overlay(struct overlay *ov, const struct fc_log *log, struct fc_result *r,
		      struct err *e);

/* Replay into the image at path, whose channel io is open read-write (the
 * image itself, an --output copy or through the undo manager): the changes
 * are made on an overlay, then written through io. */
int fc_replay_through(const char *path, io_channel io, const struct fc_log *log,
		      struct fc_result *r, struct err *e);

#endif
