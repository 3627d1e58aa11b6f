/* fc_scan.c: the scan pass over the fast-commit area.  The rules are the
 * kernel's: the area counts only if its first tag is a head for the
 * expected tid; tags are checksummed (crc32c from 0) up to each tail, and a
 * tail with the right tid and checksum makes every tag before it count.
 * Garbage after a good tail ends the scan; garbage, a bad tail or an
 * unknown head feature before any good tail fails recovery outright. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/crc32c.h"
#include "lib/core/endian.h"
#include "lib/journal/fc.h"
#include "lib/journal/jbd2.h"

const char *fc_tag_name(uint16_t type)
{
	switch (type) {
	case FC_ADD_RANGE: return "add_range";
	case FC_DEL_RANGE: return "del_range";
	case FC_CREAT: return "create";
	case FC_LINK: return "link";
	case FC_UNLINK: return "unlink";
	case FC_INODE: return "inode";
	case FC_PAD: return "pad";
	case FC_TAIL: return "tail";
	case FC_HEAD: return "head";
	}
	return "unknown";
}

void fc_decode_extent(const uint8_t *raw, struct fc_extent *ex)
{
	uint16_t len = le16_get(raw + 4);

	ex->lblk = le32_get(raw);
	ex->pblk = (uint64_t)le16_get(raw + 6) << 32 | le32_get(raw + 8);
	/* Lengths above 32768 mark an unwritten extent. */
	ex->unwritten = len > 32768;
	ex->len = ex->unwritten ? len - 32768u : len;
}

uint32_t fc_tag_ino(const struct fc_tag *t)
{
	switch (t->type) {
	case FC_ADD_RANGE:
	case FC_DEL_RANGE:
	case FC_INODE:
		return le32_get(t->val);
	case FC_CREAT:
	case FC_LINK:
	case FC_UNLINK:
		return le32_get(t->val + 4);
	}
	return 0;
}

static int len_valid(uint16_t type, uint16_t len, unsigned inode_size)
{
	switch (type) {
	case FC_ADD_RANGE: return len == FC_ADD_RANGE_LEN;
	case FC_DEL_RANGE: return len == FC_DEL_RANGE_LEN;
	case FC_CREAT:
	case FC_LINK:
	case FC_UNLINK:
		return len > FC_DENTRY_HDR && len - FC_DENTRY_HDR <= FC_NAME_MAX;
	case FC_INODE:
		return len >= FC_INODE_HDR + FC_GOOD_OLD_INODE_SIZE &&
		       len - FC_INODE_HDR <= (int)inode_size;
	case FC_PAD: return 1;
	case FC_TAIL: return len >= FC_TAIL_LEN;
	case FC_HEAD: return len == FC_HEAD_LEN;
	}
	return 0;
}

static int keep_tag(struct fc_log *log, uint16_t type, uint16_t len, uint32_t block,
		    uint32_t offset, const uint8_t *val)
{
	if (log->ntags == log->cap) {
		size_t ncap = log->cap ? log->cap * 2 : 32;
		struct fc_tag *p = realloc(log->tags, ncap * sizeof(*p));

		if (!p)
			return -1;
		log->tags = p;
		log->cap = ncap;
	}
	log->tags[log->ntags++] = (struct fc_tag){ type, len, block, offset, val };
	return 0;
}

enum step { GO_ON, STOP, REFUSE, NOMEM };

/* Garbage before any good tail fails recovery; after one, it ends it. */
static enum step bad(struct fc_log *log, const char *what, uint32_t block, uint32_t off)
{
	snprintf(log->why, sizeof(log->why), "%s at block %u offset %u", what, block, off);
	return log->nreplay ? STOP : REFUSE;
}

static enum step scan_tag(struct fc_log *log, uint16_t type, uint16_t len, const uint8_t *cur,
			  uint32_t *crc, uint32_t block, uint32_t off)
{
	const uint8_t *val = cur + FC_TL_SIZE;

	switch (type) {
	case FC_TAIL:
		*crc = crc32c(*crc, cur, FC_TL_SIZE + 4);
		if (le32_get(val) != log->expected_tid || le32_get(val + 4) != *crc) {
			*crc = 0;
			return bad(log, le32_get(val) != log->expected_tid ?
				   "a tail for another transaction" : "a tail with a bad checksum",
				   block, off);
		}
		*crc = 0;
		log->nreplay = log->ntags;
		log->commits++;
		return GO_ON;
	case FC_HEAD:
		if (le32_get(val) != 0) {
			log->ntags--;
			snprintf(log->why, sizeof(log->why),
				 "the head asks for unknown features 0x%x", le32_get(val));
			return REFUSE;
		}
		if (le32_get(val + 4) != log->expected_tid) {
			log->ntags--;
			if (!log->head_seen) {
				log->head_seen = 1;
				log->head_tid = le32_get(val + 4);
			}
			snprintf(log->why, sizeof(log->why),
				 "a stale head (tid %u, expected %u) at block %u offset %u",
				 le32_get(val + 4), log->expected_tid, block, off);
			return STOP;
		}
		if (!log->head_seen) {
			log->head_seen = 1;
			log->head_tid = le32_get(val + 4);
		}
		/* fall through */
	default:
		*crc = crc32c(*crc, cur, FC_TL_SIZE + len);
		return GO_ON;
	}
}

static enum step scan_block(struct fc_log *log, uint32_t block, unsigned inode_size,
			    uint32_t *crc)
{
	const uint8_t *start = log->area + (size_t)block * log->blocksize;
	const uint8_t *end = start + log->blocksize;
	const uint8_t *cur = start;

	while (end - cur >= FC_TL_SIZE) {
		uint16_t type = le16_get(cur), len = le16_get(cur + 2);
		uint32_t off = (uint32_t)(cur - start);
		enum step st;

		if (len > end - cur - FC_TL_SIZE || !len_valid(type, len, inode_size))
			return bad(log, type >= FC_ADD_RANGE && type <= FC_HEAD ?
				   "a tag with a bad length" : "an unknown tag", block, off);
		if (keep_tag(log, type, len, block, off, cur + FC_TL_SIZE))
			return NOMEM;
		st = scan_tag(log, type, len, cur, crc, block, off);
		if (st != GO_ON)
			return st;
		cur += FC_TL_SIZE + len;
	}
	return GO_ON;
}

int fc_parse(struct fc_log *log, uint8_t *area, uint32_t blocks, unsigned blocksize,
	     uint32_t expected_tid, unsigned inode_size)
{
	uint32_t crc = 0;
	enum step st = GO_ON;

	memset(log, 0, sizeof(*log));
	log->area = area;
	log->blocks = blocks;
	log->blocksize = blocksize;
	log->expected_tid = expected_tid;
	if (!blocks || le16_get(area) != FC_HEAD) {
		snprintf(log->why, sizeof(log->why), "the area does not start with a head");
		return 0;
	}
	for (uint32_t b = 0; b < blocks && st == GO_ON; b++) {
		st = scan_block(log, b, inode_size, &crc);
		if (st == NOMEM)
			return -1;
	}
	if (st == GO_ON) {
		/* The kernel reads on past the area's last block and fails. */
		snprintf(log->why, sizeof(log->why), "the tags run to the end of the area");
		st = REFUSE;
	}
	if (st == REFUSE) {
		log->verdict = FC_REFUSE;
		log->nreplay = 0;
	} else {
		log->verdict = log->nreplay ? FC_REPLAY : FC_NOTHING;
	}
	return 0;
}

void fc_log_free(struct fc_log *log)
{
	free(log->area);
	free(log->tags);
	memset(log, 0, sizeof(*log));
}
