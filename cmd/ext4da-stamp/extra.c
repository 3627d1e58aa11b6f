/* extra.c: the ways of changing a file that busybox sh has no command
 * for, so that generated workloads (ext4da-workload) can reach every
 * write path of ext4: stamps written through a shared mapping and msync,
 * and fallocate's modes.  sync_file_range is one of the sync modes of
 * sync.c; O_DIRECT is a flag of the plain writes in ops.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/falloc.h>

#include "cmd/ext4da-stamp/ops.h"
#include "lib/core/stamp.h"

int parse_falloc_mode(const char *s, enum write_via *v)
{
	static const enum write_via modes[] = { VIA_KEEP_SIZE, VIA_PUNCH, VIA_ZERO };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(s, write_via_name(modes[i])) == 0) {
			*v = modes[i];
			return 0;
		}
	return -1;
}

static int falloc_flags(enum write_via v)
{
	switch (v) {
	case VIA_KEEP_SIZE: return FALLOC_FL_KEEP_SIZE;
	case VIA_PUNCH: return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	case VIA_ZERO: return FALLOC_FL_ZERO_RANGE;
	default: return 0;
	}
}

/* A shared mapping cannot grow the file (a store past EOF is SIGBUS), so
 * the range must lie inside it. */
static int mmap_stamp(const struct stamp_cmd *c, int fd, const struct file_id *id,
		      struct err *e)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = c->offset / (uint64_t)page * (uint64_t)page;
	size_t maplen = (size_t)(c->offset + c->len - start);
	uint8_t *map;

	if (c->offset + c->len > id->size)
		return guest_fail(e, EXIT_OPERATIONAL, "--mmap: bytes %llu-%llu are past its end "
				  "(%llu bytes); a mapping cannot grow a file",
				  (unsigned long long)c->offset,
				  (unsigned long long)(c->offset + c->len - 1),
				  (unsigned long long)id->size);
	if (c->len == 0)
		return 0;
	map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
	if (map == MAP_FAILED)
		return guest_fail(e, EXIT_OPERATIONAL, "mmap failed: %s", strerror(errno));
	stamp_fill(map + (c->offset - start), c->len, id->ino, id->gen, c->offset, c->write_gen);
	/* MS_SYNC: msync returns once the pages are written, as POSIX says. */
	if (msync(map, maplen, MS_SYNC) != 0) {
		guest_fail(e, EXIT_OPERATIONAL, "msync failed: %s", strerror(errno));
		munmap(map, maplen);
		return -1;
	}
	munmap(map, maplen);
	return 0;
}

static int change_range(const struct stamp_cmd *c, int fd, const struct file_id *id,
			struct err *e)
{
	if (c->via == VIA_MMAP)
		return mmap_stamp(c, fd, id, e);
	if (c->len && fallocate(fd, falloc_flags(c->via), (off_t)c->offset, (off_t)c->len) != 0)
		return guest_fail(e, EXIT_OPERATIONAL, "fallocate %s failed: %s",
				  write_via_name(c->via), strerror(errno));
	return 0;
}

int op_overwrite_via(const struct stamp_cmd *c, const char **input, struct err *e)
{
	int fd = open(c->path, (c->via == VIA_MMAP ? O_RDWR : O_WRONLY) | O_CLOEXEC);
	struct file_id id;
	uint64_t size, end = c->offset + c->len;

	*input = c->path;
	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (file_identify(fd, &id, e) || change_range(c, fd, &id, e) || sync_file(fd, c->sync, e)) {
		close(fd);
		return -1;
	}
	if (close(fd) != 0)
		return guest_fail(e, EXIT_OPERATIONAL, "close failed: %s", strerror(errno));
	/* Only zero range (without KEEP_SIZE) moves the end of the file. */
	size = c->via == VIA_ZERO && end > id.size ? end : id.size;
	if (!c->cli.quiet) {
		printf("overwrite %s ino=%llu igen=%u off=%llu len=%llu size=%llu wgen=%llu "
		       "sync=%s via=%s\n", c->path, (unsigned long long)id.ino, id.gen,
		       (unsigned long long)c->offset, (unsigned long long)c->len,
		       (unsigned long long)size, (unsigned long long)c->write_gen,
		       sync_mode_name(c->sync), write_via_name(c->via));
		fflush(stdout);
	}
	return EXIT_CLEAN;
}
