/* journal.c: locate the journal (inode or external device), validate its
 * superblock the way the kernel's journal load does, and read log blocks. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <blkid.h>
#include <uuid/uuid.h>

#include "lib/core/crc32c.h"
#include "lib/journal/journal.h"

#define EXT3_JOURNAL_DEV_FEATURE 0x0008 /* incompat: this device is a journal */

int fs_has_journal(ext2_filsys fs)
{
	return ext2fs_has_feature_journal(fs->super) ||
	       ext2fs_has_feature_journal_needs_recovery(fs->super);
}

int journal_path_applies(ext2_filsys fs, const char *path, struct err *e)
{
	if (!path)
		return 0;
	if (!fs_has_journal(fs))
		return fail(e, EXIT_OPERATIONAL,
			    "--journal %s given, but the filesystem has no journal", path);
	if (uuid_is_null(fs->super->s_journal_uuid))
		return fail(e, EXIT_OPERATIONAL,
			    "--journal %s given, but the filesystem's journal is internal (inode %u)",
			    path, fs->super->s_journal_inum);
	return 0;
}

uint32_t journal_csum(const struct journal *j, uint32_t seed, const void *buf, size_t len)
{
	(void)j;
	return crc32c(seed, buf, len);
}

static uint32_t csum_with_zeroed_field(const struct journal *j, uint32_t seed, const void *block,
				       size_t len, size_t field)
{
	uint8_t saved[4];
	uint8_t *b = (uint8_t *)block;
	uint32_t c;

	/* Checksum the block as if the checksum field were zero, without a copy. */
	memcpy(saved, b + field, 4);
	memset(b + field, 0, 4);
	c = journal_csum(j, seed, b, len);
	memcpy(b + field, saved, 4);
	return c;
}

int journal_block_tail_ok(const struct journal *j, const void *block)
{
	size_t tail = j->blocksize - JBD2_TAIL_SIZE;

	if (!j->csum_v2or3)
		return 1;
	return get_be32(block, tail) ==
	       csum_with_zeroed_field(j, j->csum_seed, block, j->blocksize, tail);
}

int journal_commit_csum_ok(const struct journal *j, const void *block)
{
	if (!j->csum_v2or3)
		return 1;
	return get_be32(block, JCOMMIT_CHKSUM) ==
	       csum_with_zeroed_field(j, j->csum_seed, block, j->blocksize, JCOMMIT_CHKSUM);
}

int journal_tag_csum_ok(const struct journal *j, const uint8_t *tag, uint32_t tid,
			const void *data)
{
	uint8_t seq[4];
	uint32_t c;

	if (!j->csum_v2or3)
		return 1;
	put_be32(seq, 0, tid);
	c = journal_csum(j, j->csum_seed, seq, 4);
	c = journal_csum(j, c, data, j->blocksize);
	if (j->csum_v3)
		return get_be32(tag, 12) == c;
	return get_be16(tag, 4) == (uint16_t)c;
}

uint64_t journal_tag_block(const struct journal *j, const uint8_t *tag)
{
	uint64_t b = get_be32(tag, 0);

	if (j->incompat & JBD2_INCOMPAT_64BIT)
		b |= (uint64_t)get_be32(tag, 8) << 32;
	return b;
}

uint16_t journal_tag_flags(const uint8_t *tag)
{
	/* Old tags keep be16 flags at offset 6; tag3's be32 flags at offset 4
	 * have the same low half there, so one read serves both. */
	return get_be16(tag, 6);
}

uint32_t journal_wrap(const struct journal *j, uint64_t jblk)
{
	/* Fast-commit blocks live past j->last; the main log wraps at j->last
	 * (kernel commit 2dfba3bb40ad; e2fsprogs 1.47 wraps at fc_last). */
	while (jblk >= j->last)
		jblk -= j->last - j->first;
	return (uint32_t)jblk;
}

uint32_t journal_next(const struct journal *j, uint32_t jblk)
{
	return journal_wrap(j, (uint64_t)jblk + 1);
}

