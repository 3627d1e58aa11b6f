/* jforge: write synthetic jbd2 transactions into the journal of an ext4 image.
 *
 * A test-only tool.  It rewrites the journal superblock with the chosen
 * format (checksum none/v1/v2/v3, 32/64-bit tags, async commit, revoke),
 * writes the described transactions consecutively from --start (wrapping at
 * the end of the log), sets s_start/s_sequence, and sets needs_recovery in
 * the filesystem superblock (fixing its metadata_csum checksum).
 *
 * Written from the documented on-disk format (Documentation/filesystems/
 * ext4/journal.rst); all journal fields are big-endian.
 *
 * usage: jforge IMG [options] TXN...
 *        jforge --pattern BLOCKSIZE TID FSBLOCK...  (print "pat" blocks)
 *
 * TXN is a ';'-separated list of items, written to the log in order:
 *   blocks=SPEC[,SPEC...]  descriptor block(s) and data blocks; SPEC is
 *                          BLK[-BLK]:CONTENT, CONTENT one of 0xNN (fill byte),
 *                          escape (starts with the jbd2 magic, rest 0xe5),
 *                          pat (a stamp of block number and tid)
 *   revoke=BLK[-BLK][,...] revoke block(s)
 *   commit                 (optional: the commit block always ends a TXN)
 * and per-transaction modifiers:
 *   nocommit   no commit block (a torn transaction)
 *   badcommit  wrong commit checksum (v1/v2/v3)
 *   zerocsum   commit block with checksum type, size and value all 0
 *   baddesc    wrong descriptor tail checksum in the first descriptor (v2/v3)
 *   badtag=BLK wrong tag checksum for the data block of fs block BLK (v2/v3)
 *   badtaghi=BLK  the same, but only the high 16 bits are wrong (v3)
 *   badrevoke  wrong revoke tail checksum in the first revoke block (v2/v3)
 *   rcount=N   r_count of the first revoke block set to N
 *   oldtime    commit time older than every other transaction's
 *   time=SEC   commit time SEC
 *   nolasttag  no LAST_TAG flag in the descriptors (readers then stop at
 *              the end of the block: use it only with full descriptors)
 *
 * Options:
 *   --journal PATH     the external journal (device or image file)
 *   --csum none|v1|v2|v3   journal checksum version (default none)
 *   --64bit, --32bit   tag and revoke record size (default: as the fs)
 *   --async            INCOMPAT_ASYNC_COMMIT
 *   --no-revoke-feature    leave INCOMPAT_REVOKE clear
 *   --fast-commit      set INCOMPAT_FAST_COMMIT: the log ends s_num_fc_blks
 *                      (or 256) blocks before s_maxlen
 *   --sb-v1            write a version 1 journal superblock (no features)
 *   --start JBLK       first log block (default s_first)
 *   --seq TID          first transaction ID (default: the current s_sequence)
 *   --sb-seq TID       s_sequence to write instead of the first tid
 *   --maxlen N         s_maxlen to write (at most the journal's size): the
 *                      log then ends at N
 *   --same-uuid        SAME_UUID on every tag but the first of a descriptor
 *                      (as the kernel writes); =all: on every tag.  Default:
 *                      no SAME_UUID, every tag is followed by the UUID
 *   --max-tags N       at most N tags per descriptor
 *   --time SEC         commit time of the first transaction (then +1 each)
 *   --no-tail          do not zero the log block after the last transaction
 *   --no-recover-flag  leave needs_recovery clear in the fs superblock
 *   -v, -vv            print the layout written
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#define JMAGIC 0xc03b3998u
enum { T_DESC = 1, T_COMMIT = 2, T_SBV1 = 3, T_SBV2 = 4, T_REVOKE = 5 };
enum { F_ESCAPE = 1, F_SAME_UUID = 2, F_LAST_TAG = 8 };
enum { COMPAT_CSUM = 0x1 };
enum { IC_REVOKE = 0x1, IC_64BIT = 0x2, IC_ASYNC = 0x4, IC_CSUM2 = 0x8, IC_CSUM3 = 0x10,
       IC_FC = 0x20 };
enum { CS_NONE, CS_V1, CS_V2, CS_V3 };

/* journal superblock offsets */
enum { JS_BLOCKSIZE = 0x0c, JS_MAXLEN = 0x10, JS_FIRST = 0x14, JS_SEQ = 0x18, JS_START = 0x1c,
       JS_ERRNO = 0x20, JS_COMPAT = 0x24, JS_INCOMPAT = 0x28, JS_ROCOMPAT = 0x2c,
       JS_UUID = 0x30, JS_NR_USERS = 0x40, JS_CSUM_TYPE = 0x50, JS_NUM_FC = 0x54,
       JS_CHECKSUM = 0xfc, JS_SIZE = 1024 };

