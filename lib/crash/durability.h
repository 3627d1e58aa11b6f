/* durability.h: the durability oracle.  ext4da-mark records, in the mark
 * area at the end of the device, which files were fsynced and what they
 * held.  Those writes are found in the block-write log; in every crash
 * state whose durable prefix includes a mark, each file it lists must be
 * there, whole: same inode and generation, at least the recorded size, and
 * the recorded crc over those bytes.  A later mark listing the same inode
 * replaces the earlier claim. */
#ifndef EXT4DA_DURABILITY_H
#define EXT4DA_DURABILITY_H

#include <ext2fs/ext2fs.h>

#include "lib/core/mark.h"
#include "lib/crash/writelog.h"

struct log_mark {
	uint64_t entry;			/* the log entry that wrote the record */
	struct mark_record rec;
};

struct log_marks {
	struct log_mark *v;
	size_t n, cap;
};

/* Find every valid mark record written into the mark area of a device of
 * device_bytes.  Fails only on I/O or memory errors. */
int log_marks_collect(struct writelog *wl, const struct wl_index *idx, uint64_t device_bytes,
		      struct log_marks *out, struct err *e);
void log_marks_free(struct log_marks *m);

/* Check the claims of every mark at or before entry `durable` (NO_ENTRY:
 * none).  Returns 0 when all hold, 1 when one does not (why says which),
 * -1 on error. */
int durability_check(ext2_filsys fs, const struct log_marks *m, uint64_t durable, char *why,
		     size_t len);

#endif
