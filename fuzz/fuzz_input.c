/* fuzz_input.c: fuzzer bytes as memfd files (see fuzz_input.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/fuzz_input.h"
#include "lib/core/endian.h"

static int fuzz_file_new(struct fuzz_file *f, uint64_t size)
{
	f->fd = memfd_create("ext4da-fuzz", MFD_CLOEXEC);
	if (f->fd < 0)
		return -1;
	if (ftruncate(f->fd, (off_t)size) != 0) {
		close(f->fd);
		return -1;
	}
	f->size = size;
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
	return 0;
}

int fuzz_file_raw(struct fuzz_file *f, const uint8_t *data, size_t len)
{
	if (fuzz_file_new(f, len))
		return -1;
	if (len && pwrite(f->fd, data, len, 0) != (ssize_t)len) {
		close(f->fd);
		return -1;
	}
	return 0;
}

int fuzz_file_image(struct fuzz_file *f, const uint8_t *data, size_t len)
{
	uint32_t kib;

	if (len < 4)
		return -1;
	kib = le32_get(data);
	if (kib < FUZZ_IMG_MIN_KIB)
		kib = FUZZ_IMG_MIN_KIB;
	if (kib > FUZZ_IMG_MAX_KIB)
		kib = FUZZ_IMG_MAX_KIB;
	if (fuzz_file_new(f, (uint64_t)kib * 1024))
		return -1;
	for (size_t pos = 4; pos + 4 < len;) {
		uint32_t at = le32_get(data + pos) % kib;
		size_t n = len - pos - 4 < 1024 ? len - pos - 4 : 1024;

		if (pwrite(f->fd, data + pos + 4, n, (off_t)at * 1024) != (ssize_t)n) {
			close(f->fd);
			return -1;
		}
		pos += 4 + n;
	}
	return 0;
}

void fuzz_file_close(struct fuzz_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
