/* ops.c: ext4da-stamp's writing operations.  Each stamps whole sectors with
 * the file's own inode number and i_generation (or, for poison, writes the
 * device's poison), syncs as asked, and prints one key=value line for the
 * guest's console log. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/ext4da-stamp/ops.h"
#include "lib/core/stamp.h"

#define WRITE_CHUNK (1024 * 1024)

struct open_file {
	int fd;
	struct file_id id;
};

static int open_file(const char *path, int flags, struct open_file *f, struct err *e)
{
	f->fd = open(path, flags | O_CLOEXEC, 0644);
	if (f->fd < 0 && errno == EINVAL && (flags & O_DIRECT))
		return guest_fail(e, EXIT_OPERATIONAL, "this filesystem refuses O_DIRECT");
	if (f->fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (file_identify(f->fd, &f->id, e)) {
		close(f->fd);
		return -1;
	}
	return 0;
}

/* Sync as asked, then close: a close error can be a lost write too. */
static int close_file(struct open_file *f, enum sync_mode m, struct err *e)
{
	if (sync_file(f->fd, m, e)) {
		close(f->fd);
		return -1;
	}
	if (close(f->fd) != 0)
		return guest_fail(e, EXIT_OPERATIONAL, "close failed: %s", strerror(errno));
	return 0;
}

static int stamp_range(const struct open_file *f, uint64_t offset, uint64_t len,
		       uint64_t write_gen, struct err *e)
{
	uint8_t *buf = aligned_alloc_zero(WRITE_CHUNK);	/* aligned for O_DIRECT */
	uint64_t done = 0;

	if (!buf)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	while (done < len) {
		size_t n = len - done < WRITE_CHUNK ? (size_t)(len - done) : WRITE_CHUNK;

		stamp_fill(buf, n, f->id.ino, f->id.gen, offset + done, write_gen);
		if (write_full(f->fd, buf, n, offset + done)) {
			guest_fail(e, EXIT_OPERATIONAL, "write at byte %llu failed: %s",
				   (unsigned long long)(offset + done), strerror(errno));
			free(buf);
			return -1;
		}
		done += n;
	}
	free(buf);
	return 0;
}

static void print_write(const struct stamp_cmd *c, const char *what, const struct open_file *f,
			uint64_t offset, uint64_t len, uint64_t size)
{
	if (c->cli.quiet)
		return;
	printf("%s ino=%llu igen=%u off=%llu len=%llu size=%llu wgen=%llu sync=%s", what,
	       (unsigned long long)f->id.ino, f->id.gen, (unsigned long long)offset,
	       (unsigned long long)len, (unsigned long long)size,
	       (unsigned long long)c->write_gen, sync_mode_name(c->sync));
	/* Only the new ways of writing say so: the plain line stays as it was. */
	if (c->direct || c->via != VIA_WRITE)
		printf(" via=%s", c->direct ? "direct" : write_via_name(c->via));
	printf("\n");
	fflush(stdout);
}

/* Open, stamp [offset, offset + len), sync, close; the file's size after. */
static int write_stamped(const struct stamp_cmd *c, const char *path, int flags,
			 uint64_t offset, uint64_t len, struct open_file *f, uint64_t *size,
			 struct err *e)
{
	if (open_file(path, flags | (c->direct ? O_DIRECT : 0), f, e))
		return -1;
	if (stamp_range(f, offset, len, c->write_gen, e)) {
		close(f->fd);
		return -1;
	}
	*size = f->id.size > offset + len ? f->id.size : offset + len;
	return close_file(f, c->sync, e);
}

static char *op_label(const char *op, const char *a, const char *b)
{
	static char label[8192];

	snprintf(label, sizeof(label), "%s %s%s%s", op, a, b ? " " : "", b ? b : "");
	return label;
}

int op_create(const struct stamp_cmd *c, const char **input, struct err *e)
{
	struct open_file f;
	uint64_t size;

	*input = c->path;
	if (write_stamped(c, c->path, O_WRONLY | O_CREAT | O_TRUNC, 0, c->size, &f, &size, e))
		return -1;
	print_write(c, op_label("create", c->path, NULL), &f, 0, c->size, size);
	return EXIT_CLEAN;
}

int op_overwrite(const struct stamp_cmd *c, const char **input, struct err *e)
{
	struct open_file f;
	uint64_t size;

	*input = c->path;
	if (c->via != VIA_WRITE)
		return op_overwrite_via(c, input, e);
	if (write_stamped(c, c->path, O_WRONLY, c->offset, c->len, &f, &size, e))
		return -1;
	print_write(c, op_label("overwrite", c->path, NULL), &f, c->offset, c->len, size);
	return EXIT_CLEAN;
}

