/* image.c: see image.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/process/cancel.h"
#include "lib/blockdev/fault.h"
#include "lib/core/fdio.h"
#include "lib/blockdev/guardio.h"
#include "lib/blockdev/image.h"

int image_check_path(const char *path, struct err *e)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail(e, EXIT_OPERATIONAL, "is a directory, not an image or device");
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return fail(e, EXIT_OPERATIONAL, "is not a regular file or block device");
	if (S_ISREG(st.st_mode) && st.st_size < 2048)
		return fail(e, EXIT_OPERATIONAL, "is too small (%lld bytes) to hold an ext4 superblock",
			    (long long)st.st_size);
	return 0;
}

static const char *open_error_text(errcode_t rc)
{
	switch (rc) {
	case EXT2_ET_BAD_MAGIC:
		return "not an ext2/ext3/ext4 filesystem (bad superblock magic)";
	case EXT2_ET_SHORT_READ:
		return "truncated: the image ends before its filesystem metadata";
	case EXT2_ET_CORRUPT_SUPERBLOCK:
		return "corrupt superblock";
	default:
		return errcode_text(rc);
	}
}

int image_check_size(ext2_filsys fs, uint64_t bytes, struct err *e)
{
	uint64_t need = ext2fs_blocks_count(fs->super) * (uint64_t)fs->blocksize;

	if (bytes < need)
		return fail(e, EXIT_OPERATIONAL,
			    "truncated: %llu bytes, but the superblock describes %llu",
			    (unsigned long long)bytes, (unsigned long long)need);
	return 0;
}

/* A truncated image may open fine and fail later; check the size up front. */
static int check_size(ext2_filsys fs, const char *path, struct err *e)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return image_check_size(fs, (uint64_t)st.st_size, e);
	return 0;
}

static int open_fs(const char *path, int flags, io_manager mgr, ext2_filsys *out, int is_file,
		   const struct image_open_opts *opts, struct err *e)
{
	ext2_filsys fs = NULL;
	errcode_t rc;

	*out = NULL;
	rc = ext2fs_open2(path, NULL, flags, (int)opts->superblock, opts->blocksize, mgr, &fs);
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "%s", open_error_text(rc));
	if (ext2fs_has_feature_journal_dev(fs->super)) {
		ext2fs_free(fs);
		return fail(e, EXIT_OPERATIONAL,
			    "is an external journal device, not a filesystem "
			    "(give the filesystem, and this with --journal)");
	}
	if (is_file && check_size(fs, path, e)) {
		ext2fs_free(fs);
		return -1;
	}
	*out = fs;
	return 0;
}

/* Writes to a mounted filesystem would race the kernel: refuse them. */
static int check_not_mounted(const char *path, struct err *e)
{
	int mflags = 0;

	if (ext2fs_check_if_mounted(path, &mflags) == 0 && (mflags & EXT2_MF_MOUNTED))
		return fail(e, EXIT_OPERATIONAL, "is mounted; unmount it before writing to it");
	return 0;
}

int image_open(const char *path, const struct image_open_opts *opts, ext2_filsys *out,
	       struct err *e)
{
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS | EXT2_FLAG_SKIP_MMP |
		    EXT2_FLAG_JOURNAL_DEV_OK;
	io_manager mgr = opts->manager ? opts->manager : unix_io_manager;
	int is_file = !opts->manager || opts->manager == unix_io_manager;
	ext2_filsys probe;
	errcode_t rc;

	*out = NULL;
	if (is_file && image_check_path(path, e))
		return -1;
	if (opts->writable && is_file && check_not_mounted(path, e))
		return -1;
	if (opts->writable)
		flags |= EXT2_FLAG_RW;
	/* Writes to a file or device go through guardio (see guardio.h). */
	if (opts->writable && is_file)
		mgr = guardio_manager(mgr, opts->undo_file);
	if (!opts->undo_file)
		return open_fs(path, flags, mgr, out, is_file, opts, e);
	/* Validate read-only first, so bad input never leaves an undo file. */
	if (open_fs(path, flags & ~EXT2_FLAG_RW, mgr, &probe, is_file, opts, e))
		return -1;
	/* The undo file is ours to create: libext2fs's undo manager returns
	 * success without a channel when it cannot create it.  It is complete
	 * (and records nothing) before anything else is written. */
	rc = guardio_create_undo(opts->undo_file, path, probe->blocksize, e);
	ext2fs_free(probe);
	if (rc)
		return -1;
	set_undo_io_backing_manager(mgr);
	rc = set_undo_io_backup_file((char *)opts->undo_file);
	if (rc || open_fs(path, flags, undo_io_manager, out, is_file, opts, e)) {
		unlink(opts->undo_file);
		return rc ? fail(e, EXIT_OPERATIONAL, "undo file %s: %s", opts->undo_file,
				 errcode_text(rc))
			  : -1;
	}
	return 0;
}

