/* fc.h: ext4 fast commits.  ext4 writes them as little-endian tag-length-
 * value records into the journal's fast-commit area, after the last full
 * commit.  fc_parse decides, by the kernel's rules (fs/ext4/fast_commit.c),
 * which records count; fc_replay applies them to a filesystem the way
 * recovery does, after the full commits have been replayed. */
#ifndef EXT4DA_FC_H
#define EXT4DA_FC_H

#include <stddef.h>
#include <stdint.h>

enum fc_tag_type {
	FC_ADD_RANGE = 1,
	FC_DEL_RANGE = 2,
	FC_CREAT = 3,
	FC_LINK = 4,
	FC_UNLINK = 5,
	FC_INODE = 6,
	FC_PAD = 7,
	FC_TAIL = 8,
	FC_HEAD = 9,
};

#define FC_TL_SIZE 4		/* tag and length, le16 each */
#define FC_ADD_RANGE_LEN 16	/* ino, then an on-disk extent */
#define FC_DEL_RANGE_LEN 12	/* ino, lblk, len */
#define FC_DENTRY_HDR 8		/* parent ino, ino, then the name */
#define FC_INODE_HDR 4		/* ino, then the raw inode */
#define FC_TAIL_LEN 8		/* tid, crc */
#define FC_HEAD_LEN 8		/* features, tid */
#define FC_NAME_MAX 255
#define FC_GOOD_OLD_INODE_SIZE 128

struct fc_tag {
	uint16_t type, len;
	uint32_t block;		/* fast-commit area block (0 = the first) */
	uint32_t offset;	/* byte offset of the tag in that block */
	const uint8_t *val;	/* len bytes, inside the area buffer */
};

enum fc_verdict {
	FC_NOTHING,	/* no head, or a stale one: nothing to replay */
	FC_REPLAY,	/* nreplay tags are covered by a good tail */
	FC_REFUSE,	/* the kernel fails the whole recovery */
};

struct fc_log {
	uint8_t *area;		/* the fast-commit blocks as read (owned) */
	uint32_t blocks;
	unsigned blocksize;
	uint32_t expected_tid;	/* the first tid the full commits did not reach */
	struct fc_tag *tags;	/* every tag the scan read, in order */
	size_t ntags, cap;
	size_t nreplay;		/* the first nreplay tags are replayed */
	size_t commits;		/* tails that matched tid and checksum */
	int head_seen;
	uint32_t head_tid;	/* the head's tid, when head_seen */
	enum fc_verdict verdict;
	char why[160];		/* what stopped the scan, for listing and refusal */
};

/* A decoded on-disk extent (ADD_RANGE's payload). */
struct fc_extent {
	uint32_t lblk;
	uint32_t len;
	uint64_t pblk;
	int unwritten;
};

/* What replaying the tags did. */
struct fc_result {
	size_t applied;		/* tags replayed */
	size_t inodes;		/* distinct inodes changed */
	int failed;		/* a tag could not be applied: replay stopped there */
	size_t failed_tag;	/* its index, when failed */
	char why[200];
};

/* Scan blocks (the fast-commit area, blocks * blocksize bytes, ownership
 * passes to log) as the kernel's scan pass does.  inode_size bounds INODE
 * records.  Returns -1 only when out of memory. */
int fc_parse(struct fc_log *log, uint8_t *area, uint32_t blocks, unsigned blocksize,
	     uint32_t expected_tid, unsigned inode_size);
void fc_log_free(struct fc_log *log);

const char *fc_tag_name(uint16_t type);
void fc_decode_extent(const uint8_t *raw, struct fc_extent *ex);
/* Inode number a tag is about (0 for head, tail, pad). */
uint32_t fc_tag_ino(const struct fc_tag *t);

#endif
