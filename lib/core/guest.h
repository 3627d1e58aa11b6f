/* guest.h: what the two guest helpers (ext4da-stamp, ext4da-mark) share.
 * They link neither libext2fs nor lib/core/error.c, so that they build as small
 * static binaries for the initramfs: errors go through guest_fail() into a
 * struct err and out through lib/core/cli.c's cli_fail(). */
#ifndef EXT4DA_GUEST_H
#define EXT4DA_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/core/cli.h"
#include "lib/core/fdio.h"

/* lib/core/error.c's fail(), without its com_err dependency. */
int guest_fail(struct err *e, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parse a byte count: decimal or 0x hex, with an optional binary suffix
 * K, M, G or T (or KiB, MiB...).  -1 if malformed or above max. */
int parse_size(const char *s, uint64_t max, uint64_t *out);

/* Parse a plain unsigned 64-bit number (decimal or 0x hex). */
int parse_u64(const char *s, uint64_t *out);

/* Who a file is: what stamps and marks record. */
struct file_id {
	uint64_t dev;		/* st_dev, to find the file's mount point */
	uint64_t ino;
	uint32_t gen;		/* i_generation, 0 where the fs has none */
	uint64_t size;
};

/* fstat plus FS_IOC_GETVERSION; fd must be a regular file.  Messages do
 * not name the file: cli_fail() puts the input in front. */
int file_identify(int fd, struct file_id *id, struct err *e);

/* FS_IOC_GETVERSION of any open file (0 where the fs has none). */
int file_generation(int fd, uint32_t *gen, struct err *e);

/* The size of an open regular file or block device. */
int fd_size(int fd, uint64_t *size, struct err *e);


/* The standard CRC-32C (crc32c_std) of the first size bytes of fd. */
int file_content_crc(int fd, uint64_t size, uint32_t *crc, struct err *e);

/* fsync the directory that holds path. */
int fsync_parent_dir(const char *path, struct err *e);

/* A page-aligned buffer of len bytes (O_DIRECT needs it), zeroed. */
void *aligned_alloc_zero(size_t len);

#endif