int journal_read(struct journal *j, uint32_t jblk, void *buf, struct err *e)
{
	blk64_t dev;
	errcode_t rc;

	if (jblk >= j->maxlen)
		return fail(e, EXIT_OPERATIONAL, "journal block %u is past the journal's end (%u)",
			    jblk, j->maxlen);
	dev = j->map ? j->map[jblk] : jblk;
	rc = io_channel_read_blk64(j->io, dev, 1, buf);
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "reading journal block %u (device block %llu): %s",
			    jblk, (unsigned long long)dev, errcode_text(rc));
	return 0;
}

int journal_read_blocks(struct journal *j, uint32_t jblk, uint32_t count, void *buf,
			struct err *e)
{
	uint8_t *p = buf;

	if (jblk >= j->maxlen || count > j->maxlen - jblk)
		return fail(e, EXIT_OPERATIONAL, "journal blocks %u+%u are past the journal's end (%u)",
			    jblk, count, j->maxlen);
	while (count) {
		blk64_t dev = j->map ? j->map[jblk] : jblk;
		uint32_t n = 1;
		errcode_t rc;

		/* One read per run of blocks that are adjacent on the device. */
		while (n < count && n < (1U << 20) && (!j->map || j->map[jblk + n] == dev + n))
			n++;
		rc = io_channel_read_blk64(j->io, dev, (int)n, p);
		if (rc)
			return fail(e, EXIT_OPERATIONAL,
				    "reading journal blocks %u+%u (device block %llu): %s", jblk, n,
				    (unsigned long long)dev, errcode_text(rc));
		jblk += n;
		count -= n;
		p += (size_t)n * j->blocksize;
	}
	return 0;
}

struct map_walk {
	blk64_t *map;
	uint32_t len;
	int hole;
};

static int map_one_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref,
			 int ref_offset, void *priv)
{
	struct map_walk *w = priv;

	(void)fs, (void)ref, (void)ref_offset;
	if (blockcnt < 0)
		return 0;
	if ((uint64_t)blockcnt >= w->len)
		return BLOCK_ABORT;
	if (*blocknr == 0 || *blocknr >= ext2fs_blocks_count(fs->super))
		w->hole = 1;
	w->map[blockcnt] = *blocknr;
	return 0;
}

/* The same walk as map_one_block's, extent by extent: a 1 GiB journal is
 * a handful of extents, where the block iterator calls back 262,144
 * times (a few ms per open).  Leaves come in the iterator's order, and
 * its stop at the first block past the map is kept.  -1, with the map
 * untouched, where the iterator should do it instead: no extent tree,
 * or one it cannot read (so that errors read the same). */
static int map_by_extents(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode,
			  struct map_walk *w)
{
	uint64_t fs_blocks = ext2fs_blocks_count(fs->super);
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	int op = EXT2_EXTENT_ROOT, hole = 0;
	errcode_t rc;

	if (!(inode->i_flags & EXT4_EXTENTS_FL) || (inode->i_flags & EXT4_INLINE_DATA_FL) ||
	    ext2fs_extent_open2(fs, ino, inode, &h))
		return -1;
	for (;; op = EXT2_EXTENT_NEXT_LEAF) {
		rc = ext2fs_extent_get(h, op, &ex);
		if (rc)
			break;
		if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF))
			continue;
		for (uint32_t k = 0; k < ex.e_len; k++) {
			uint64_t pblk = ex.e_pblk + k;

			if (ex.e_lblk + k >= w->len)
				goto done;
			if (pblk == 0 || pblk >= fs_blocks)
				hole = 1;
			w->map[ex.e_lblk + k] = pblk;
		}
	}
	if (rc != EXT2_ET_EXTENT_NO_NEXT) {
		ext2fs_extent_free(h);
		memset(w->map, 0, (size_t)w->len * sizeof(*w->map));
		return -1;
	}