int image_close(ext2_filsys fs, struct err *e)
{
	errcode_t rc = 0;

	if (!fs)
		return 0;
	if (fs->flags & EXT2_FLAG_RW)
		rc = io_channel_flush(fs->io);
	ext2fs_free(fs);	/* closes the channel; finalises an undo file */
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "flushing writes: %s", errcode_text(rc));
	return 0;
}

static int copy_range(int in, int out, off_t from, off_t to, const char *label, struct err *e)
{
	while (from < to) {
		loff_t a = from, b = from;
		ssize_t n;

		if (cancel_point())
			return cancel_fail(e, NULL);
		fault_point();
		n = copy_file_range(in, &a, out, &b, (size_t)(to - from), 0);

		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP)) {
			char buf[1 << 16];
			ssize_t r = pread(in, buf, sizeof(buf) < (size_t)(to - from) ?
					  sizeof(buf) : (size_t)(to - from), from);

			fault_point();
			if (r <= 0 || pwrite(out, buf, (size_t)r, from) != r)
				return fail(e, EXIT_OPERATIONAL, "copying to %s: %s", label,
					    strerror(errno));
			n = r;
		} else if (n <= 0) {
			return fail(e, EXIT_OPERATIONAL, "copying to %s: %s", label,
				    n < 0 ? strerror(errno) : "unexpected end of file");
		}
		from += n;
	}
	return 0;
}

/* A block device has no holes to find: copy it in chunks, leaving chunks
 * of zeros as holes so the copy stays sparse. */
static int copy_device(int in, int out, uint64_t size, const char *label, struct err *e)
{
	static uint8_t buf[1 << 20], zero[1 << 20];

	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
		ssize_t r;

		if (cancel_point())
			return cancel_fail(e, NULL);
		r = pread(in, buf, n, (off_t)off);
		if (r <= 0)
			return fail(e, EXIT_OPERATIONAL, "reading the device: %s",
				    r < 0 ? strerror(errno) : "unexpected end");
		if (memcmp(buf, zero, (size_t)r) != 0) {
			fault_point();
			if (pwrite(out, buf, (size_t)r, (off_t)off) != r)
				return fail(e, EXIT_OPERATIONAL, "%s: %s", label, strerror(errno));
		}
		off += (uint64_t)r;
	}
	return 0;
}

static int copy_sparse_file(int in, int out, uint64_t size, const char *label, struct err *e)
{
	off_t pos = 0;
	int rc = 0;

	/* Copy only the data extents so that sparse images stay sparse. */
	while (rc == 0 && (uint64_t)pos < size) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;

		if (data < 0)
			break;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = (off_t)size;
		rc = copy_range(in, out, data, hole, label, e);
		pos = hole;
	}
	return rc;
}

/* Open src for a copy and learn its size. */
static int open_source(const char *src, int *in, uint64_t *size, int *is_dev, struct err *e)
{
	struct stat st;

	*in = open(src, O_RDONLY);
	if (*in < 0)
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (fstat(*in, &st) != 0 || fd_size_bytes(*in, size) != 0) {
		close(*in);
		return fail(e, EXIT_OPERATIONAL, "cannot copy: not an image file or block device");
	}
	*is_dev = S_ISBLK(st.st_mode);
	return 0;
}

/* Copy in's contents to out and give out in's size. */
static int copy_contents(int in, int out, uint64_t size, int is_dev, const char *label,
			 struct err *e)
{
	int rc = is_dev ? copy_device(in, out, size, label, e)
			: copy_sparse_file(in, out, size, label, e);

	if (rc == 0)
		fault_point();
	if (rc == 0 && ftruncate(out, (off_t)size) != 0)
		rc = fail(e, EXIT_OPERATIONAL, "%s: %s", label, strerror(errno));
	if (rc == 0)
		fault_point();
	return rc;
}

int image_copy_into(const char *src, int out, const char *label, struct err *e)
{
	uint64_t size = 0;
	int in, is_dev, rc;

	if (open_source(src, &in, &size, &is_dev, e))
		return -1;
	rc = copy_contents(in, out, size, is_dev, label, e);
	close(in);
	return rc;
}

int image_copy(const char *src, const char *dst, const char *label, struct err *e)
{
	uint64_t size = 0;
	int in, out, is_dev, rc;

	if (open_source(src, &in, &size, &is_dev, e))
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (out < 0) {
		close(in);
		return fail(e, EXIT_OPERATIONAL, "%s: %s", label, strerror(errno));
	}
	rc = copy_contents(in, out, size, is_dev, label, e);
	if (rc == 0 && fsync(out) != 0)
		rc = fail(e, EXIT_OPERATIONAL, "%s: %s", label, strerror(errno));
	close(in);
	if (close(out) != 0 && rc == 0)
		rc = fail(e, EXIT_OPERATIONAL, "%s: %s", label, strerror(errno));
	return rc;
}
