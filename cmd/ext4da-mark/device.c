/* device.c: ext4da-mark's access to the device: its size, the mark area at
 * its end, and the one kind of write the tool makes, a whole record into
 * one slot of that area.  Every write is checked against the area first. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/ext4da-mark/mark_cmd.h"
#include "lib/core/datascan.h"
#include "lib/core/endian.h"

/* Just enough of the ext2/3/4 superblock to know where the fs ends, and
 * of an MBR to know there is one. */
#define EXT_SB_OFFSET 1024
#define EXT_SB_BLOCKS_LO 0x04
#define EXT_SB_LOG_BLOCK_SIZE 0x18
#define EXT_SB_MAGIC 0x38
#define EXT_SB_INCOMPAT 0x60
#define EXT_SB_BLOCKS_HI 0x150
#define EXT_MAGIC 0xef53
#define EXT_INCOMPAT_64BIT 0x80
#define MBR_SIGNATURE_OFFSET 510

static int open_flags(int writable, int direct)
{
	/* O_NONBLOCK only so that opening a FIFO does not wait for the other
	 * end; device_open clears it, and fd_size refuses a FIFO. */
	int flags = O_CLOEXEC | O_NONBLOCK | (writable ? O_RDWR | O_DSYNC : O_RDONLY);

	return direct ? flags | O_DIRECT : flags;
}

static void warn_no_direct(const struct cli *cli, const char *path)
{
	if (!cli->quiet)
		cli_warn(cli, path, "O_DIRECT is not supported here; writing with O_DSYNC "
				    "and fdatasync instead");
}

int device_open(struct mark_device *d, const char *path, int writable, struct err *e)
{
	memset(d, 0, sizeof(*d));
	d->path = path;
	d->direct = 1;
	d->fd = open(path, open_flags(writable, 1));
	if (d->fd < 0 && errno == EINVAL) {
		d->direct = 0;	/* warned about when a record is written */
		d->fd = open(path, open_flags(writable, 0));
	}
	if (d->fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
		goto fail;
	}
	if (fd_size(d->fd, &d->size, e))
		goto fail;
	if (mark_area_locate(d->size, &d->area)) {
		guest_fail(e, EXIT_OPERATIONAL,
			   "it is %llu bytes; a mark area needs a device of at least 2 MiB",
			   (unsigned long long)d->size);
		goto fail;
	}
	return 0;
fail:
	close(d->fd);
	d->fd = -1;
	return -1;
}

