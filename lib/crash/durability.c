/* durability.c: see durability.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crash/crash.h"
#include "lib/core/crc32c.h"
#include "lib/crash/durability.h"
#include "lib/core/stamp.h"

struct collect {
	struct log_marks *out;
	uint64_t entry;
};

static int keep_mark(void *ctx, uint32_t slot, const struct mark_record *r)
{
	struct collect *c = ctx;
	struct log_marks *m = c->out;

	(void)slot;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct log_mark *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			return -1;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n].entry = c->entry;
	m->v[m->n].rec = *r;
	m->n++;
	return 0;
}

int log_marks_collect(struct writelog *wl, const struct wl_index *idx, uint64_t device_bytes,
		      struct log_marks *out, struct err *e)
{
	struct mark_area area;
	uint8_t *buf = NULL;

	memset(out, 0, sizeof(*out));
	if (mark_area_locate(device_bytes, &area))
		return 0;	/* too small to have a mark area */
	for (uint64_t i = 0; i < idx->nr; i++) {
		const struct wl_entry *en = &idx->entries[i];
		uint64_t off = en->sector * idx->sector_size, len = en->payload_len;
		struct collect c = { out, i };
		uint8_t *p;

		if (!len || (en->flags & WL_DISCARD) || !mark_area_overlaps(&area, off, len) ||
		    len > (64U << 20))
			continue;
		p = realloc(buf, len);
		if (!p) {
			free(buf);
			return fail(e, EXIT_OPERATIONAL, "out of memory");
		}
		buf = p;
		if (writelog_read_data(wl, en, 0, buf, len, e) ||
		    mark_scan_write(&area, off, buf, len, keep_mark, &c) < 0) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

void log_marks_free(struct log_marks *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* crc32c_std of the file's first size bytes. */
static int file_crc(ext2_filsys fs, ext2_ino_t ino, uint64_t size, uint32_t *crc)
{
	ext2_file_t f;
	uint8_t buf[65536];
	uint32_t c = ~0U;

	if (ext2fs_file_open(fs, ino, 0, &f))
		return -1;
	for (uint64_t done = 0; done < size;) {
		unsigned int want = size - done < sizeof(buf) ? (unsigned)(size - done) : sizeof(buf);
		unsigned int got = 0;

		if (ext2fs_file_read(f, buf, want, &got) || got == 0) {
			ext2fs_file_close(f);
			return -1;
		}
		c = crc32c(c, buf, got);
		done += got;
	}
	ext2fs_file_close(f);
	*crc = ~c;
	return 0;
}

/* Where a claim came from, for the note: the mark's name says which
 * operation and persistence point made it (ext4da-workload names them so). */
static int say(char *why, size_t len, const struct log_mark *m, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int say(char *why, size_t len, const struct log_mark *m, const char *fmt, ...)
{
	int n = snprintf(why, len, "mark %s (entry %llu): ", m->rec.name,
			 (unsigned long long)m->entry);
	va_list ap;

	if (n < 0 || (size_t)n >= len)
		return 1;
	va_start(ap, fmt);
	vsnprintf(why + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	return 1;
}

/* Is inode ino live, with this generation? */
static int inode_live(ext2_filsys fs, uint64_t ino, uint32_t gen, struct ext2_inode *inode)
{
	return ino != 0 && ino <= fs->super->s_inodes_count &&
	       !ext2fs_read_inode(fs, (ext2_ino_t)ino, inode) && inode->i_links_count != 0 &&
	       inode->i_generation == gen;
}

static int check_file(ext2_filsys fs, const struct log_mark *m, const struct mark_entry *me,
		      char *why, size_t len)
{
	struct ext2_inode inode;
	uint32_t crc;

	if (!inode_live(fs, me->ino, me->gen, &inode))
		return say(why, len, m, "%s (inode %llu) is gone", me->path,
			   (unsigned long long)me->ino);
	if (EXT2_I_SIZE(&inode) < me->size)
		return say(why, len, m, "%s is %llu bytes, fsync had %llu", me->path,
			   (unsigned long long)EXT2_I_SIZE(&inode), (unsigned long long)me->size);
	if (me->type == ME_FILE_EXACT && EXT2_I_SIZE(&inode) != me->size)
		return say(why, len, m, "%s is %llu bytes, the sync left exactly %llu", me->path,
			   (unsigned long long)EXT2_I_SIZE(&inode), (unsigned long long)me->size);
	if (file_crc(fs, (ext2_ino_t)me->ino, me->size, &crc) || crc != me->crc)
		return say(why, len, m, "%s does not hold the %llu bytes %s", me->path,
			   (unsigned long long)me->size,
			   me->type == ME_FILE ? "fsync saw" : "the sync left");
	return 0;
}

/* The inode a path names in this state; 0 if it names nothing (a missing
 * component anywhere on the way); -1 if the lookup failed otherwise. */
static int64_t lookup(ext2_filsys fs, const char *path)
{
	ext2_ino_t ino = 0;
	errcode_t err = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);

	if (err == EXT2_ET_FILE_NOT_FOUND || err == EXT2_ET_NO_DIRECTORY)
		return 0;
	return err ? -1 : (int64_t)ino;
}

static int check_name(ext2_filsys fs, const struct log_mark *m, const struct mark_entry *me,
		      char *why, size_t len)
{
	int64_t ino = lookup(fs, me->path);
	struct ext2_inode inode;

	if (ino < 0)
		return say(why, len, m, "%s cannot be looked up", me->path);
	if (me->type == ME_NO_NAME)
		return ino ? say(why, len, m, "%s was synced away, but it names inode %lld",
				 me->path, (long long)ino) : 0;
	if (ino == 0)
		return say(why, len, m, "%s was synced as inode %llu, but the name is missing",
			   me->path, (unsigned long long)me->ino);
	if ((uint64_t)ino != me->ino)
		return say(why, len, m, "%s was synced as inode %llu, but it names inode %lld",
			   me->path, (unsigned long long)me->ino, (long long)ino);
	if (!inode_live(fs, me->ino, me->gen, &inode))
		return say(why, len, m, "%s names inode %llu, which is not the one synced (free or "
			   "another generation)", me->path, (unsigned long long)me->ino);
	return 0;
}

static int check_entry(ext2_filsys fs, const struct log_mark *m, const struct mark_entry *me,
		       char *why, size_t len)
{
	switch (me->type) {
	case ME_FILE:
	case ME_FILE_EXACT: return check_file(fs, m, me, why, len);
	case ME_NAME:
	case ME_NO_NAME: return check_name(fs, m, me, why, len);
	default: return 0;	/* RELEASE claims nothing */
	}
}

static int is_file(const struct mark_entry *e)
{
	return e->type == ME_FILE || e->type == ME_FILE_EXACT;
}

/* Does entry y, of a later mark, take over entry x's claim?  File claims
 * follow the inode, name claims the path; a release ends both. */
static int replaces(const struct mark_entry *x, const struct mark_entry *y)
{
	if (is_file(x))
		return (is_file(y) || y->type == ME_RELEASE) && y->ino == x->ino;
	if (x->type == ME_NAME || x->type == ME_NO_NAME)
		return y->type != ME_FILE && y->type != ME_FILE_EXACT &&
		       strcmp(y->path, x->path) == 0;
	return 0;
}

/* Is there a later mark (by sequence), durable by now, that takes over
 * entry x of mark i? */
static int superseded(const struct log_marks *m, size_t i, const struct mark_entry *x,
		      uint64_t durable)
{
	for (size_t k = 0; k < m->n; k++) {
		if (k == i || m->v[k].entry > durable || m->v[k].rec.seq <= m->v[i].rec.seq)
			continue;
		for (uint32_t j = 0; j < m->v[k].rec.nentries; j++)
			if (replaces(x, &m->v[k].rec.entries[j]))
				return 1;
	}
	return 0;
}

int durability_check(ext2_filsys fs, const struct log_marks *m, uint64_t durable, char *why,
		     size_t len)
{
	if (durable == NO_ENTRY)
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct log_mark *lm = &m->v[i];

		if (lm->entry > durable || lm->rec.kind == MARK_PLAIN)
			continue;
		for (uint32_t x = 0; x < lm->rec.nentries; x++) {
			const struct mark_entry *me = &lm->rec.entries[x];

			if (!superseded(m, i, me, durable) && check_entry(fs, lm, me, why, len))
				return 1;
		}
	}
	return 0;
}