static const char *prog = "jforge";

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	if (!p)
		die("out of memory");
	return p;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static void putle32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint64_t parse_num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die("%s: '%s' is not a number", what, s);
	return v;
}

/* ---- the transaction model ---- */

enum content { C_FILL, C_ESCAPE, C_PAT };

struct dblock {
	uint64_t blk;
	enum content kind;
	uint8_t fill;
};

struct item {
	int is_revoke;
	struct dblock *b;	/* blocks= */
	uint64_t *r;		/* revoke= */
	size_t n;
};

struct txn {
	struct item *items;
	size_t nitems;
	int nocommit, badcommit, zerocsum, baddesc, badrevoke, oldtime, nolasttag;
	int has_rcount, has_time, has_badtag, badtag_hi;
	uint32_t rcount;
	uint64_t time, badtag;
};

static void range(const char *s, uint64_t *lo, uint64_t *hi, const char *what)
{
	char buf[128];
	char *dash;

	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf + 1, '-');
	if (dash) {
		*dash = 0;
		*lo = parse_num(buf, what);
		*hi = parse_num(dash + 1, what);
		if (*hi < *lo || *hi - *lo > 10000000)
			die("%s: bad range '%s'", what, s);
	} else {
		*lo = *hi = parse_num(buf, what);
	}
}

static void parse_blocks(struct item *it, char *list)
{
	char *save = NULL;

	for (char *ent = strtok_r(list, ",", &save); ent; ent = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(ent, ':');
		uint64_t lo, hi;
		struct dblock d = { 0 };

		if (!colon)
			die("blocks=: '%s' needs :CONTENT (0xNN, escape or pat)", ent);
		*colon = 0;
		range(ent, &lo, &hi, "blocks=");
		if (!strcmp(colon + 1, "escape")) {
			d.kind = C_ESCAPE;
		} else if (!strcmp(colon + 1, "pat")) {
			d.kind = C_PAT;
		} else {
			uint64_t f = parse_num(colon + 1, "fill byte");

			if (f > 255)
				die("fill byte '%s' is not a byte", colon + 1);
			d.kind = C_FILL;
			d.fill = (uint8_t)f;
		}
		it->b = realloc(it->b, (it->n + (hi - lo + 1)) * sizeof(*it->b));
		if (!it->b)
			die("out of memory");
		for (uint64_t b = lo; b <= hi; b++) {
			d.blk = b;
			it->b[it->n++] = d;
		}
	}
}

static void parse_revokes(struct item *it, char *list)
{
	char *save = NULL;

	for (char *ent = strtok_r(list, ",", &save); ent; ent = strtok_r(NULL, ",", &save)) {
		uint64_t lo, hi;

		range(ent, &lo, &hi, "revoke=");
		it->r = realloc(it->r, (it->n + (hi - lo + 1)) * sizeof(*it->r));
		if (!it->r)
			die("out of memory");
		for (uint64_t b = lo; b <= hi; b++)
			it->r[it->n++] = b;
	}
}

