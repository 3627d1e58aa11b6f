/* mark_cmd.h: pieces of the ext4da-mark front-end: the device and its mark
 * area (device.c), and the files a durability mark vouches for (durable.c). */
#ifndef EXT4DA_CMD_MARK_H
#define EXT4DA_CMD_MARK_H

#include <stdint.h>

#include "lib/core/guest.h"
#include "lib/core/mark.h"

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

/* Refuse a device whose last MiB is not a mark area: each slot must
 * begin with poison of its own sector (ext4da-record poisons the device
 * before mkfs) or with a mark record's magic.  A host disk, an unpoisoned
 * image or a filesystem that reaches the end fails this. */
int device_check_area(const struct mark_device *d, struct err *e);

/* Read the whole area into buf (MARK_AREA_SIZE bytes, page-aligned). */
int device_read_area(const struct mark_device *d, void *buf, struct err *e);

/* Write one encoded record into its slot, durably. */
int device_write_record(struct mark_device *d, uint32_t slot, const void *rec,
			const struct cli *cli, struct err *e);

/* fsync PATH and its directory, then describe it in *m.  The error names
 * no file: *input is set to PATH. */
int durable_entry(const char *path, struct mark_entry *m, struct err *e);

/* The path of PATH (which must exist) inside its filesystem, whose
 * device is dev: "/dir/file" for /mnt/dir/file when it is mounted at /mnt. */
int fs_relative_path(const char *path, uint64_t dev, char *out, size_t outlen, struct err *e);

/* claims.c: what a workload's own persistence point made durable, recorded
 * without syncing anything (version 2 entries, see lib/core/mark.h). */
struct claims {
	struct mark_entry *v;
	size_t n, cap;
};

/* Append the entries one option makes: --synced PATH (ME_FILE_EXACT),
 * --names DIR (an ME_NAME per entry of DIR), --absent PATH (ME_NO_NAME),
 * --release PATH (ME_RELEASE).  The error names no file. */
int claims_add(struct claims *c, enum mark_entry_type type, const char *path, struct err *e);
void claims_free(struct claims *c);
/* Append a ready entry (a --durable one). */
int claims_add_entry(struct claims *c, const struct mark_entry *m, struct err *e);

#endif
