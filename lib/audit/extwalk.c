/* extwalk.c: an inode's extent tree, walked past damage.  libext2fs's
 * extent handle stops at the first bad node, and every block the rest of
 * the tree maps would then look leaked.  Here a bad entry is skipped, a
 * node with a bad header is a CORRUPT finding for the logical range its
 * parent gave it, and the entries of such a node that still look valid are
 * kept as maybe owned: they are most likely the file's. */
#include <stdlib.h>
#include <string.h>

#include "lib/core/endian.h"
#include "lib/audit/audit_ctx.h"
#include "lib/journal/jbd2.h"

#define EXT_MAGIC 0xF30AU
#define EXT_MAX_DEPTH 5
#define EXT_HDR 12
#define EXT_ENTRY 12
#define INIT_MAX_LEN 32768U
#define LBLK_END (1ULL << 32)

struct ext_hdr {
	uint16_t magic, entries, max, depth;
};

static void read_hdr(const uint8_t *p, struct ext_hdr *h)
{
	h->magic = le16_get(p);
	h->entries = le16_get(p + 2);
	h->max = le16_get(p + 4);
	h->depth = le16_get(p + 6);
}

/* Why a node's header is not believable, or NULL: its magic, room for its
 * entries, a depth ext4 allows and the one its parent implies. */
static const char *hdr_problem(const struct ext_hdr *h, uint32_t size, int want_depth)
{
	if (h->magic != EXT_MAGIC)
		return "bad extent header magic";
	if (h->max == 0 || (uint32_t)h->max * EXT_ENTRY + EXT_HDR > size)
		return "bad extent header capacity";
	if (h->entries > h->max)
		return "more extent entries than the node holds";
	if (h->depth > EXT_MAX_DEPTH)
		return "extent tree deeper than ext4 allows";
	if (want_depth >= 0 && h->depth != want_depth)
		return "extent node at the wrong depth";
	return NULL;
}

int extent_root_ok(const uint8_t *iblock)
{
	struct ext_hdr h;

	read_hdr(iblock, &h);
	return hdr_problem(&h, EXT_ROOT_BYTES, -1) == NULL;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void walk_node(struct inode_walk *w, const uint8_t *p, uint32_t size, int want_depth,
		      uint64_t lo, uint64_t hi);

static void leaf_entry(struct inode_walk *w, const uint8_t *e, uint64_t lo, uint64_t hi,
		       uint64_t *prev_end)
{
	uint64_t lblk = le32_get(e), raw = le16_get(e + 4);
	uint64_t pblk = ((uint64_t)le16_get(e + 6) << 32) | le32_get(e + 8);
	int unwritten = raw > INIT_MAX_LEN;
	uint64_t len = unwritten ? raw - INIT_MAX_LEN : raw;

	if (len == 0) {
		walk_corrupt(w, lblk, 1, 0, 0, "zero-length extent");
		return;
	}
	if (lblk < lo || lblk + len > hi || lblk < *prev_end) {
		/* Out of place, but it may well be the file's. */
		walk_corrupt(w, lblk, len, pblk, len, "extent out of order or outside its index range");
		maybe_own(w->a, w->ino, pblk, len);
		return;
	}
	*prev_end = lblk + len;
	claim_data(w, lblk, pblk, len, unwritten);
}

static void read_child(struct inode_walk *w, uint64_t child, int depth, uint64_t lblk,
		       uint64_t end)
{
	ext2_filsys fs = w->a->fs;
	uint8_t *buf;
	struct ext_hdr h;
	errcode_t rc;

	if (++w->nodes > ext2fs_blocks_count(fs->super) || tree_seen_before(w, child)) {
		if (!w->a->failed)
			walk_corrupt(w, lblk, end - lblk, child, 1,
				     "extent block %llu is already in this file's tree (a loop)",
				     (unsigned long long)child);
		return;
	}
	buf = malloc(fs->blocksize);
	if (!buf) {
		w->a->failed = 1;
		fail(w->a->e, EXIT_OPERATIONAL, "out of memory");
		return;
	}
	rc = io_channel_read_blk64(fs->io, child, 1, buf);
	if (rc) {
		walk_corrupt(w, lblk, end - lblk, child, 1, "cannot read extent block: %s",
			     errcode_text(rc));
		maybe_own(w->a, w->ino, child, 1);
	} else {
		read_hdr(buf, &h);
		/* A child that is not a node may be a stray pointer: only maybe.
		 * Salvage goes one level deep: garbage found while salvaging is
		 * not salvaged again (it could fan out over the whole disk). */
		if (!hdr_problem(&h, fs->blocksize, depth))
			claim_meta(w, child, lblk);
		else
			maybe_own(w->a, w->ino, child, 1);
		if (!w->maybe || !hdr_problem(&h, fs->blocksize, depth))
			walk_node(w, buf, fs->blocksize, depth, lblk, end);
	}
	free(buf);
}

static void index_entry(struct inode_walk *w, const uint8_t *e, int depth, uint64_t lo,
			uint64_t hi, uint64_t next, uint64_t *prev)
{
	uint64_t lblk = le32_get(e);
	uint64_t child = ((uint64_t)le16_get(e + 8) << 32) | le32_get(e + 4);
	uint64_t end = next > lblk && next < hi ? next : hi;
	int save = w->maybe;

	if (lblk < lo || lblk < *prev || lblk >= hi) {
		walk_corrupt(w, lblk, 1, child, 1, "extent index out of order or outside its range");
		w->maybe = 1;
		end = lblk < hi ? hi : lblk + 1;
	} else {
		*prev = lblk + 1;
	}
	if (!blk_in_fs(w->a->fs, child, 1))
		claim_meta(w, child, lblk);	/* reports it, unless only maybe */
	else
		read_child(w, child, depth, lblk, end);
	w->maybe = save;
}

static void walk_node(struct inode_walk *w, const uint8_t *p, uint32_t size, int want_depth,
		      uint64_t lo, uint64_t hi)
{
	struct ext_hdr h;
	const char *why;
	uint32_t n;
	int depth, save = w->maybe;
	uint64_t prev = lo;

	read_hdr(p, &h);
	why = hdr_problem(&h, size, want_depth);
	n = h.entries;
	depth = h.depth;
	if (why) {
		/* Salvage: every slot, read at the depth the parent implies. */
		walk_corrupt(w, lo, hi - lo, 0, 0, "%s%s", want_depth < 0 ? "bad extent tree root: " : "",
			     why);
		w->maybe = 1;
		n = (size - EXT_HDR) / EXT_ENTRY;
		depth = want_depth >= 0 ? want_depth : h.depth <= EXT_MAX_DEPTH ? h.depth : 0;
	}
	for (uint32_t i = 0; i < n && !w->a->failed; i++) {
		const uint8_t *e = p + EXT_HDR + (size_t)i * EXT_ENTRY;

		if (why && all_zero(e, EXT_ENTRY))
			continue;
		if (depth == 0)
			leaf_entry(w, e, lo, hi, &prev);
		else
			index_entry(w, e, depth - 1, lo, hi, i + 1 < n ? le32_get(e + EXT_ENTRY) : hi,
				    &prev);
	}
	w->maybe = save;
}

void walk_extent_tree(struct inode_walk *w)
{
	uint8_t root[EXT_ROOT_BYTES];

	memcpy(root, w->inode->i_block, sizeof(root));
	if (tree_seen_begin(w))
		return;
	walk_node(w, root, sizeof(root), -1, 0, LBLK_END);
	tree_seen_end(w);
}
