/* sync.c: what the plain writes (ops.c) and the other write paths
 * (extra.c) share: syncing a file as --fsync, --fdatasync or --sync-range
 * asks, and the names of the sync modes and write paths that both print.
 * Kept apart so that neither of the two calls into the other for them. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cmd/ext4da-stamp/ops.h"

const char *sync_mode_name(enum sync_mode m)
{
	switch (m) {
	case SYNC_FSYNC: return "fsync";
	case SYNC_FDATASYNC: return "fdatasync";
	case SYNC_RANGE: return "sync-range";
	case SYNC_NONE: break;
	}
	return "none";
}

const char *write_via_name(enum write_via v)
{
	switch (v) {
	case VIA_WRITE: return "write";
	case VIA_MMAP: return "mmap";
	case VIA_KEEP_SIZE: return "keep-size";
	case VIA_PUNCH: return "punch";
	case VIA_ZERO: return "zero";
	}
	return "?";
}

/* Write the dirty pages of the whole file and wait for them: no metadata
 * and no cache flush, which is the point (it guarantees nothing). */
static int sync_range(int fd)
{
	return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
					 SYNC_FILE_RANGE_WAIT_AFTER);
}

int sync_file(int fd, enum sync_mode m, struct err *e)
{
	int rc = 0;

	if (m == SYNC_FSYNC)
		rc = fsync(fd);
	else if (m == SYNC_FDATASYNC)
		rc = fdatasync(fd);
	else if (m == SYNC_RANGE)
		rc = sync_range(fd);
	if (rc)
		return guest_fail(e, EXIT_OPERATIONAL, "%s failed: %s", sync_mode_name(m),
				  strerror(errno));
	return 0;
}
