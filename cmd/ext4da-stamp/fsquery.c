/* fsquery.c: what busybox cannot ask the kernel, for the risk workloads:
 * whether SEEK_DATA/SEEK_HOLE and FIEMAP report a file's blocks as data
 * (while writeback holds them reserved in memory only), setting and
 * reading disk quota limits (busybox has no setquota), and dropping root
 * for one operation (root's CAP_SYS_RESOURCE ignores quota limits). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/quota.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/fiemap.h>
#include <linux/fs.h>

#include "cmd/ext4da-stamp/ops.h"

/* QCMD() shifts Q_GETQUOTA (0x800007) into an int's sign bit, which is
 * undefined behaviour; build the same command word unsigned. */
static int quota_cmd(unsigned cmd, int type)
{
	return (int)((cmd << SUBCMDSHIFT) | ((unsigned)type & SUBCMDMASK));
}

/* fs/ext4/ext4.h: drop the inode's extent status cache (what the shrinker
 * would do to it), not in the 6.1 uapi headers. */
#ifndef EXT4_IOC_CLEAR_ES_CACHE
#define EXT4_IOC_CLEAR_ES_CACHE _IO('f', 40)
#endif

/* quotactl_fd(2), Linux 5.14; the number is the same on every
 * architecture, and glibc 2.36 has no wrapper. */
#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif

#define FIEMAP_BATCH 64

/* Bytes of [0, size) that SEEK_DATA/SEEK_HOLE call data. */
static int seek_data_bytes(int fd, uint64_t size, uint64_t *data, struct err *e)
{
	off_t off = 0;

	*data = 0;
	while ((uint64_t)off < size) {
		off_t d = lseek(fd, off, SEEK_DATA), h;

		if (d < 0 && errno == ENXIO)
			break;
		if (d < 0)
			return guest_fail(e, EXIT_OPERATIONAL, "SEEK_DATA failed: %s", strerror(errno));
		if ((uint64_t)d >= size)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return guest_fail(e, EXIT_OPERATIONAL, "SEEK_HOLE failed: %s", strerror(errno));
		if ((uint64_t)h > size)
			h = (off_t)size;
		if (h <= d)
			return guest_fail(e, EXIT_OPERATIONAL, "SEEK_HOLE at %lld returned %lld",
					  (long long)d, (long long)h);
		*data += (uint64_t)(h - d);
		off = h;
	}
	return 0;
}

struct fiemap_count {
	uint64_t bytes;		/* of [0, size) covered by extents */
	unsigned extents, delalloc, unwritten;
};

/* Walk FIEMAP without FIEMAP_FLAG_SYNC: syncing first would end the very
 * state the caller wants to look at. */
static int fiemap_bytes(int fd, uint64_t size, struct fiemap_count *n, struct err *e)
{
	size_t len = sizeof(struct fiemap) + FIEMAP_BATCH * sizeof(struct fiemap_extent);
	struct fiemap *fm = malloc(len);
	uint64_t start = 0;
	int last = 0;

	if (!fm)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	memset(n, 0, sizeof(*n));
	while (!last && start < size) {
		memset(fm, 0, len);
		fm->fm_start = start;
		fm->fm_length = size - start;
		fm->fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0) {
			guest_fail(e, EXIT_OPERATIONAL, "FS_IOC_FIEMAP failed: %s", strerror(errno));
			free(fm);
			return -1;
		}
		if (fm->fm_mapped_extents == 0)
			break;
		for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *x = &fm->fm_extents[i];
			uint64_t lo = x->fe_logical, hi = x->fe_logical + x->fe_length;

			if (lo < start)
				lo = start;	/* an extent that began before this batch */
			if (hi > size)
				hi = size;
			if (hi > lo)
				n->bytes += hi - lo;
			n->extents++;
			if (x->fe_flags & FIEMAP_EXTENT_DELALLOC)
				n->delalloc++;
			if (x->fe_flags & FIEMAP_EXTENT_UNWRITTEN)
				n->unwritten++;
			if (x->fe_flags & FIEMAP_EXTENT_LAST)
				last = 1;
			if (x->fe_logical + x->fe_length > start)
				start = x->fe_logical + x->fe_length;
		}
	}
	free(fm);
	return 0;
}

