/* fdio.h: whole reads and writes on file descriptors, and the size of an
 * image file or block device.  Part of the small core that the static
 * guest helpers link too: no libext2fs here. */
#ifndef EXT4DA_FDIO_H
#define EXT4DA_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The size in bytes of an open regular file or block device: 0, or -1
 * with errno set (ENOTBLK for anything else, a FIFO or a directory). */
int fd_size_bytes(int fd, uint64_t *size);

/* pwrite all of len at offset, or -1 with errno set. */
int write_full(int fd, const void *buf, size_t len, uint64_t offset);

/* pread up to len bytes at offset; fewer only at end of file; -1 with
 * errno set on error. */
ssize_t read_full(int fd, void *buf, size_t len, uint64_t offset);

#endif
