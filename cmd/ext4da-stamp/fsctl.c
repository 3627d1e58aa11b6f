/* fsctl.c: filesystem-wide controls that busybox has no command for, so
 * that risk workloads can run them during a storm of writes: ext4's
 * journal checkpoint ioctl, and switching an inode's data journalling
 * flag (chattr +j), which flushes the inode and locks journal updates. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/fs.h>

#include "cmd/ext4da-stamp/ops.h"

/* fs/ext4/ext4.h: not in the 6.1 uapi headers.  Flags 0: lock journal
 * updates, commit, write every journalled block home and empty the
 * journal; no discard or zeroing of the journal area. */
#ifndef EXT4_IOC_CHECKPOINT
#define EXT4_IOC_CHECKPOINT _IOW('f', 43, uint32_t)
#endif

int op_checkpoint(const struct stamp_cmd *c, const char **input, struct err *e)
{
	uint32_t flags = 0;
	int fd;

	*input = c->path;
	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (ioctl(fd, EXT4_IOC_CHECKPOINT, &flags) != 0) {
		int err = errno;

		close(fd);
		if (err == ENOTTY || err == ENODEV)
			return guest_fail(e, EXIT_OPERATIONAL, "not on an ext4 filesystem with a "
					  "journal (EXT4_IOC_CHECKPOINT: %s)", strerror(err));
		return guest_fail(e, EXIT_OPERATIONAL, "EXT4_IOC_CHECKPOINT failed: %s",
				  strerror(err));
	}
	close(fd);
	if (!c->cli.quiet) {
		printf("checkpoint %s\n", c->path);
		fflush(stdout);
	}
	return EXIT_CLEAN;
}

int parse_on_off(const char *s, int *on)
{
	if (strcmp(s, "on") == 0)
		*on = 1;
	else if (strcmp(s, "off") == 0)
		*on = 0;
	else
		return -1;
	return 0;
}

int op_journal_data(const struct stamp_cmd *c, const char **input, struct err *e)
{
	int fd, flags;

	*input = c->path;
	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) {
		guest_fail(e, EXIT_OPERATIONAL, "FS_IOC_GETFLAGS failed: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (c->on)
		flags |= FS_JOURNAL_DATA_FL;
	else
		flags &= ~FS_JOURNAL_DATA_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0) {
		int err = errno;

		guest_fail(e, EXIT_OPERATIONAL, "FS_IOC_SETFLAGS (journal data %s) failed: %s%s",
			   c->on ? "on" : "off", strerror(err),
			   err == EPERM ? " (changing it needs CAP_SYS_RESOURCE)" : "");
		close(fd);
		return -1;
	}
	close(fd);
	if (!c->cli.quiet) {
		printf("journal-data %s %s\n", c->path, c->on ? "on" : "off");
		fflush(stdout);
	}
	return EXIT_CLEAN;
}