int op_mapped(const struct stamp_cmd *c, const char **input, struct err *e)
{
	struct fiemap_count fc = { 0 };
	uint64_t data = 0;
	struct stat st;
	int fd;

	*input = c->path;
	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return guest_fail(e, EXIT_OPERATIONAL, "not a regular file");
	}
	if (c->clear_es && ioctl(fd, EXT4_IOC_CLEAR_ES_CACHE) != 0) {
		guest_fail(e, EXIT_OPERATIONAL, "EXT4_IOC_CLEAR_ES_CACHE failed: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (seek_data_bytes(fd, (uint64_t)st.st_size, &data, e) ||
	    fiemap_bytes(fd, (uint64_t)st.st_size, &fc, e)) {
		close(fd);
		return -1;
	}
	close(fd);
	if (!c->cli.quiet || data < (uint64_t)st.st_size || fc.bytes < (uint64_t)st.st_size) {
		printf("mapped %s size=%llu seek_data=%llu fiemap=%llu extents=%u delalloc=%u "
		       "unwritten=%u\n", c->path, (unsigned long long)st.st_size,
		       (unsigned long long)data, (unsigned long long)fc.bytes, fc.extents,
		       fc.delalloc, fc.unwritten);
		fflush(stdout);
	}
	return data < (uint64_t)st.st_size || fc.bytes < (uint64_t)st.st_size ? EXIT_PROBLEMS
									       : EXIT_CLEAN;
}

int parse_quota_type(const char *s, int *type)
{
	if (strcmp(s, "user") == 0)
		*type = USRQUOTA;
	else if (strcmp(s, "group") == 0)
		*type = GRPQUOTA;
	else
		return -1;
	return 0;
}

int op_quota(const struct stamp_cmd *c, const char **input, struct err *e)
{
	const char *name = c->quota_type == USRQUOTA ? "user" : "group";
	struct dqblk q;
	int fd;

	*input = c->path;
	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (c->has_limit) {
		memset(&q, 0, sizeof(q));
		/* Limits count 1 KiB quota blocks; soft = hard: no grace period. */
		q.dqb_bhardlimit = q.dqb_bsoftlimit = c->limit / 1024;
		q.dqb_valid = QIF_BLIMITS;
		if (syscall(SYS_quotactl_fd, fd, quota_cmd(Q_SETQUOTA, c->quota_type),
			    (unsigned)c->quota_id, &q) != 0) {
			guest_fail(e, EXIT_OPERATIONAL, "setting the %s quota of %u failed: %s%s",
				   name, (unsigned)c->quota_id, strerror(errno),
				   errno == ESRCH ? " (quota not enabled on this filesystem)" : "");
			close(fd);
			return -1;
		}
	}
	memset(&q, 0, sizeof(q));
	if (syscall(SYS_quotactl_fd, fd, quota_cmd(Q_GETQUOTA, c->quota_type), (unsigned)c->quota_id,
		    &q) != 0) {
		guest_fail(e, EXIT_OPERATIONAL, "reading the %s quota of %u failed: %s%s", name,
			   (unsigned)c->quota_id, strerror(errno),
			   errno == ESRCH ? " (quota not enabled on this filesystem)" : "");
		close(fd);
		return -1;
	}
	close(fd);
	if (!c->cli.quiet) {
		printf("quota %s %u used=%llu limit=%llu\n", name, (unsigned)c->quota_id,
		       (unsigned long long)q.dqb_curspace,
		       (unsigned long long)q.dqb_bhardlimit * 1024);
		fflush(stdout);
	}
	return EXIT_CLEAN;
}

int parse_uid_gid(const char *s, uint32_t *uid, uint32_t *gid)
{
	char *end;
	unsigned long u, g;

	errno = 0;
	u = strtoul(s, &end, 10);
	if (end == s || *end != ':' || errno || u > UINT32_MAX - 1)
		return -1;
	s = end + 1;
	g = strtoul(s, &end, 10);
	if (end == s || *end || errno || g > UINT32_MAX - 1)
		return -1;
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	return 0;
}

int drop_to_user(uint32_t uid, uint32_t gid, struct err *e)
{
	/* setuid from root to another user clears every capability. */
	if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		return guest_fail(e, EXIT_OPERATIONAL, "cannot become uid %u gid %u: %s",
				  (unsigned)uid, (unsigned)gid, strerror(errno));
	return 0;
}