int op_append(const struct stamp_cmd *c, const char **input, struct err *e)
{
	struct open_file f;
	uint64_t size;

	*input = c->path;
	if (open_file(c->path, O_WRONLY | O_CREAT | (c->direct ? O_DIRECT : 0), &f, e))
		return -1;
	if (f.id.size % SECTOR_SIZE) {
		close(f.fd);
		return guest_fail(e, EXIT_OPERATIONAL,
				  "its size %llu is not a multiple of 512, so appended stamps "
				  "would not be sector-aligned",
				  (unsigned long long)f.id.size);
	}
	if (stamp_range(&f, f.id.size, c->len, c->write_gen, e)) {
		close(f.fd);
		return -1;
	}
	size = f.id.size + c->len;
	if (close_file(&f, c->sync, e))
		return -1;
	print_write(c, op_label("append", c->path, NULL), &f, f.id.size, c->len, size);
	return EXIT_CLEAN;
}

int op_truncate(const struct stamp_cmd *c, const char **input, struct err *e)
{
	struct open_file f;

	*input = c->path;
	if (open_file(c->path, O_WRONLY, &f, e))
		return -1;
	if (ftruncate(f.fd, (off_t)c->size) != 0) {
		guest_fail(e, EXIT_OPERATIONAL, "ftruncate failed: %s", strerror(errno));
		close(f.fd);
		return -1;
	}
	if (close_file(&f, c->sync, e))
		return -1;
	if (!c->cli.quiet) {
		printf("truncate %s ino=%llu igen=%u size=%llu old-size=%llu sync=%s\n", c->path,
		       (unsigned long long)f.id.ino, f.id.gen, (unsigned long long)c->size,
		       (unsigned long long)f.id.size, sync_mode_name(c->sync));
		fflush(stdout);
	}
	return EXIT_CLEAN;
}

/* rename-over without SIZE replaces DST with a file of DST's size. */
static int rename_size(const struct stamp_cmd *c, const char **input, uint64_t *size,
		       struct err *e)
{
	struct stat st;

	if (c->has_size) {
		*size = c->size;
		return 0;
	}
	*input = c->dst;
	if (stat(c->dst, &st) != 0)
		return guest_fail(e, EXIT_OPERATIONAL, "cannot take its size (%s); give SIZE",
				  strerror(errno));
	*size = (uint64_t)st.st_size / SECTOR_SIZE * SECTOR_SIZE;
	return 0;
}

/* The auto_da_alloc pattern: write a whole new file, then rename it over
 * the old one.  With a sync option the new file is synced before the
 * rename and the directory after it, as a careful application would. */
int op_rename_over(const struct stamp_cmd *c, const char **input, struct err *e)
{
	struct open_file f;
	uint64_t size, len = 0;

	if (rename_size(c, input, &len, e))
		return -1;
	*input = c->path;
	if (write_stamped(c, c->path, O_WRONLY | O_CREAT | O_TRUNC, 0, len, &f, &size, e))
		return -1;
	if (rename(c->path, c->dst) != 0)
		return guest_fail(e, EXIT_OPERATIONAL, "cannot rename it over %s: %s", c->dst,
				  strerror(errno));
	*input = c->dst;
	if (c->sync != SYNC_NONE && fsync_parent_dir(c->dst, e))
		return -1;
	print_write(c, op_label("rename-over", c->path, c->dst), &f, 0, len, size);
	return EXIT_CLEAN;
}

static int poison_range(int fd, uint64_t offset, uint64_t len, struct err *e)
{
	uint8_t *buf = malloc(WRITE_CHUNK);
	uint64_t done = 0;

	if (!buf)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	while (done < len) {
		size_t n = len - done < WRITE_CHUNK ? (size_t)(len - done) : WRITE_CHUNK;

		poison_fill(buf, (offset + done) / SECTOR_SIZE, n / SECTOR_SIZE);
		if (write_full(fd, buf, n, offset + done)) {
			guest_fail(e, EXIT_OPERATIONAL, "write at byte %llu failed: %s",
				   (unsigned long long)(offset + done), strerror(errno));
			free(buf);
			return -1;
		}
		done += n;
	}
	free(buf);
	return 0;
}

/* What ext4da-record does to a device before mkfs: each sector gets the
 * poison of its own sector number.  For tests and experiments by hand. */
int op_poison(const struct stamp_cmd *c, const char **input, struct err *e)
{
	struct open_file f = { .fd = open(c->path, O_WRONLY | O_CLOEXEC) };
	uint64_t size, offset = c->offset, len = c->len;

	*input = c->path;
	if (f.fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (fd_size(f.fd, &size, e))
		goto fail;
	if (!c->has_range) {
		offset = 0;
		len = size / SECTOR_SIZE * SECTOR_SIZE;
	}
	if (poison_range(f.fd, offset, len, e))
		goto fail;
	if (close_file(&f, c->sync, e))
		return -1;
	if (!c->cli.quiet) {
		printf("poison %s off=%llu len=%llu sectors=%llu sync=%s\n", c->path,
		       (unsigned long long)offset, (unsigned long long)len,
		       (unsigned long long)(len / SECTOR_SIZE), sync_mode_name(c->sync));
		fflush(stdout);
	}
	return EXIT_CLEAN;
fail:
	close(f.fd);
	return -1;
}
