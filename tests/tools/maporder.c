/* maporder: does any crash state map a file range before its data reached
 * the disk?  Reads a base image and its dm-log-writes log, and at every
 * flush point (a journal commit is always one) opens the filesystem as
 * recovery would leave it and lists every written (not unwritten) extent
 * block of every regular file.  A block newly mapped at a state must have
 * been written in the log after the last state in which something else
 * mapped it (or, if nothing did, at all): otherwise the map reached the
 * disk before the data, and a crash there exposes what the block held
 * before.  This is the ordering claim of the deferred_map series
 * (doc/design.md), checked from the log itself rather than from poison.
 *
 *   maporder [--every] [-v] BASE LOG
 *
 * --every checks a state after every log entry, not only at flushes.
 * Prints one line per violation (-v: per new mapping too) and a summary
 * line "states N, new-mappings M, violations V, unwritten U"; exits 0
 * when there is no violation, 4 when there is one, 8 on bad input. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crash/crash.h"
#include "lib/audit/view.h"

#define NONE UINT64_MAX

/* What mapped a block at some state: the file (inode and generation) and
 * the logical block, and the log entry of that state. */
struct owner {
	uint32_t ino, gen;
	uint64_t lblk;
	uint64_t entry;		/* state at which this owner was last seen */
	int seen;
};

struct run {
	int verbose;
	int baseline;		/* scanning the base image: record, do not judge */
	uint64_t nblocks;	/* filesystem blocks covered by the arrays */
	uint32_t blocksize;
	uint64_t *last_write;	/* per block: last log entry writing it, NONE */
	struct owner *prev;	/* per block: owner at the last state, or .seen 0 */
	struct owner *cur;	/* per block: owner at this state */
	uint64_t states, new_maps, violations, unwritten;
};

static int same_owner(const struct owner *a, const struct owner *b)
{
	return a->ino == b->ino && a->gen == b->gen && a->lblk == b->lblk;
}

/* A written block of (ino, gen) at lblk, at state entry. */
static void mapped(struct run *r, uint64_t state_entry, uint32_t ino, uint32_t gen,
		   uint64_t lblk, uint64_t pblk)
{
	struct owner now = { ino, gen, lblk, state_entry, 1 };
	struct owner *before;
	uint64_t w;

	if (pblk >= r->nblocks)
		return;
	r->cur[pblk] = now;
	if (r->baseline)
		return;
	before = &r->prev[pblk];
	if (before->seen && same_owner(before, &now))
		return;
	r->new_maps++;
	/* The data must have come after whatever mapped the block before. */
	w = r->last_write[pblk];
	if (w == NONE || (before->seen && before->entry != NONE && w <= before->entry)) {
		/* The first few, or all with -v: one range is often many blocks. */
		if (r->violations++ < 20 || r->verbose) {
			char last[96] = "never written";

			if (w != NONE)
				snprintf(last, sizeof(last), "last written at entry %" PRIu64
					 ", before its previous owner let go", w);
			printf("state at entry %" PRIu64 ": inode %u logical %" PRIu64 " block %" PRIu64
			       " mapped before its data (%s)\n", state_entry, ino, lblk, pblk, last);
		}
	} else if (r->verbose) {
		printf("state at entry %" PRIu64 ": inode %u logical %" PRIu64 " block %" PRIu64
		       " newly mapped, data written at entry %" PRIu64 "\n",
		       state_entry, ino, lblk, pblk, w);
	}
}

static int walk_extents(struct run *r, ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode,
			uint64_t entry)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t err;
	int op = EXT2_EXTENT_ROOT;

	if (ext2fs_extent_open2(fs, ino, inode, &h))
		return -1;
	while ((err = ext2fs_extent_get(h, op, &ex)) == 0) {
		op = EXT2_EXTENT_NEXT_LEAF;
		if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF))
			continue;
		if (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT) {
			r->unwritten += ex.e_len;
			continue;
		}
		for (uint32_t i = 0; i < ex.e_len; i++)
			mapped(r, entry, ino, inode->i_generation, ex.e_lblk + i, ex.e_pblk + i);
	}
	ext2fs_extent_free(h);
	return err == EXT2_ET_EXTENT_NO_NEXT ? 0 : -1;
}

struct blk_ctx {
	struct run *r;
	uint64_t entry;
	ext2_ino_t ino;
	uint32_t gen;
};

static int block_cb(ext2_filsys fs, blk64_t *blk, e2_blkcnt_t lblk, blk64_t ref, int ref_off,
		    void *priv)
{
	struct blk_ctx *c = priv;

	(void)fs, (void)ref, (void)ref_off;
	if (lblk >= 0)
		mapped(c->r, c->entry, c->ino, c->gen, (uint64_t)lblk, *blk);
	return 0;
}

