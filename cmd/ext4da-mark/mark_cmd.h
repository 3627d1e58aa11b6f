/* mark_cmd.h: pieces of the ext4da-mark front-end: the device and its mark
 * area (device.c), and the files a durability mark vouches for (durable.c). */
#ifndef EXT4DA_CMD_MARK_H
#define EXT4DA_CMD_MARK_H

#include <stdint.h>

#include "cmd/ext4da-stamp/guest.h"
#include "lib/mark.h"

struct mark_device {
	const char *path;
	int fd;
	int direct;		/* opened with O_DIRECT */
	uint64_t size;
	struct mark_area area;
};

/* Open DEV (a block device or a regular file of at least 2 MiB) for
 * reading, or for O_DIRECT|O_DSYNC writes; where O_DIRECT is refused, fall
 * back to O_DSYNC alone (device_write_record warns then). */
int device_open(struct mark_device *d, const char *path, int writable, struct err *e);
void device_close(struct mark_device *d);

/* Refuse a device whose ext2/3/4 filesystem reaches into the mark area,
 * or a partitioned disk (its end belongs to a partition or the GPT). */
int device_check_fs(const struct mark_device *d, struct err *e);

/* Read the whole area into buf (MARK_AREA_SIZE bytes, page-aligned). */
int device_read_area(const struct mark_device *d, void *buf, struct err *e);

/* Write one encoded record into its slot, durably. */
int device_write_record(struct mark_device *d, uint32_t slot, const void *rec,
			const struct cli *cli, struct err *e);

/* fsync PATH and its directory, then describe it in *m.  The error names
 * no file: *input is set to PATH. */
int durable_entry(const char *path, struct mark_entry *m, struct err *e);

#endif
