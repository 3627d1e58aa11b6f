/* ops.h: the operations of ext4da-stamp, one function each, and the
 * command line they share. */
#ifndef EXT4DA_CMD_STAMP_OPS_H
#define EXT4DA_CMD_STAMP_OPS_H

#include <stdint.h>

#include "lib/core/guest.h"

enum stamp_op { OP_NONE, OP_CREATE, OP_OVERWRITE, OP_APPEND, OP_TRUNCATE, OP_RENAME_OVER, OP_VERIFY,
		OP_POISON, OP_CHECKPOINT, OP_JOURNAL_DATA, OP_MAPPED, OP_QUOTA };

enum sync_mode { SYNC_NONE, SYNC_FSYNC, SYNC_FDATASYNC, SYNC_RANGE };

/* How overwrite fills its range: stamps through write(2) (the default),
 * stamps through a shared mapping and msync, or fallocate(2) instead of
 * data. */
enum write_via { VIA_WRITE, VIA_MMAP, VIA_KEEP_SIZE, VIA_PUNCH, VIA_ZERO };

struct stamp_cmd {
	struct cli cli;
	enum stamp_op op;
	const char *operand[4];	/* as given: PATH, then numbers or DST */
	int noperands;
	const char *path;	/* the file (SRC for rename-over) */
	const char *dst;	/* rename-over */
	uint64_t offset, len, size;
	int has_size;		/* rename-over: SIZE given */
	int has_range;		/* poison: OFFSET and LEN given */
	int on;			/* journal-data: on (1) or off (0) */
	int clear_es;		/* mapped: drop the extent status cache first */
	int quota_type;		/* quota: USRQUOTA or GRPQUOTA */
	uint64_t quota_id;	/* quota: the user or group */
	uint64_t limit;		/* quota: the block limit in bytes */
	int has_limit;		/* quota: LIMIT given */
	enum sync_mode sync;
	int direct;		/* O_DIRECT writes */
	enum write_via via;	/* overwrite only */
	uint64_t write_gen;	/* from --gen, --seed or the clock */
};

/* Each returns an exit code, or -1 with e filled; the failing input is
 * left in *input for the error line. */
int op_create(const struct stamp_cmd *c, const char **input, struct err *e);
int op_overwrite(const struct stamp_cmd *c, const char **input, struct err *e);
int op_append(const struct stamp_cmd *c, const char **input, struct err *e);
int op_truncate(const struct stamp_cmd *c, const char **input, struct err *e);
int op_rename_over(const struct stamp_cmd *c, const char **input, struct err *e);
int op_poison(const struct stamp_cmd *c, const char **input, struct err *e);
int op_verify(const struct stamp_cmd *c, const char **input, struct err *e);

/* sync.c: what ops.c and extra.c share.  Sync fd as m asks (nothing for
 * SYNC_NONE): 0, or -1 with e filled. */
int sync_file(int fd, enum sync_mode m, struct err *e);
const char *sync_mode_name(enum sync_mode m);
const char *write_via_name(enum write_via v);

/* extra.c: overwrite by mmap or fallocate. */
int op_overwrite_via(const struct stamp_cmd *c, const char **input, struct err *e);
/* Parse --fallocate MODE; -1 if unknown. */
int parse_falloc_mode(const char *s, enum write_via *v);

/* fsctl.c: controls of the whole filesystem or of an inode's flags. */
int op_checkpoint(const struct stamp_cmd *c, const char **input, struct err *e);
int op_journal_data(const struct stamp_cmd *c, const char **input, struct err *e);
/* Parse "on" or "off"; -1 if neither. */
int parse_on_off(const char *s, int *on);

/* fsquery.c: SEEK_DATA/FIEMAP coverage, quota limits, dropping root. */
int op_mapped(const struct stamp_cmd *c, const char **input, struct err *e);
int op_quota(const struct stamp_cmd *c, const char **input, struct err *e);
/* Parse "user" or "group" into USRQUOTA or GRPQUOTA; -1 if neither. */
int parse_quota_type(const char *s, int *type);
/* Parse "UID:GID" (decimal); -1 if malformed. */
int parse_uid_gid(const char *s, uint32_t *uid, uint32_t *gid);
/* Become uid:gid with no supplementary groups (and so no capabilities). */
int drop_to_user(uint32_t uid, uint32_t gid, struct err *e);

#endif