done:
	ext2fs_extent_free(h);
	w->hole |= hole;
	return 0;
}

/* A zeroed map of len blocks, freed with free().  A 1 GiB journal's is
 * 2 MiB: on a huge page where the kernel gives one, it costs one page
 * fault instead of 512. */
static blk64_t *new_map(uint32_t len)
{
	size_t bytes = (size_t)len * sizeof(blk64_t), huge = (size_t)2 << 20;
	void *m;

	if (bytes < huge)
		return calloc(len, sizeof(blk64_t));
	if (posix_memalign(&m, huge, bytes))
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(m, bytes / huge * huge, MADV_HUGEPAGE);
#endif
	memset(m, 0, bytes);
	return m;
}

/* The map of from, an open of the same image, when inode is the one it
 * was made from and holds the whole extent tree in i_block (depth 0):
 * the map follows from the inode alone, so it cannot differ. */
static blk64_t *same_map(struct journal *from, const struct ext2_inode *inode)
{
	const struct ext3_extent_header *root = (const void *)inode->i_block;
	blk64_t *map;

	if (!from || !from->map || from->external ||
	    memcmp(&from->inode, inode, sizeof(*inode)) != 0 ||
	    !(inode->i_flags & EXT4_EXTENTS_FL) || (inode->i_flags & EXT4_INLINE_DATA_FL) ||
	    ext2fs_le16_to_cpu(root->eh_magic) != EXT3_EXT_MAGIC ||
	    ext2fs_le16_to_cpu(root->eh_depth) != 0)
		return NULL;
	map = from->map;
	from->map = NULL;
	return map;
}

static int map_journal_inode(ext2_filsys fs, struct journal *j, struct journal *from,
			     struct err *e)
{
	ext2_ino_t ino = fs->super->s_journal_inum;
	struct ext2_inode inode;
	struct map_walk w = { 0 };
	uint64_t size, nblocks;
	errcode_t rc;

	if (ino == 0 || ino > fs->super->s_inodes_count)
		return fail(e, EXIT_OPERATIONAL, "journal inode number %u is invalid", ino);
	rc = ext2fs_read_inode(fs, ino, &inode);
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "reading journal inode %u: %s", ino,
			    errcode_text(rc));
	if (!LINUX_S_ISREG(inode.i_mode) || inode.i_links_count == 0)
		return fail(e, EXIT_OPERATIONAL, "journal inode %u is not a regular file in use", ino);
	size = EXT2_I_SIZE(&inode);
	nblocks = size / fs->blocksize;
	/* The map is sized from i_size, so bound it by what the filesystem can
	 * hold (image_open has checked the image holds the filesystem): a
	 * corrupt i_size_high must not become a many-GiB allocation. */
	if (nblocks > ext2fs_blocks_count(fs->super))
		return fail(e, EXIT_OPERATIONAL,
			    "journal inode %u is corrupt: its size (%llu blocks) is larger than "
			    "the filesystem (%llu blocks)",
			    ino, (unsigned long long)nblocks,
			    (unsigned long long)ext2fs_blocks_count(fs->super));
	if (nblocks < JBD2_MIN_JOURNAL_BLOCKS || nblocks > UINT32_MAX)
		return fail(e, EXIT_OPERATIONAL, "journal inode %u has an invalid size (%llu blocks)",
			    ino, (unsigned long long)nblocks);
	w.len = (uint32_t)nblocks;
	w.map = same_map(from, &inode);
	if (w.map) {
		j->map_len = from->map_len;
		goto mapped;
	}
	w.map = new_map(w.len);
	if (!w.map)
		return fail(e, EXIT_OPERATIONAL, "out of memory mapping the journal");
	rc = 0;
	if (map_by_extents(fs, ino, &inode, &w) != 0)
		rc = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
					   NULL, map_one_block, &w);
	if (rc) {
		free(w.map);
		return fail(e, EXIT_OPERATIONAL, "mapping journal inode %u: %s", ino,
			    errcode_text(rc));
	}
	for (uint32_t i = 0; i < w.len && !w.hole; i++)
		if (w.map[i] == 0)
			w.hole = 1;
	if (w.hole) {
		free(w.map);
		return fail(e, EXIT_OPERATIONAL,
			    "journal inode %u has holes or blocks outside the filesystem", ino);
	}
	j->map_len = w.len;
