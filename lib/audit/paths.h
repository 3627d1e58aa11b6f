/* paths.h: the pathnames of the inodes findings name, so that a person
 * can act on them without a debugfs session. */
#ifndef EXT4DA_PATHS_H
#define EXT4DA_PATHS_H

#include <ext2fs/ext2fs.h>

#include "lib/audit/findings.h"

/* Fill in path and other_path of every finding naming an inode: its
 * pathname when a directory entry links it, the role of a special inode
 * ("<journal>", "<bad blocks inode>", ...), else left NULL.  Reads the
 * directories only when some finding names a non-directory inode.
 * Returns -1 only when out of memory (paths are then partly filled). */
int findings_name_paths(ext2_filsys fs, struct findings *f);

#endif
