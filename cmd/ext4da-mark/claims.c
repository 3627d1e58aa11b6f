/* claims.c: the entries of a claims mark (lib/core/mark.h, version 2).  Unlike
 * --durable, nothing here syncs: a generated workload has just made its
 * own persistence point (fsync, fdatasync, sync, msync) and the mark
 * records what that point guarantees, so the mark must not add a sync of
 * its own that would hide a missing one. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/ext4da-mark/mark_cmd.h"

void claims_free(struct claims *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static struct mark_entry *claims_new(struct claims *c, enum mark_entry_type type)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct mark_entry *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	c->v[c->n].type = type;
	return &c->v[c->n++];
}

/* The path of a name inside its filesystem, whether or not the name
 * exists: its directory's path there, then the last component.  A name
 * claim is about this directory entry, so symlinks in the last component
 * are not followed. */
static int name_path(const char *path, char *out, size_t len, struct err *e)
{
	char *a = strdup(path), *b = strdup(path), *dir, *base;
	char parent[MARK_PATH_FIELD];
	struct stat st;
	int rc = -1;

	if (!a || !b) {
		guest_fail(e, EXIT_OPERATIONAL, "out of memory");
		goto out;
	}
	dir = dirname(a);
	base = basename(b);
	if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/")) {
		guest_fail(e, EXIT_OPERATIONAL, "name a directory entry, not '%s'", base);
		goto out;
	}
	if (stat(dir, &st) != 0) {
		guest_fail(e, EXIT_OPERATIONAL, "its directory: %s", strerror(errno));
		goto out;
	}
	if (fs_relative_path(dir, (uint64_t)st.st_dev, parent, sizeof(parent), e))
		goto out;
	if ((size_t)snprintf(out, len, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", base) >=
	    len) {
		guest_fail(e, EXIT_OPERATIONAL, "its path inside the filesystem is longer than a "
				 "mark entry holds (%zu bytes)", len - 1);
		goto out;
	}
	rc = 0;
out:
	free(a);
	free(b);
	return rc;
}

/* Inode number and i_generation of a file or directory, without
 * following a symlink (a name claim names the entry's own inode). */
static int identify_any(const char *path, uint64_t *ino, uint32_t *gen, struct err *e)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	int rc;

	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		close(fd);
		return guest_fail(e, EXIT_OPERATIONAL, "not a regular file or directory");
	}
	*ino = (uint64_t)st.st_ino;
	rc = file_generation(fd, gen, e);
	close(fd);
	return rc;
}

int claims_add_entry(struct claims *c, const struct mark_entry *m, struct err *e)
{
	struct mark_entry *x = claims_new(c, m->type);

	if (!x)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	*x = *m;
	return 0;
}

static int add_synced(struct claims *c, const char *path, struct err *e)
{
	struct mark_entry *m = claims_new(c, ME_FILE_EXACT);
	struct file_id id;
	int fd, rc;

	if (!m)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	rc = file_identify(fd, &id, e) || file_content_crc(fd, id.size, &m->crc, e);
	close(fd);
	if (rc)
		return -1;
	m->ino = id.ino;
	m->gen = id.gen;
	m->size = id.size;
	return name_path(path, m->path, sizeof(m->path), e);
}

static int add_name(struct claims *c, const char *path, struct err *e)
{
	struct mark_entry *m = claims_new(c, ME_NAME);

	if (!m)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	if (identify_any(path, &m->ino, &m->gen, e))
		return -1;
	return name_path(path, m->path, sizeof(m->path), e);
}

static int skip_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

/* One name claim per entry of dir, in name order (readdir's order is the
 * hash order, which would make the records differ from run to run). */
static int add_names(struct claims *c, const char *dir, struct err *e)
{
	struct dirent **list;
	char child[4096];
	int n = scandir(dir, &list, skip_dots, alphasort), rc = 0;

	if (n < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	for (int i = 0; i < n; i++) {
		if (rc == 0) {
			snprintf(child, sizeof(child), "%s/%s", dir, list[i]->d_name);
			rc = add_name(c, child, e);
			if (rc)
				guest_fail(e, e->exit_code, "%s: %s", list[i]->d_name, e->msg);
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

static int add_absent(struct claims *c, const char *path, struct err *e)
{
	struct mark_entry *m = claims_new(c, ME_NO_NAME);
	struct stat st;

	if (!m)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	if (lstat(path, &st) == 0)
		return guest_fail(e, EXIT_OPERATIONAL, "it exists, so it cannot be claimed absent");
	if (errno != ENOENT)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	return name_path(path, m->path, sizeof(m->path), e);
}

/* A release names the inode too, so that it ends the file claims on it. */
static int add_release(struct claims *c, const char *path, struct err *e)
{
	struct mark_entry *m = claims_new(c, ME_RELEASE);
	struct stat st;

	if (!m)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	if (lstat(path, &st) == 0)
		m->ino = (uint64_t)st.st_ino;
	else if (errno != ENOENT)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	return name_path(path, m->path, sizeof(m->path), e);
}

int claims_add(struct claims *c, enum mark_entry_type type, const char *path, struct err *e)
{
	switch (type) {
	case ME_FILE_EXACT: return add_synced(c, path, e);
	case ME_NAME: return add_names(c, path, e);
	case ME_NO_NAME: return add_absent(c, path, e);
	case ME_RELEASE: return add_release(c, path, e);
	default: break;
	}
	return guest_fail(e, EXIT_OPERATIONAL, "internal error: claim type %d", (int)type);
}