static void parse_txn(struct txn *t, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;

	if (!copy)
		die("out of memory");
	memset(t, 0, sizeof(*t));
	for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		if (!strncmp(tok, "blocks=", 7) || !strncmp(tok, "revoke=", 7)) {
			struct item *it;

			t->items = realloc(t->items, (t->nitems + 1) * sizeof(*t->items));
			if (!t->items)
				die("out of memory");
			it = &t->items[t->nitems++];
			memset(it, 0, sizeof(*it));
			if (tok[0] == 'b') {
				parse_blocks(it, tok + 7);
			} else {
				it->is_revoke = 1;
				parse_revokes(it, tok + 7);
			}
		} else if (!strcmp(tok, "commit")) {
			/* the commit block always ends the transaction */
		} else if (!strcmp(tok, "nocommit")) {
			t->nocommit = 1;
		} else if (!strcmp(tok, "badcommit")) {
			t->badcommit = 1;
		} else if (!strcmp(tok, "zerocsum")) {
			t->zerocsum = 1;
		} else if (!strcmp(tok, "baddesc")) {
			t->baddesc = 1;
		} else if (!strcmp(tok, "badrevoke")) {
			t->badrevoke = 1;
		} else if (!strcmp(tok, "nolasttag")) {
			t->nolasttag = 1;
		} else if (!strcmp(tok, "oldtime")) {
			t->oldtime = 1;
		} else if (!strncmp(tok, "badtag=", 7)) {
			t->has_badtag = 1;
			t->badtag = parse_num(tok + 7, "badtag=");
		} else if (!strncmp(tok, "badtaghi=", 9)) {
			t->has_badtag = 1;
			t->badtag_hi = 1;
			t->badtag = parse_num(tok + 9, "badtaghi=");
		} else if (!strncmp(tok, "rcount=", 7)) {
			t->has_rcount = 1;
			t->rcount = (uint32_t)parse_num(tok + 7, "rcount=");
		} else if (!strncmp(tok, "time=", 5)) {
			t->has_time = 1;
			t->time = parse_num(tok + 5, "time=");
		} else {
			die("transaction '%s': unknown item '%s'", spec, tok);
		}
	}
	free(copy);
}

/* ---- the journal ---- */

struct journal {
	int fd;			/* where journal blocks live */
	uint32_t bs;
	uint64_t *map;		/* journal block -> device block */
	uint32_t maxlen, first, last;
	uint8_t uuid[16];
	uint32_t seed;
	int csum, is64, async, revoke_feat, fc, same_uuid, sbv1;
	uint32_t num_fc;
	size_t max_tags;
	uint32_t pos;		/* next log block */
	uint32_t written;	/* log blocks used so far */
	int verbose;
};

static void jwrite(struct journal *j, uint32_t lblk, const uint8_t *buf)
{
	off_t off = (off_t)(j->map[lblk] * j->bs);

	if (pwrite(j->fd, buf, j->bs, off) != (ssize_t)j->bs)
		die("writing journal block %u: %s", lblk, strerror(errno));
}

static uint32_t next_pos(struct journal *j)
{
	uint32_t p = j->pos;

	if (++j->written > j->last - j->first)
		die("the transactions do not fit in the log (%u blocks)", j->last - j->first);
	j->pos++;
	if (j->pos >= j->last)
		j->pos = j->first;
	return p;
}

static uint32_t crc32c(uint32_t seed, const void *p, size_t n)
{
	return ext2fs_crc32c_le(seed, p, n);
}

static size_t tag_bytes(const struct journal *j)
{
	if (j->csum == CS_V3)
		return 16;
	return 8 + (j->is64 ? 4 : 0) + (j->csum == CS_V2 ? 2 : 0);
}

static int v23(const struct journal *j)
{
	return j->csum == CS_V2 || j->csum == CS_V3;
}

static void header(uint8_t *b, uint32_t type, uint32_t tid)
{
	put32(b, JMAGIC);
	put32(b + 4, type);
	put32(b + 8, tid);
}

/* The descriptor/revoke tail: crc32c(seed, block with the tail zeroed). */
static void set_tail(const struct journal *j, uint8_t *b, int corrupt)
{
	uint32_t c;

	put32(b + j->bs - 4, 0);
	c = crc32c(j->seed, b, j->bs);
	put32(b + j->bs - 4, corrupt ? c ^ 0x5a5a5a5a : c);
}

static void make_data(uint8_t *buf, uint32_t bs, const struct dblock *d, uint32_t tid)
{
	switch (d->kind) {
	case C_FILL:
		memset(buf, d->fill, bs);
		break;
	case C_ESCAPE:
		memset(buf, 0xe5, bs);
		put32(buf, JMAGIC);
		break;
	case C_PAT:
		for (uint32_t o = 0; o + 16 <= bs; o += 16) {
			put64(buf + o, d->blk);
			put32(buf + o + 8, tid);
			memcpy(buf + o + 12, "JFGE", 4);
		}
		break;
	}
}