mapped:
	j->io = fs->io;
	j->map = w.map;
	j->inode = inode;
	j->sb_block = w.map[0];
	j->sb_offset = 0;
	return 0;
}

static int open_external(ext2_filsys fs, const struct journal_open_opts *opts, struct journal *j,
			 struct err *e)
{
	char uuid[40];
	char *path = NULL;
	struct ext2_super_block dsb;
	io_manager mgr = opts->manager ? opts->manager : unix_io_manager;
	int sb_start = fs->blocksize == 1024 ? 2 : 1;
	errcode_t rc;

	uuid_unparse(fs->super->s_journal_uuid, uuid);
	if (opts->external_path) {
		path = strdup(opts->external_path);
	} else {
		path = blkid_get_devname(NULL, "UUID", uuid);
		if (!path)
			return fail(e, EXIT_OPERATIONAL,
				    "external journal %s not found (give it with --journal)", uuid);
	}
	j->device = path;
	rc = mgr->open(path, opts->writable ? IO_FLAG_RW : 0, &j->io);
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "cannot open external journal %s: %s", path,
			    errcode_text(rc));
	j->external = 1;
	io_channel_set_blksize(j->io, fs->blocksize);
	/* The journal device starts with an ext2 superblock marking it as one. */
	io_channel_set_blksize(j->io, 1024);
	rc = io_channel_read_blk64(j->io, 1, 1, &dsb);
	io_channel_set_blksize(j->io, fs->blocksize);
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "%s: cannot read its superblock: %s", path,
			    errcode_text(rc));
	if (ext2fs_le16_to_cpu(dsb.s_magic) != EXT2_SUPER_MAGIC ||
	    !(ext2fs_le32_to_cpu(dsb.s_feature_incompat) & EXT3_JOURNAL_DEV_FEATURE))
		return fail(e, EXIT_OPERATIONAL, "%s is not an external journal device", path);
	if (memcmp(dsb.s_uuid, fs->super->s_journal_uuid, 16) != 0)
		return fail(e, EXIT_OPERATIONAL,
			    "external journal %s does not belong to this filesystem (UUID mismatch)",
			    path);
	if (ext2fs_le32_to_cpu(dsb.s_feature_ro_compat) & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM &&
	    ext2fs_le32_to_cpu(dsb.s_checksum) !=
		    ext2fs_crc32c_le(~0U, (unsigned char *)&dsb,
				     offsetof(struct ext2_super_block, s_checksum)))
		return fail(e, EXIT_OPERATIONAL,
			    "external journal %s: its superblock checksum does not match", path);
	if ((1024U << ext2fs_le32_to_cpu(dsb.s_log_block_size)) != fs->blocksize)
		return fail(e, EXIT_OPERATIONAL,
			    "external journal %s has a different block size from the filesystem",
			    path);
	j->sb_block = sb_start;
	j->sb_offset = 0;
	j->map = NULL;
	j->map_len = (uint32_t)(ext2fs_le32_to_cpu(dsb.s_blocks_count) > UINT32_MAX
					? UINT32_MAX
					: ext2fs_le32_to_cpu(dsb.s_blocks_count));
	return 0;
}

