/* journal.h: finding, validating and reading an ext4 filesystem's jbd2
 * journal, internal (an inode) or external (a journal device). */
#ifndef EXT4DA_JOURNAL_H
#define EXT4DA_JOURNAL_H

#include <ext2fs/ext2fs.h>

#include "lib/core/error.h"
#include "lib/journal/jbd2.h"

struct journal {
	io_channel io;		/* channel holding the journal blocks */
	int external;		/* io is a separate device we opened */
	char *device;		/* external journal path, for messages */
	unsigned blocksize;
	blk64_t *map;		/* internal: journal block -> fs block */
	uint32_t map_len;
	struct ext2_inode inode;	/* internal: the journal inode the map came from */
	blk64_t sb_block;	/* device block holding the journal superblock */
	unsigned sb_offset;	/* byte offset of the superblock in that block */

	uint8_t sb[JSB_SIZE];	/* raw journal superblock as read */
	uint32_t maxlen, first, last;	/* log is circular over [first, last) */
	uint32_t fc_first, fc_last;	/* fast-commit area, if any */
	uint32_t sequence, start;
	uint32_t compat, incompat, ro_compat;
	int version;		/* 1 or 2 */
	int csum_v2or3, csum_v3, csum_v1;
	uint32_t csum_seed;
	unsigned tag_bytes;
	unsigned fs_inode_size;	/* bounds fast-commit inode records */
};

struct journal_open_opts {
	const char *external_path;	/* --journal, or NULL to look up by UUID */
	int writable;			/* open an external journal read-write */
	io_manager manager;		/* for an external journal; NULL = unix */
	/* Another open of the same image: its map of the journal inode is
	 * taken over (and its own map left NULL) when the inode is the same
	 * and holds its whole extent tree, instead of mapping it again. */
	struct journal *map_from;
};

/* Does the filesystem have a journal at all? */
int fs_has_journal(ext2_filsys fs);

/* --journal names an external journal: refuse it (with a message) when fs
 * has an internal journal or none, rather than ignore it. */
int journal_path_applies(ext2_filsys fs, const char *path, struct err *e);

/* Find and validate the journal of fs.  Fails with EXIT_OPERATIONAL and a
 * message on anything the kernel would refuse to load. */
int journal_open(ext2_filsys fs, const struct journal_open_opts *opts,
		 struct journal **out, struct err *e);
void journal_close(struct journal *j);

/* Read journal block jblk (0 <= jblk < maxlen) into buf. */
int journal_read(struct journal *j, uint32_t jblk, void *buf, struct err *e);

/* Read count consecutive journal blocks from jblk, with one I/O for each
 * run of them that is contiguous on the device. */
int journal_read_blocks(struct journal *j, uint32_t jblk, uint32_t count, void *buf,
			struct err *e);

/* Advance a log position by one block, wrapping at the end of the log. */
uint32_t journal_next(const struct journal *j, uint32_t jblk);

/* Fold a log position that ran past the end back into the log. */
uint32_t journal_wrap(const struct journal *j, uint64_t jblk);

/* jbd2 checksums (crc32c seeded with the journal UUID). */
uint32_t journal_csum(const struct journal *j, uint32_t seed, const void *buf, size_t len);
int journal_block_tail_ok(const struct journal *j, const void *block);
int journal_commit_csum_ok(const struct journal *j, const void *block);
int journal_tag_csum_ok(const struct journal *j, const uint8_t *tag, uint32_t tid,
			const void *data);

/* Decode a descriptor tag at p. */
uint64_t journal_tag_block(const struct journal *j, const uint8_t *tag);
uint16_t journal_tag_flags(const uint8_t *tag);

/* Write back a modified superblock (j->sb), recomputing its checksum. */
int journal_write_super(struct journal *j, struct err *e);
void journal_super_set_csum(const struct journal *j, uint8_t *sb);

#endif
