/* guest.c: see guest.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "lib/core/fdio.h"
#include "lib/core/guest.h"
#include "lib/core/crc32c.h"

#define IO_CHUNK (1024 * 1024)

int guest_fail(struct err *e, int exit_code, const char *fmt, ...)
{
	va_list ap;

	e->exit_code = exit_code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Decimal, or hexadecimal after 0x; never octal, so that "010" is ten.
 * Signs and spaces, which strtoull would take, are refused. */
static int parse_number(const char *s, unsigned long long *v, char **end)
{
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	if (!isdigit((unsigned char)s[0]) || (hex && !isxdigit((unsigned char)s[2])))
		return -1;
	errno = 0;
	*v = strtoull(s, end, hex ? 16 : 10);
	return errno ? -1 : 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (parse_number(s, &v, &end) || *end)
		return -1;
	*out = v;
	return 0;
}

/* "", "K", "KiB", "m", ... as a power-of-two shift; -1 if unknown. */
static int suffix_shift(const char *suffix)
{
	static const char units[] = "KMGT";

	if (!*suffix)
		return 0;
	if (suffix[1] && strcmp(suffix + 1, "iB") != 0)
		return -1;
	for (int i = 0; units[i]; i++)
		if (suffix[0] == units[i] || suffix[0] == units[i] + ('a' - 'A'))
			return 10 * (i + 1);
	return -1;
}

int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift;

	if (parse_number(s, &v, &end))
		return -1;
	shift = suffix_shift(end);
	if (shift < 0 || (shift && v > (max >> shift)) || (v << shift) > max)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* ext4, ext2/3, xfs and btrfs answer FS_IOC_GETVERSION; tmpfs and others
 * do not, and their files are stamped with generation 0. */
int file_generation(int fd, uint32_t *gen, struct err *e)
{
	int v = 0;

	if (ioctl(fd, FS_IOC_GETVERSION, &v) == 0) {
		*gen = (uint32_t)v;
		return 0;
	}
	if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) {
		*gen = 0;
		return 0;
	}
	return guest_fail(e, EXIT_OPERATIONAL, "cannot read i_generation: %s", strerror(errno));
}

int file_identify(int fd, struct file_id *id, struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return guest_fail(e, EXIT_OPERATIONAL, "not a regular file");
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	id->size = (uint64_t)st.st_size;
	return file_generation(fd, &id->gen, e);
}

int fd_size(int fd, uint64_t *size, struct err *e)
{
	if (fd_size_bytes(fd, size) == 0)
		return 0;
	if (errno == ENOTBLK)
		return guest_fail(e, EXIT_OPERATIONAL, "not a block device or regular file");
	return guest_fail(e, EXIT_OPERATIONAL, "cannot get its size: %s", strerror(errno));
}

int file_content_crc(int fd, uint64_t size, uint32_t *crc, struct err *e)
{
	uint8_t *buf = malloc(IO_CHUNK);
	uint32_t c = ~0U;
	uint64_t off = 0;

	if (!buf)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	while (off < size) {
		size_t want = size - off < IO_CHUNK ? (size_t)(size - off) : IO_CHUNK;
		ssize_t n = read_full(fd, buf, want, off);

		if (n < 0 || (size_t)n != want) {
			free(buf);
			return guest_fail(e, EXIT_OPERATIONAL, "read failed: %s",
					  n < 0 ? strerror(errno) : "file shrank while being read");
		}
		c = crc32c(c, buf, want);
		off += want;
	}
	free(buf);
	*crc = c ^ ~0U;
	return 0;
}

int fsync_parent_dir(const char *path, struct err *e)
{
	char *dir = strdup(path);
	char *slash;
	int fd, rc;

	if (!dir)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	rc = fd < 0 ? -1 : fsync(fd);
	if (rc != 0)
		guest_fail(e, EXIT_OPERATIONAL, "cannot fsync its directory %s: %s", dir,
			   strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc ? -1 : 0;
}

void *aligned_alloc_zero(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len) != 0)
		return NULL;
	memset(p, 0, len);
	return p;
}