/* Write one blocks= item: as many tags per descriptor as fit, then go on in
 * a new descriptor.  crc accumulates the v1 commit checksum. */
static void write_blocks(struct journal *j, const struct txn *t, const struct item *it,
			 uint32_t tid, uint32_t *crc, int *first_desc)
{
	size_t tb = tag_bytes(j), space = j->bs - (v23(j) ? 4 : 0);
	uint8_t *desc = xcalloc(1, j->bs), **data = xcalloc(it->n, sizeof(*data));
	size_t i = 0;

	while (i < it->n) {
		size_t off = 12, ntags = 0, start = i;
		uint32_t dpos = next_pos(j);
		uint8_t *last_tag = NULL;
		int corrupt_desc = t->baddesc && *first_desc;

		memset(desc, 0, j->bs);
		header(desc, T_DESC, tid);
		while (i < it->n && (!j->max_tags || ntags < j->max_tags)) {
			int same = j->same_uuid == 2 || (j->same_uuid == 1 && ntags > 0);
			size_t need = tb + (same ? 0 : 16);
			uint8_t *tag = desc + off, *buf;
			uint32_t flags = 0, c = 0;
			uint64_t blk = it->b[i].blk;

			if (off + need > space)
				break;
			if (!j->is64 && (blk >> 32))
				die("block %" PRIu64 " needs 64-bit tags", blk);
			buf = data[i] = xcalloc(1, j->bs);
			make_data(buf, j->bs, &it->b[i], tid);
			if (get32(buf) == JMAGIC) {
				flags |= F_ESCAPE;
				put32(buf, 0);
			}
			if (same)
				flags |= F_SAME_UUID;
			if (v23(j)) {
				uint8_t seq[4];

				put32(seq, tid);
				c = crc32c(crc32c(j->seed, seq, 4), buf, j->bs);
				if (t->has_badtag && t->badtag == blk) {
					if (t->badtag_hi && j->csum != CS_V3)
						die("badtaghi= needs --csum v3");
					c ^= t->badtag_hi ? 0x00010000 : 0x00010001;
				}
			} else if (t->has_badtag && t->badtag == blk) {
				die("badtag= needs --csum v2 or v3");
			}
			put32(tag, (uint32_t)blk);
			if (j->csum == CS_V3) {
				put32(tag + 4, flags);
				put32(tag + 8, (uint32_t)(blk >> 32));
				put32(tag + 12, c);
			} else {
				put16(tag + 4, j->csum == CS_V2 ? (c & 0xffff) : 0);
				put16(tag + 6, flags);
				if (j->is64)
					put32(tag + 8, (uint32_t)(blk >> 32));
			}
			if (!same)
				memcpy(tag + tb, j->uuid, 16);
			last_tag = tag;
			off += need;
			ntags++;
			i++;
		}
		if (!ntags)
			die("no tag fits in a descriptor block");
		/* LAST_TAG: the flags' low 16 bits are at offset 6 in every layout */
		if (!t->nolasttag)
			last_tag[7] |= F_LAST_TAG;
		if (v23(j))
			set_tail(j, desc, corrupt_desc);
		jwrite(j, dpos, desc);
		if (j->csum == CS_V1)
			*crc = ext2fs_crc32_be(*crc, desc, j->bs);
		if (j->verbose)
			printf("tid %u: descriptor at %u, %zu tags%s\n", tid, dpos, ntags,
			       corrupt_desc ? " (bad tail)" : "");
		*first_desc = 0;
		for (size_t k = start; k < i; k++) {
			uint32_t p = next_pos(j);

			jwrite(j, p, data[k]);
			if (j->csum == CS_V1)
				*crc = ext2fs_crc32_be(*crc, data[k], j->bs);
			if (j->verbose > 1)
				printf("tid %u:   data at %u -> fs block %" PRIu64 "\n", tid, p,
				       it->b[k].blk);
			free(data[k]);
		}
	}
	free(data);
	free(desc);
}