static int check_superblock(ext2_filsys fs, struct journal *j, struct err *e)
{
	const uint8_t *sb = j->sb;
	uint32_t type = get_be32(sb, JBD2_HDR_TYPE);
	uint32_t nr_fc;

	if (get_be32(sb, JBD2_HDR_MAGIC) != JBD2_MAGIC)
		return fail(e, EXIT_OPERATIONAL, "journal superblock has a bad magic number");
	if (type != JBD2_SUPERBLOCK_V1 && type != JBD2_SUPERBLOCK_V2)
		return fail(e, EXIT_OPERATIONAL, "journal superblock has an unknown type %u", type);
	j->version = type == JBD2_SUPERBLOCK_V1 ? 1 : 2;
	j->blocksize = get_be32(sb, JSB_BLOCKSIZE);
	j->maxlen = get_be32(sb, JSB_MAXLEN);
	j->first = get_be32(sb, JSB_FIRST);
	j->sequence = get_be32(sb, JSB_SEQUENCE);
	j->start = get_be32(sb, JSB_START);
	if (j->version == 2) {
		j->compat = get_be32(sb, JSB_FEATURE_COMPAT);
		j->incompat = get_be32(sb, JSB_FEATURE_INCOMPAT);
		j->ro_compat = get_be32(sb, JSB_FEATURE_RO_COMPAT);
		if (get_be32(sb, JSB_NR_USERS) > 1)
			return fail(e, EXIT_OPERATIONAL,
				    "journal is shared by %u filesystems, which is unsupported",
				    get_be32(sb, JSB_NR_USERS));
	}
	if (j->incompat & ~JBD2_INCOMPAT_KNOWN)
		return fail(e, EXIT_OPERATIONAL, "journal has unsupported incompatible features 0x%x",
			    j->incompat & ~JBD2_INCOMPAT_KNOWN);
	if (j->ro_compat)
		return fail(e, EXIT_OPERATIONAL,
			    "journal has unsupported read-only features 0x%x", j->ro_compat);
	j->csum_v3 = !!(j->incompat & JBD2_INCOMPAT_CSUM_V3);
	j->csum_v2or3 = j->csum_v3 || (j->incompat & JBD2_INCOMPAT_CSUM_V2);
	j->csum_v1 = !!(j->compat & JBD2_COMPAT_CHECKSUM);
	if ((j->incompat & JBD2_INCOMPAT_CSUM_V2) && j->csum_v3)
		return fail(e, EXIT_OPERATIONAL, "journal superblock claims both checksum v2 and v3");
	if (j->csum_v2or3 && j->csum_v1)
		return fail(e, EXIT_OPERATIONAL, "journal superblock claims checksum v1 and v%d",
			    j->csum_v3 ? 3 : 2);
	if (j->csum_v2or3) {
		uint8_t copy[JSB_SIZE];

		if (sb[JSB_CHECKSUM_TYPE] != JBD2_CHECKSUM_CRC32C)
			return fail(e, EXIT_OPERATIONAL, "journal checksum type %u is not crc32c",
				    sb[JSB_CHECKSUM_TYPE]);
		memcpy(copy, sb, JSB_SIZE);
		journal_super_set_csum(j, copy);
		if (memcmp(copy + JSB_CHECKSUM, sb + JSB_CHECKSUM, 4) != 0)
			return fail(e, EXIT_OPERATIONAL,
				    "journal superblock checksum does not match its contents");
		j->csum_seed = ext2fs_crc32c_le(~0U, sb + JSB_UUID, 16);
	}
	if (j->blocksize != fs->blocksize)
		return fail(e, EXIT_OPERATIONAL,
			    "journal block size %u differs from the filesystem's %u", j->blocksize,
			    fs->blocksize);
	/* As the kernel: s_maxlen may be shorter than the journal's area (the
	 * minimum size applies to the area), never longer. */
	if (j->maxlen > j->map_len)
		return fail(e, EXIT_OPERATIONAL,
			    "journal superblock says %u blocks, but the journal has only %u", j->maxlen,
			    j->map_len);
	j->last = j->maxlen;
	if (j->incompat & JBD2_INCOMPAT_FAST_COMMIT) {
		nr_fc = get_be32(sb, JSB_NUM_FC_BLKS);
		if (nr_fc == 0)
			nr_fc = JBD2_DEFAULT_FC_BLOCKS;
		if (j->maxlen < nr_fc || j->maxlen - nr_fc < JBD2_MIN_JOURNAL_BLOCKS)
			return fail(e, EXIT_OPERATIONAL,
				    "journal fast-commit area (%u blocks) leaves too small a log",
				    nr_fc);
		j->last = j->maxlen - nr_fc;
		j->fc_first = j->last + 1;
		j->fc_last = j->maxlen;
	}
	if (j->first == 0 || j->first >= j->last)
		return fail(e, EXIT_OPERATIONAL, "journal first log block %u is out of range",
			    j->first);
	if (j->start && (j->start < j->first || j->start >= j->last))
		return fail(e, EXIT_OPERATIONAL, "journal log start %u is outside the log [%u, %u)",
			    j->start, j->first, j->last);
	j->fs_inode_size = EXT2_INODE_SIZE(fs->super);
	if (j->incompat & JBD2_INCOMPAT_CSUM_V3)
		j->tag_bytes = 16;
	else {
		j->tag_bytes = 12;
		if (j->incompat & JBD2_INCOMPAT_CSUM_V2)
			j->tag_bytes += 2;
		if (!(j->incompat & JBD2_INCOMPAT_64BIT))
			j->tag_bytes -= 4;
	}
	return 0;
}