/* Every written block of every regular file at this state. */
static int scan_state(struct run *r, ext2_filsys fs, uint64_t entry)
{
	ext2_inode_scan scan;
	struct ext2_inode inode;
	ext2_ino_t ino;

	if (ext2fs_open_inode_scan(fs, 0, &scan))
		return -1;
	while (ext2fs_get_next_inode(scan, &ino, &inode) == 0 && ino) {
		/* The journal and other reserved inodes are not files' data. */
		if (ino < EXT2_FIRST_INO(fs->super))
			continue;
		if (!inode.i_links_count || !LINUX_S_ISREG(inode.i_mode) || inode.i_dtime)
			continue;
		if (inode.i_flags & EXT4_INLINE_DATA_FL)
			continue;
		if (inode.i_flags & EXT4_EXTENTS_FL) {
			/* A tree the state cannot walk is the audit's business. */
			walk_extents(r, fs, ino, &inode, entry);
		} else {
			struct blk_ctx c = { r, entry, ino, inode.i_generation };

			ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
					      NULL, block_cb, &c);
		}
	}
	ext2fs_close_inode_scan(scan);
	return 0;
}

/* Entry en wrote these filesystem blocks: remember when. */
static void note_write(struct run *r, const struct wl_index *idx, const struct wl_entry *en)
{
	uint64_t first, last;

	if (en->flags & (WL_MARK | WL_DISCARD) || !en->nr_sectors || !r->blocksize)
		return;
	first = en->sector * idx->sector_size / r->blocksize;
	last = ((en->sector + en->nr_sectors) * idx->sector_size - 1) / r->blocksize;
	for (uint64_t b = first; b <= last && b < r->nblocks; b++)
		r->last_write[b] = en->index;
}

static int usage(void)
{
	fprintf(stderr, "usage: maporder [--every] [-v] BASE LOG\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct plan_opts po = { .mode = POINTS_FLUSH, .seed = 1 };
	struct run r = { 0 };
	struct crash_plan plan;
	struct crash_cursor cur;
	struct writelog *wl;
	struct wl_index idx;
	struct err e = { 0 };
	struct stat st;
	uint64_t applied = 0;
	const char *base = NULL, *log = NULL;
	int fd, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--every"))
			po.mode = POINTS_EVERY;
		else if (!strcmp(argv[i], "-v"))
			r.verbose = 1;
		else if (!base)
			base = argv[i];
		else if (!log)
			log = argv[i];
		else
			return usage();
	}
	if (!log)
		return usage();
	fd = open(base, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "maporder: %s: %s\n", base, strerror(errno));
		return EXIT_OPERATIONAL;
	}
	if (writelog_open(log, &wl, &e) || writelog_scan(wl, &idx, &e) ||
	    crash_plan_build(&idx, &po, &plan, &e) ||
	    crash_cursor_init(&cur, wl, &idx, fd, NULL, (uint64_t)st.st_size, &e)) {
		fprintf(stderr, "maporder: %s: %s\n", log, e.msg);
		return e.exit_code ? e.exit_code : EXIT_OPERATIONAL;
	}
	/* State -1 is the base image: what it maps is old, not new. */
	for (size_t k = 0; k <= plan.n; k++) {
		static const struct crash_state base_state = { .entry = NO_ENTRY };
		const struct crash_state *s = k ? &plan.states[k - 1] : &base_state;
		struct view_opts vo = { .replay = 1, .vcache = &cur.vcache };
		struct overlay *top;
		struct view v;

		if (crash_cursor_seek(&cur, s, &top, &e) || view_open_on(top, &vo, &v, &e)) {
			fprintf(stderr, "maporder: state at entry %" PRIu64 ": %s\n", s->entry, e.msg);
			rc = EXIT_OPERATIONAL;
			break;
		}
		if (!r.blocksize) {
			/* Sized by the image, not by what its superblock claims. */
			r.blocksize = v.fs->blocksize;
			r.nblocks = (uint64_t)st.st_size / r.blocksize;
			r.last_write = malloc(r.nblocks * sizeof(*r.last_write));
			r.prev = calloc(r.nblocks, sizeof(*r.prev));
			r.cur = calloc(r.nblocks, sizeof(*r.cur));
			if (!r.last_write || !r.prev || !r.cur) {
				fprintf(stderr, "maporder: out of memory\n");
				return EXIT_OPERATIONAL;
			}
			memset(r.last_write, 0xff, r.nblocks * sizeof(*r.last_write));
		}
		for (; s->entry != NO_ENTRY && applied <= s->entry; applied++)
			note_write(&r, &idx, &idx.entries[applied]);
		memset(r.cur, 0, r.nblocks * sizeof(*r.cur));
		r.baseline = k == 0;
		scan_state(&r, v.fs, s->entry == NO_ENTRY ? NONE : s->entry);
		/* What this state mapped is what the next one is compared with;
		 * a block no longer mapped keeps its last owner and state. */
		for (uint64_t b = 0; b < r.nblocks; b++)
			if (r.cur[b].seen)
				r.prev[b] = r.cur[b];
		r.states += k > 0;
		view_close(&v);
	}
	printf("states %" PRIu64 ", new-mappings %" PRIu64 ", violations %" PRIu64
	       ", unwritten %" PRIu64 "\n",
	       r.states, r.new_maps, r.violations, r.unwritten);
	crash_cursor_free(&cur);
	crash_plan_free(&plan);
	wl_index_free(&idx);
	writelog_close(wl);
	close(fd);
	free(r.last_write);
	free(r.prev);
	free(r.cur);
	if (rc)
		return rc;
	return r.violations ? EXIT_PROBLEMS : EXIT_CLEAN;
}
