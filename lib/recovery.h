/* recovery.h: what a completed journal recovery leaves in the two
 * superblocks: an empty log with a fresh sequence number, needs_recovery
 * cleared, and the filesystem state flags that tell fsck what went wrong. */
#ifndef EXT4DA_RECOVERY_H
#define EXT4DA_RECOVERY_H

#include "lib/replay.h"

int recovery_finish(ext2_filsys fs, struct journal *j, const struct replay_result *r,
		    struct err *e);

/* Only the filesystem superblock's part, for in-memory views where the
 * journal itself need not be marked empty. */
int recovery_finish_fs_only(ext2_filsys fs, const struct replay_result *r, struct err *e);

#endif
