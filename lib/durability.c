/* durability.c: see durability.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crash.h"
#include "lib/crc32c.h"
#include "lib/durability.h"
#include "lib/stamp.h"

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

static int check_entry(ext2_filsys fs, const struct log_mark *m, const struct mark_entry *me,
		       char *why, size_t len)
{
	struct ext2_inode inode;
	uint32_t crc;

	if (me->ino == 0 || me->ino > fs->super->s_inodes_count ||
	    ext2fs_read_inode(fs, (ext2_ino_t)me->ino, &inode) || inode.i_links_count == 0 ||
	    inode.i_generation != me->gen) {
		snprintf(why, len, "mark %s (entry %llu): %s (inode %llu) is gone", m->rec.name,
			 (unsigned long long)m->entry, me->path, (unsigned long long)me->ino);
		return 1;
	}
	if (EXT2_I_SIZE(&inode) < me->size) {
		snprintf(why, len, "mark %s (entry %llu): %s is %llu bytes, fsync had %llu",
			 m->rec.name, (unsigned long long)m->entry, me->path,
			 (unsigned long long)EXT2_I_SIZE(&inode), (unsigned long long)me->size);
		return 1;
	}
	if (file_crc(fs, (ext2_ino_t)me->ino, me->size, &crc) || crc != me->crc) {
		snprintf(why, len, "mark %s (entry %llu): %s does not hold the %llu bytes fsync saw",
			 m->rec.name, (unsigned long long)m->entry, me->path,
			 (unsigned long long)me->size);
		return 1;
	}
	return 0;
}

/* Is there a later durable mark (by sequence) listing the same inode? */
static int superseded(const struct log_marks *m, size_t i, uint64_t ino, uint64_t durable)
{
	for (size_t k = 0; k < m->n; k++) {
		if (k == i || m->v[k].entry > durable || m->v[k].rec.seq <= m->v[i].rec.seq)
			continue;
		for (uint32_t x = 0; x < m->v[k].rec.nentries; x++)
			if (m->v[k].rec.entries[x].ino == ino)
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

		if (lm->entry > durable || lm->rec.kind != MARK_DURABLE)
			continue;
		for (uint32_t x = 0; x < lm->rec.nentries; x++) {
			const struct mark_entry *me = &lm->rec.entries[x];

			if (!superseded(m, i, me->ino, durable) && check_entry(fs, lm, me, why, len))
				return 1;
		}
	}
	return 0;
}
