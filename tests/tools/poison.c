/* poison: fill a device or image file with the poison of SPEC section 7,
 * so that a block a file maps but never wrote is recognisable afterwards.
 *   poison FILE
 * Every 512-byte sector n of FILE (a regular file or a block device; its
 * size is kept) becomes:
 *   bytes 0..7    "E4DAPOIS"
 *   bytes 8..15   n, le64
 *   bytes 16..511 62 le64 fill words: word k (at byte 8k, k = 2..63) is
 *                 mix64(((n << 6) | k) ^ 0x53494f5041443445)
 * where mix64 is the splitmix64 finaliser and the constant is "E4DAPOIS"
 * read as le64: the format of lib/core/stamp.h and man/ext4da.7, which the
 * STALE classifier checks word by word.  A trailing partial sector gets
 * the start of its sector's poison.  Standalone (no ext4da library), so
 * that it can be built for any machine that prepares images.
 *   poison --fill BYTE FILE
 * writes the magic and the sector number as above, but every fill byte is
 * BYTE (0-255): poison from another generator, which the tools must still
 * recognise by its magic and sector number.
 * Streams 1 MiB at a time.  Exit 0; 8 on an error ("poison: FILE: problem",
 * one line); 16 on a usage error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR 512u
#define BUF_BYTES (1u << 20)
#define POISON_SALT 0x53494f5041443445ULL /* "E4DAPOIS" as le64 */

static const char *file;
static int other_fill = -1;	/* --fill BYTE */

static int die(const char *what)
{
	fprintf(stderr, "poison: %s: %s\n", file, what);
	return 8;
}

static uint64_t mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fill(uint8_t *buf, uint64_t first, size_t nsectors)
{
	for (size_t s = 0; s < nsectors; s++, buf += SECTOR) {
		uint64_t n = first + s;

		memcpy(buf, "E4DAPOIS", 8);
		put_le64(buf + 8, n);
		if (other_fill >= 0) {
			memset(buf + 16, other_fill, SECTOR - 16);
			continue;
		}
		for (unsigned k = 2; k < SECTOR / 8; k++)
			put_le64(buf + 8 * k, mix64(((n << 6) | k) ^ POISON_SALT));
	}
}

static int write_all(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char msg[160];
	struct stat st;
	uint64_t size, off;
	uint8_t *buf;
	int fd;

	if (argc == 4 && !strcmp(argv[1], "--fill")) {
		char *end;
		long v = strtol(argv[2], &end, 0);

		if (*end || v < 0 || v > 255)
			argc = 0;
		other_fill = (int)v;
		argv += 2;
		argc -= 2;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: poison [--fill BYTE] FILE\n");
		return 16;
	}
	file = argv[1];
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0)
		return die(strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) != 0)
			return die(strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		return die("is not a regular file or block device");
	}
	buf = malloc(BUF_BYTES);
	if (!buf)
		return die("out of memory");
	for (off = 0; off < size;) {
		uint64_t left = size - off;
		size_t len = left < BUF_BYTES ? (size_t)left : BUF_BYTES;

		fill(buf, off / SECTOR, (len + SECTOR - 1) / SECTOR);
		if (write_all(fd, buf, len, off)) {
			snprintf(msg, sizeof(msg), "write at byte %llu: %s", (unsigned long long)off,
				 strerror(errno));
			return die(msg);
		}
		off += len;
	}
	free(buf);
	if (fsync(fd) != 0 && errno != EINVAL) {
		snprintf(msg, sizeof(msg), "fsync: %s", strerror(errno));
		return die(msg);
	}
	if (close(fd) != 0)
		return die(strerror(errno));
	return 0;
}