static void write_revokes(struct journal *j, const struct txn *t, const struct item *it,
			  uint32_t tid, int *first_rev)
{
	size_t rl = j->is64 ? 8 : 4, space = j->bs - (v23(j) ? 4 : 0);
	uint8_t *b = xcalloc(1, j->bs);
	size_t i = 0;

	do {
		size_t off = 16;
		uint32_t p = next_pos(j);

		memset(b, 0, j->bs);
		header(b, T_REVOKE, tid);
		while (i < it->n && off + rl <= space) {
			if (rl == 4) {
				if (it->r[i] >> 32)
					die("revoke %" PRIu64 " needs 64-bit records", it->r[i]);
				put32(b + off, (uint32_t)it->r[i]);
			} else {
				put64(b + off, it->r[i]);
			}
			off += rl;
			i++;
		}
		put32(b + 12, (t->has_rcount && *first_rev) ? t->rcount : (uint32_t)off);
		if (v23(j))
			set_tail(j, b, t->badrevoke && *first_rev);
		else if (t->badrevoke && *first_rev)
			die("badrevoke needs --csum v2 or v3");
		jwrite(j, p, b);
		if (j->verbose)
			printf("tid %u: revoke block at %u, r_count %u\n", tid, p, get32(b + 12));
		*first_rev = 0;
	} while (i < it->n);
	free(b);
}

static void write_txn(struct journal *j, const struct txn *t, uint32_t tid, uint64_t when,
		      uint32_t nsec)
{
	uint32_t crc = ~0u;
	int first_desc = 1, first_rev = 1;
	uint8_t *c;
	uint32_t p;

	if (t->baddesc && !v23(j))
		die("baddesc needs --csum v2 or v3");
	for (size_t k = 0; k < t->nitems; k++) {
		if (t->items[k].is_revoke)
			write_revokes(j, t, &t->items[k], tid, &first_rev);
		else
			write_blocks(j, t, &t->items[k], tid, &crc, &first_desc);
	}
	if (t->baddesc && first_desc)
		die("baddesc: the transaction has no descriptor block");
	if ((t->badrevoke || t->has_rcount) && first_rev)
		die("badrevoke/rcount=: the transaction has no revoke block");
	if (t->nocommit) {
		if (j->verbose)
			printf("tid %u: no commit block\n", tid);
		return;
	}
	if (t->badcommit && j->csum == CS_NONE)
		die("badcommit needs a checksum (--csum v1, v2 or v3)");
	c = xcalloc(1, j->bs);
	header(c, T_COMMIT, tid);
	put64(c + 0x30, when);
	put32(c + 0x38, nsec);
	if (t->zerocsum) {
		/* type, size and checksum all zero */
	} else if (j->csum == CS_V1) {
		c[0x0c] = 1;	/* CRC32 */
		c[0x0d] = 4;
		put32(c + 0x10, t->badcommit ? crc ^ 0x01000001 : crc);
	} else if (v23(j)) {
		uint32_t s = crc32c(j->seed, c, j->bs);

		put32(c + 0x10, t->badcommit ? s ^ 0x01000001 : s);
	}
	p = next_pos(j);
	jwrite(j, p, c);
	if (j->verbose)
		printf("tid %u: commit at %u, time %" PRIu64 ".%09u%s\n", tid, p, when, nsec,
		       t->badcommit ? " (bad checksum)" : "");
	free(c);
}

/* ---- opening the image ---- */

static void map_internal(struct journal *j, ext2_filsys fs)
{
	ext2_ino_t ino = fs->super->s_journal_inum;
	struct ext2_inode inode;
	errcode_t err;
	uint64_t nblocks;

	if (!ino)
		die("the filesystem has no journal inode");
	err = ext2fs_read_inode(fs, ino, &inode);
	if (err)
		die("reading the journal inode: %s", error_message(err));
	nblocks = EXT2_I_SIZE(&inode) / fs->blocksize;
	j->map = xcalloc(nblocks, sizeof(*j->map));
	for (uint64_t b = 0; b < nblocks; b++) {
		blk64_t phys = 0;

		err = ext2fs_bmap2(fs, ino, &inode, NULL, 0, b, NULL, &phys);
		if (err || !phys)
			die("journal block %" PRIu64 " is not mapped", b);
		j->map[b] = phys;
	}
	j->maxlen = (uint32_t)nblocks;	/* checked against s_maxlen below */
}

