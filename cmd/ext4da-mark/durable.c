/* durable.c: the files a durability mark vouches for.  Each is fsynced,
 * with its directory, before the mark is written, and then described by
 * what a later crash state must still show: inode, i_generation, size and
 * the crc32c of its contents, and its path inside its filesystem. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/ext4da-mark/mark_cmd.h"

/* Length of the prefix of abs that names the mount point of the file
 * system (dev) holding abs: walk up while the parent is on the same dev. */
static size_t mount_root_len(char *abs, uint64_t dev)
{
	size_t len = strlen(abs);

	while (len > 1) {
		size_t plen = len - 1;
		struct stat st;
		char saved;
		int same;

		while (plen > 0 && abs[plen] != '/')
			plen--;
		if (plen == 0)
			plen = 1;	/* the parent is "/" */
		saved = abs[plen];
		abs[plen] = '\0';
		same = stat(abs, &st) == 0 && (uint64_t)st.st_dev == dev;
		abs[plen] = saved;
		if (!same)
			break;
		len = plen;
	}
	return len;
}

/* The path of PATH inside its filesystem: "/dir/file" for /mnt/dir/file
 * when the filesystem is mounted at /mnt. */
int fs_relative_path(const char *path, uint64_t dev, char *out, size_t outlen, struct err *e)
{
	char *abs = realpath(path, NULL);
	const char *rel;
	size_t root;

	if (!abs)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	root = mount_root_len(abs, dev);
	rel = root == 1 ? abs : abs + root;
	if (!*rel)
		rel = "/";
	if (strlen(rel) >= outlen) {
		guest_fail(e, EXIT_OPERATIONAL,
			   "its path inside the filesystem, %s, is longer than a mark entry holds "
			   "(%zu bytes)", rel, outlen - 1);
		free(abs);
		return -1;
	}
	strcpy(out, rel);
	free(abs);
	return 0;
}

static int describe_synced(int fd, const char *path, struct mark_entry *m, struct err *e)
{
	struct file_id id;

	if (fsync(fd) != 0)
		return guest_fail(e, EXIT_OPERATIONAL, "fsync failed: %s", strerror(errno));
	if (file_identify(fd, &id, e) || file_content_crc(fd, id.size, &m->crc, e))
		return -1;
	m->ino = id.ino;
	m->gen = id.gen;
	m->size = id.size;
	return fs_relative_path(path, id.dev, m->path, sizeof(m->path), e);
}

int durable_entry(const char *path, struct mark_entry *m, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	memset(m, 0, sizeof(*m));
	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	rc = describe_synced(fd, path, m, e);
	close(fd);
	if (rc)
		return -1;
	return fsync_parent_dir(path, e);
}
