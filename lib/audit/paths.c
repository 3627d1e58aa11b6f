/* paths.c: see paths.h.  libext2fs names a directory by walking its ".."
 * entries; any other inode needs its parent, which only a directory's
 * entries tell: so the directories are scanned once, for all the inodes
 * wanted at the same time, and the scan stops when each has a parent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/blockdev/blockmap.h"
#include "lib/audit/paths.h"

struct wanted {
	struct blockmap idx;	/* inode -> its slot + 1 */
	uint32_t *ino, *parent;
	char **path;
	size_t n, cap, unnamed;
};

static const char *special_role(ext2_filsys fs, uint32_t ino)
{
	struct ext2_super_block *sb = fs->super;

	if (ino == EXT2_BAD_INO)
		return "<bad blocks inode>";
	if (ino == EXT2_ROOT_INO)
		return "/";
	if (ino == sb->s_journal_inum && ext2fs_has_feature_journal(sb))
		return "<journal>";
	if (ino == EXT2_RESIZE_INO)
		return "<resize inode>";
	if (ino == sb->s_usr_quota_inum)
		return "<user quota>";
	if (ino == sb->s_grp_quota_inum)
		return "<group quota>";
	if (ino == sb->s_prj_quota_inum && ino)
		return "<project quota>";
	if (ino == sb->s_orphan_file_inum && ino)
		return "<orphan file>";
	if (ino < EXT2_FIRST_INODE(sb))
		return "<reserved inode>";
	return NULL;
}

static int want(struct wanted *w, uint32_t ino)
{
	uint32_t *slot;
	int ins;

	if (!ino)
		return 0;
	slot = blockmap_slot(&w->idx, ino, &ins);
	if (!slot)
		return -1;
	if (!ins)
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		uint32_t *i = realloc(w->ino, cap * sizeof(*i)), *p;
		char **s;

		if (!i)
			return -1;
		w->ino = i;
		p = realloc(w->parent, cap * sizeof(*p));
		if (!p)
			return -1;
		w->parent = p;
		s = realloc(w->path, cap * sizeof(*s));
		if (!s)
			return -1;
		w->path = s;
		w->cap = cap;
	}
	w->ino[w->n] = ino;
	w->parent[w->n] = 0;
	w->path[w->n] = NULL;
	*slot = (uint32_t)++w->n;
	return 0;
}

static int entry(ext2_ino_t dir, int entry_kind, struct ext2_dir_entry *d, int offset,
		 int blocksize, char *buf, void *priv)
{
	struct wanted *w = priv;
	uint32_t *slot;

	(void)offset, (void)blocksize, (void)buf;
	if (entry_kind == DIRENT_DOT_FILE || entry_kind == DIRENT_DOT_DOT_FILE || !d->inode)
		return 0;
	slot = blockmap_find(&w->idx, d->inode);
	if (slot && !w->parent[*slot - 1] && !w->path[*slot - 1]) {
		w->parent[*slot - 1] = dir;
		if (--w->unnamed == 0)
			return DIRENT_ABORT;
	}
	return 0;
}

/* Every in-use directory's entries, until each wanted inode has a parent.
 * Damaged directories and inode tables are passed over. */
static void find_parents(ext2_filsys fs, struct wanted *w)
{
	ext2_inode_scan scan;
	struct ext2_inode inode;
	ext2_ino_t ino;

	if (ext2fs_open_inode_scan(fs, 0, &scan))
		return;
	ext2fs_inode_scan_flags(scan, EXT2_SF_SKIP_MISSING_ITABLE | EXT2_SF_BAD_INODE_BLK, 0);
	while (w->unnamed) {
		errcode_t rc = ext2fs_get_next_inode(scan, &ino, &inode);

		if (rc == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE || rc == EXT2_ET_INODE_CSUM_INVALID ||
		    rc == EXT2_ET_INODE_IS_GARBAGE)
			continue;
		if (rc || !ino)
			break;
		if (!LINUX_S_ISDIR(inode.i_mode) || !inode.i_links_count ||
		    !ext2fs_inode_has_valid_blocks2(fs, &inode))
			continue;
		ext2fs_dir_iterate2(fs, ino, 0, NULL, entry, w);
	}
	ext2fs_close_inode_scan(scan);
}

static char *dup_path(ext2_filsys fs, ext2_ino_t dir, ext2_ino_t ino)
{
	char *name = NULL, *copy;

	if (ext2fs_get_pathname(fs, dir, ino, &name) || !name)
		return NULL;
	copy = strdup(name);
	ext2fs_free_mem(&name);
	return copy;
}

static void name_all(ext2_filsys fs, struct wanted *w)
{
	for (size_t i = 0; i < w->n; i++) {
		const char *role = special_role(fs, w->ino[i]);
		struct ext2_inode inode;

		if (role)
			w->path[i] = strdup(role);
		else if (!ext2fs_read_inode(fs, w->ino[i], &inode) && LINUX_S_ISDIR(inode.i_mode) &&
			 inode.i_links_count)
			w->path[i] = dup_path(fs, w->ino[i], 0);
		if (!w->path[i])
			w->unnamed++;
	}
	if (w->unnamed)
		find_parents(fs, w);
	for (size_t i = 0; i < w->n; i++)
		if (!w->path[i] && w->parent[i])
			w->path[i] = dup_path(fs, w->parent[i], w->ino[i]);
}

int findings_name_paths(ext2_filsys fs, struct findings *f)
{
	struct wanted w = { 0 };
	int rc = 0;

	if (blockmap_init(&w.idx, 64))
		return -1;
	for (size_t i = 0; i < f->n && rc == 0; i++)
		rc = want(&w, f->v[i].ino) || want(&w, f->v[i].other_ino) ? -1 : 0;
	if (rc == 0 && w.n)
		name_all(fs, &w);
	for (size_t i = 0; i < f->n && rc == 0; i++) {
		uint32_t *s;

		if (f->v[i].ino && (s = blockmap_find(&w.idx, f->v[i].ino)) && w.path[*s - 1])
			f->v[i].path = strdup(w.path[*s - 1]);
		if (f->v[i].other_ino && (s = blockmap_find(&w.idx, f->v[i].other_ino)) &&
		    w.path[*s - 1])
			f->v[i].other_path = strdup(w.path[*s - 1]);
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.path[i]);
	free(w.ino);
	free(w.parent);
	free(w.path);
	blockmap_free(&w.idx);
	return rc;
}