static void map_external(struct journal *j, const char *path, const uint8_t *fs_sb)
{
	uint8_t sb[1024];
	uint32_t bs, start;
	uint64_t blocks;

	j->fd = open(path, O_RDWR);
	if (j->fd < 0)
		die("%s: %s", path, strerror(errno));
	if (pread(j->fd, sb, sizeof(sb), 1024) != (ssize_t)sizeof(sb))
		die("%s: cannot read its superblock", path);
	if (le32(sb + 0x38) % 65536 != 0xef53 || !(le32(sb + 0x60) & 0x8))
		die("%s: not an ext4 journal device", path);
	if (memcmp(sb + 0x68, fs_sb + 0xd0, 16))
		die("%s: its UUID is not the filesystem's s_journal_uuid", path);
	bs = 1024u << le32(sb + 0x18);
	blocks = le32(sb + 0x04);
	start = bs == 1024 ? 2 : 1;
	j->map = xcalloc(blocks, sizeof(*j->map));
	for (uint64_t b = 0; b < blocks; b++)
		j->map[b] = b;
	/* journal block 0 (the superblock) is device block start */
	j->map[0] = start;
	j->maxlen = (uint32_t)blocks;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: jforge IMG [--journal PATH] [--csum none|v1|v2|v3] [--64bit|--32bit]\n"
		"              [--async] [--no-revoke-feature] [--fast-commit] [--sb-v1]\n"
		"              [--start JBLK] [--seq TID] [--sb-seq TID] [--maxlen N]\n"
		"              [--same-uuid[=all]] [--max-tags N]\n"
		"              [--time SEC] [--no-tail]\n"
		"              [--no-recover-flag] [-v] TXN...\n"
		"       jforge --pattern BLOCKSIZE TID FSBLOCK...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct journal j = { .fd = -1, .revoke_feat = 1, .is64 = -1 };
	const char *img = NULL, *jpath = NULL;
	int fd, has_start = 0, has_seq = 0, tail = 1, set_recover = 1, want_fc = 0;
	int has_sb_seq = 0, has_maxlen = 0;
	uint32_t start = 0, seq = 0, sb_seq = 0, maxlen = 0;
	uint64_t base_time = 1700000000;
	uint8_t fs_sb[1024], *jsb;
	ext2_filsys fs;
	errcode_t err;
	struct txn *txns = NULL;
	size_t ntx = 0;

	if (argc >= 5 && !strcmp(argv[1], "--pattern")) {
		uint32_t bs = (uint32_t)parse_num(argv[2], "block size");
		uint32_t tid = (uint32_t)parse_num(argv[3], "tid");
		uint8_t *buf;

		if (bs < 1024 || bs > 65536 || (bs & (bs - 1)))
			die("bad block size");
		buf = xcalloc(1, bs);
		for (int i = 4; i < argc; i++) {
			struct dblock d = { .blk = parse_num(argv[i], "block"), .kind = C_PAT };

			make_data(buf, bs, &d, tid);
			if (fwrite(buf, 1, bs, stdout) != bs)
				die("writing the pattern: %s", strerror(errno));
		}
		free(buf);
		return fflush(stdout) ? 2 : 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--csum") && i + 1 < argc) {
			a = argv[++i];
			if (!strcmp(a, "none"))
				j.csum = CS_NONE;
			else if (!strcmp(a, "v1"))
				j.csum = CS_V1;
			else if (!strcmp(a, "v2"))
				j.csum = CS_V2;
			else if (!strcmp(a, "v3"))
				j.csum = CS_V3;
			else
				die("--csum: none, v1, v2 or v3");
		} else if (!strcmp(a, "--64bit")) {
			j.is64 = 1;
		} else if (!strcmp(a, "--32bit")) {
			j.is64 = 0;
		} else if (!strcmp(a, "--async")) {
			j.async = 1;
		} else if (!strcmp(a, "--no-revoke-feature")) {
			j.revoke_feat = 0;
		} else if (!strcmp(a, "--fast-commit")) {
			want_fc = 1;
		} else if (!strcmp(a, "--sb-v1")) {
			j.sbv1 = 1;
		} else if (!strcmp(a, "--same-uuid")) {
			j.same_uuid = 1;
		} else if (!strcmp(a, "--same-uuid=all")) {
			j.same_uuid = 2;
		} else if (!strcmp(a, "--no-tail")) {
			tail = 0;
		} else if (!strcmp(a, "--no-recover-flag")) {
			set_recover = 0;
		} else if (!strcmp(a, "-v")) {
			j.verbose++;
		} else if (!strcmp(a, "-vv")) {
			j.verbose += 2;
		} else if (!strcmp(a, "--start") && i + 1 < argc) {
			start = (uint32_t)parse_num(argv[++i], "--start");
			has_start = 1;
		} else if (!strcmp(a, "--seq") && i + 1 < argc) {
			uint64_t v = parse_num(argv[++i], "--seq");

			if (v > UINT32_MAX)
				die("--seq: too big");
			seq = (uint32_t)v;
			has_seq = 1;
		} else if (!strcmp(a, "--sb-seq") && i + 1 < argc) {
			uint64_t v = parse_num(argv[++i], "--sb-seq");

			if (v > UINT32_MAX)
				die("--sb-seq: too big");
			sb_seq = (uint32_t)v;
			has_sb_seq = 1;
		} else if (!strcmp(a, "--maxlen") && i + 1 < argc) {
			maxlen = (uint32_t)parse_num(argv[++i], "--maxlen");
			has_maxlen = 1;
		} else if (!strcmp(a, "--max-tags") && i + 1 < argc) {
			j.max_tags = parse_num(argv[++i], "--max-tags");
		} else if (!strcmp(a, "--time") && i + 1 < argc) {
			base_time = parse_num(argv[++i], "--time");
		} else if (!strcmp(a, "--journal") && i + 1 < argc) {
			jpath = argv[++i];
		} else if (a[0] == '-' && a[1] == '-') {
			usage();
		} else if (!img) {
			img = a;
		} else {
			txns = realloc(txns, (ntx + 1) * sizeof(*txns));
			if (!txns)
				die("out of memory");
			parse_txn(&txns[ntx++], a);
		}
	}
	if (!img)
		usage();
	if (j.sbv1 && (j.csum != CS_NONE || j.async || j.is64 == 1))
		die("--sb-v1 has no features: no checksums, 64-bit tags or async commit");

	err = ext2fs_open(img, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (err)
		die("%s: %s", img, error_message(err));
	if (j.is64 < 0)
		j.is64 = ext2fs_has_feature_64bit(fs->super) ? 1 : 0;
	if (j.sbv1)
		j.is64 = 0;
	j.bs = fs->blocksize;
	fd = open(img, O_RDWR);
	if (fd < 0)
		die("%s: %s", img, strerror(errno));
	if (pread(fd, fs_sb, sizeof(fs_sb), 1024) != (ssize_t)sizeof(fs_sb))
		die("%s: cannot read the superblock", img);
	if (!ext2fs_has_feature_journal(fs->super))
		die("%s: no journal", img);
	if (memcmp(fs->super->s_journal_uuid, (uint8_t[16]){ 0 }, 16)) {
		if (!jpath)
			die("%s: the journal is external: give --journal PATH", img);
		map_external(&j, jpath, fs_sb);
	} else {
		if (jpath)
			die("%s: the journal is internal: drop --journal", img);
		map_internal(&j, fs);
		j.fd = fd;
	}
	ext2fs_close_free(&fs);

	jsb = xcalloc(1, j.bs);
	if (pread(j.fd, jsb, j.bs, (off_t)(j.map[0] * j.bs)) != (ssize_t)j.bs)
		die("cannot read the journal superblock");
	if (get32(jsb) != JMAGIC || (get32(jsb + 4) != T_SBV1 && get32(jsb + 4) != T_SBV2))
		die("no journal superblock where expected");
	if (get32(jsb + JS_BLOCKSIZE) != j.bs)
		die("journal block size %u is not the filesystem's %u", get32(jsb + JS_BLOCKSIZE),
		    j.bs);
	if (get32(jsb + JS_MAXLEN) > j.maxlen)
		die("journal s_maxlen %u is larger than the journal (%u blocks)",
		    get32(jsb + JS_MAXLEN), j.maxlen);
	j.maxlen = get32(jsb + JS_MAXLEN);
	if (has_maxlen) {
		if (maxlen > j.maxlen || maxlen < 64)
			die("--maxlen %u: must be between 64 and %u", maxlen, j.maxlen);
		j.maxlen = maxlen;
		put32(jsb + JS_MAXLEN, maxlen);
	}
	j.first = get32(jsb + JS_FIRST);
	j.fc = want_fc || (get32(jsb + 4) == T_SBV2 && (get32(jsb + JS_INCOMPAT) & IC_FC));
	if (j.fc && j.sbv1)
		die("--sb-v1 has no fast-commit area");
	j.num_fc = j.fc ? (get32(jsb + JS_NUM_FC) ? get32(jsb + JS_NUM_FC) : 256) : 0;
	j.last = j.maxlen - j.num_fc;
	if (j.first < 1 || j.first >= j.last)
		die("bad journal s_first %u", j.first);
	memcpy(j.uuid, jsb + JS_UUID, 16);
	j.seed = crc32c(~0u, j.uuid, 16);
	if (!has_seq)
		seq = get32(jsb + JS_SEQ);
	if (!has_start)
		start = j.first;
	if (start < j.first || start >= j.last)
		die("--start %u is outside the log [%u, %u)", start, j.first, j.last);
	j.pos = start;

	/* the journal superblock */
	if (j.sbv1) {
		put32(jsb + 4, T_SBV1);
		memset(jsb + 0x24, 0, JS_SIZE - 0x24);
	} else {
		uint32_t inc = (j.revoke_feat ? IC_REVOKE : 0) | (j.is64 ? IC_64BIT : 0) |
			       (j.async ? IC_ASYNC : 0) | (j.csum == CS_V2 ? IC_CSUM2 : 0) |
			       (j.csum == CS_V3 ? IC_CSUM3 : 0) | (j.fc ? IC_FC : 0);

		put32(jsb + 4, T_SBV2);
		put32(jsb + JS_COMPAT, j.csum == CS_V1 ? COMPAT_CSUM : 0);
		put32(jsb + JS_INCOMPAT, inc);
		put32(jsb + JS_ROCOMPAT, 0);
		jsb[JS_CSUM_TYPE] = v23(&j) ? 4 : 0;
	}
	put32(jsb + JS_SEQ, has_sb_seq ? sb_seq : seq);
	put32(jsb + JS_START, ntx ? start : 0);
	put32(jsb + JS_ERRNO, 0);
	put32(jsb + JS_CHECKSUM, 0);
	if (v23(&j))
		put32(jsb + JS_CHECKSUM, crc32c(~0u, jsb, JS_SIZE));

	/* the log */
	for (size_t t = 0; t < ntx; t++) {
		uint64_t when = txns[t].has_time ? txns[t].time
			      : txns[t].oldtime ? base_time - 100000 : base_time + t;

		write_txn(&j, &txns[t], seq + (uint32_t)t, when, (uint32_t)(t * 1000));
	}
	if (tail && ntx) {
		uint8_t *z = xcalloc(1, j.bs);

		if (j.written < j.last - j.first)
			jwrite(&j, j.pos, z);
		free(z);
	}
	if (pwrite(j.fd, jsb, j.bs, (off_t)(j.map[0] * j.bs)) != (ssize_t)j.bs)
		die("writing the journal superblock: %s", strerror(errno));

	/* needs_recovery in the filesystem superblock, and its checksum */
	if (set_recover && ntx) {
		putle32(fs_sb + 0x60, le32(fs_sb + 0x60) | 0x4);
		if (le32(fs_sb + 0x64) & 0x400)	/* metadata_csum */
			putle32(fs_sb + 0x3fc, crc32c(~0u, fs_sb, 0x3fc));
		if (pwrite(fd, fs_sb, sizeof(fs_sb), 1024) != (ssize_t)sizeof(fs_sb))
			die("%s: writing the superblock: %s", img, strerror(errno));
	}
	if (fsync(j.fd) || (j.fd != fd && fsync(fd)))
		die("fsync: %s", strerror(errno));
	if (j.verbose)
		printf("log: s_first %u, end %u, start %u, seq %u, %u blocks written, next %u\n",
		       j.first, j.last, start, seq, j.written, j.pos);
	for (size_t t = 0; t < ntx; t++) {
		for (size_t k = 0; k < txns[t].nitems; k++) {
			free(txns[t].items[k].b);
			free(txns[t].items[k].r);
		}
		free(txns[t].items);
	}
	free(txns);
	free(jsb);
	free(j.map);
	if (j.fd != fd)
		close(j.fd);
	return close(fd) ? 2 : 0;
}