void device_close(struct mark_device *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* pread that survives a file system that accepted O_DIRECT at open but
 * refuses it on I/O: then reopen without it. */
static ssize_t area_pread(const struct mark_device *d, void *buf, size_t len, uint64_t off)
{
	ssize_t n = read_full(d->fd, buf, len, off);

	if (n < 0 && errno == EINVAL && d->direct) {
		int fd = open(d->path, open_flags(0, 0));

		if (fd < 0)
			return -1;
		n = read_full(fd, buf, len, off);
		close(fd);
	}
	return n;
}

/* Where the ext2/3/4 filesystem whose superblock is in head (the first
 * 4 KiB of the device) ends, in bytes; 0 if there is none. */
static uint64_t ext_fs_end(const uint8_t *head)
{
	const uint8_t *sb = head + EXT_SB_OFFSET;
	uint32_t log = le32_get(sb + EXT_SB_LOG_BLOCK_SIZE);
	uint64_t blocks;

	if (le16_get(sb + EXT_SB_MAGIC) != EXT_MAGIC || log > 6)
		return 0;
	blocks = le32_get(sb + EXT_SB_BLOCKS_LO);
	if (le32_get(sb + EXT_SB_INCOMPAT) & EXT_INCOMPAT_64BIT)
		blocks |= (uint64_t)le32_get(sb + EXT_SB_BLOCKS_HI) << 32;
	return blocks * (1024ULL << log);
}

/* An MBR, or the protective MBR of a GPT, whose backup header lives in
 * the very last sectors of the disk. */
static int has_partition_table(const uint8_t *head)
{
	return head[MBR_SIGNATURE_OFFSET] == 0x55 && head[MBR_SIGNATURE_OFFSET + 1] == 0xaa;
}

static int check_head(const struct mark_device *d, const uint8_t *head, struct err *e)
{
	uint64_t end = ext_fs_end(head);

	if (end > d->area.start)
		return guest_fail(e, EXIT_OPERATIONAL,
				  "its ext4 filesystem ends at byte %llu, inside the mark area "
				  "(bytes %llu-%llu); make the filesystem 1 MiB smaller than the device",
				  (unsigned long long)end, (unsigned long long)d->area.start,
				  (unsigned long long)d->area.end - 1);
	if (!end && has_partition_table(head))
		return guest_fail(e, EXIT_OPERATIONAL,
				  "it holds a partition table, whose last partition or backup "
				  "header the mark area would overwrite; give a partition or an "
				  "unpartitioned disk");
	return 0;
}

int device_check_fs(const struct mark_device *d, struct err *e)
{
	uint8_t *head = aligned_alloc_zero(4096);
	ssize_t n;
	int rc;

	if (!head)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	n = area_pread(d, head, 4096, 0);
	if (n < 0)
		rc = guest_fail(e, EXIT_OPERATIONAL, "read failed: %s", strerror(errno));
	else
		rc = check_head(d, head, e);
	free(head);
	return rc;
}

int device_read_area(const struct mark_device *d, void *buf, struct err *e)
{
	ssize_t n = area_pread(d, buf, MARK_AREA_SIZE, d->area.start);

	if (n < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "cannot read the mark area: %s",
				  strerror(errno));
	if ((size_t)n != MARK_AREA_SIZE)
		return guest_fail(e, EXIT_OPERATIONAL, "cannot read the mark area: short read");
	return 0;
}

int device_check_area(const struct mark_device *d, struct err *e)
{
	uint8_t *area = aligned_alloc_zero(MARK_AREA_SIZE);
	int rc = 0;

	if (!area)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	if (device_read_area(d, area, e)) {
		free(area);
		return -1;
	}
	for (uint32_t slot = 0; slot < MARK_SLOTS && rc == 0; slot++) {
		const uint8_t *p = area + (size_t)slot * MARK_RECORD_SIZE;
		uint64_t off = mark_slot_offset(&d->area, slot);

		if (memcmp(p, MARK_MAGIC, 8) && poison_at(p, off / 512) == POISON_NONE)
			rc = guest_fail(e, EXIT_OPERATIONAL,
					"its last MiB is not a mark area (slot %u, byte %llu, holds neither "
					"poison nor a mark record); ext4da-record prepares one, or "
					"'ext4da-stamp poison DEV %llu 1M' on a scratch device",
					slot, (unsigned long long)off, (unsigned long long)d->area.start);
	}
	free(area);
	return rc;
}

static int reopen_buffered(struct mark_device *d, struct err *e)
{
	int fd = open(d->path, open_flags(1, 0));

	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	close(d->fd);
	d->fd = fd;
	d->direct = 0;
	return 0;
}

int device_write_record(struct mark_device *d, uint32_t slot, const void *rec,
			const struct cli *cli, struct err *e)
{
	uint64_t off = mark_slot_offset(&d->area, slot);
	int rc;

	/* The one guarantee that matters most: nothing outside the area. */
	if (slot >= MARK_SLOTS || off < d->area.start || off + MARK_RECORD_SIZE > d->area.end ||
	    d->area.end > d->size)
		return guest_fail(e, EXIT_OPERATIONAL, "internal error: slot %u is outside the "
				  "mark area", slot);
	if (!d->direct)
		warn_no_direct(cli, d->path);
	rc = write_full(d->fd, rec, MARK_RECORD_SIZE, off);
	if (rc && errno == EINVAL && d->direct) {
		if (reopen_buffered(d, e))
			return -1;
		warn_no_direct(cli, d->path);
		rc = write_full(d->fd, rec, MARK_RECORD_SIZE, off);
	}
	if (rc == 0 && !d->direct)
		rc = fdatasync(d->fd);
	if (rc)
		return guest_fail(e, EXIT_OPERATIONAL, "cannot write the mark record at byte %llu: %s",
				  (unsigned long long)off, strerror(errno));
	return 0;
}