static int read_superblock(struct journal *j, unsigned blocksize, struct err *e)
{
	uint8_t *buf = malloc(blocksize);
	errcode_t rc;

	if (!buf)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	rc = io_channel_read_blk64(j->io, j->sb_block, 1, buf);
	if (rc) {
		free(buf);
		return fail(e, EXIT_OPERATIONAL, "reading the journal superblock: %s",
			    errcode_text(rc));
	}
	memcpy(j->sb, buf + j->sb_offset, JSB_SIZE);
	free(buf);
	return 0;
}

int journal_open(ext2_filsys fs, const struct journal_open_opts *opts, struct journal **out,
		 struct err *e)
{
	static const struct journal_open_opts defaults;
	struct journal *j;
	int rc;

	if (!opts)
		opts = &defaults;
	*out = NULL;
	if (journal_path_applies(fs, opts->external_path, e))
		return -1;
	if (!fs_has_journal(fs))
		return fail(e, EXIT_OPERATIONAL, "filesystem has no journal");
	j = calloc(1, sizeof(*j));
	if (!j)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	if (!uuid_is_null(fs->super->s_journal_uuid))
		rc = open_external(fs, opts, j, e);
	else
		rc = map_journal_inode(fs, j, opts->map_from, e);
	if (rc == 0)
		rc = read_superblock(j, fs->blocksize, e);
	if (rc == 0)
		rc = check_superblock(fs, j, e);
	if (rc) {
		journal_close(j);
		return -1;
	}
	*out = j;
	return 0;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->external && j->io)
		io_channel_close(j->io);
	free(j->device);
	free(j->map);
	free(j);
}

void journal_super_set_csum(const struct journal *j, uint8_t *sb)
{
	uint32_t c;

	if (!j->csum_v2or3)
		return;
	memset(sb + JSB_CHECKSUM, 0, 4);
	c = ext2fs_crc32c_le(~0U, sb, JSB_SIZE);
	put_be32(sb, JSB_CHECKSUM, c);
}

int journal_write_super(struct journal *j, struct err *e)
{
	uint8_t *buf = malloc(j->blocksize);
	errcode_t rc;

	if (!buf)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	journal_super_set_csum(j, j->sb);
	rc = io_channel_read_blk64(j->io, j->sb_block, 1, buf);
	if (!rc) {
		memcpy(buf + j->sb_offset, j->sb, JSB_SIZE);
		rc = io_channel_write_blk64(j->io, j->sb_block, 1, buf);
	}
	if (!rc)
		rc = io_channel_flush(j->io);
	free(buf);
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "writing the journal superblock: %s",
			    errcode_text(rc));
	return 0;
}
