/* check.h: pieces of the ext4da-check front-end. */
#ifndef EXT4DA_CMD_CHECK_H
#define EXT4DA_CMD_CHECK_H

#include "lib/audit/audit.h"
#include "lib/process/cancel.h"
#include "lib/core/cli.h"
#include "lib/core/datascan.h"
#include "lib/audit/view.h"

struct check_cmd {
	struct cli cli;
	const char *image;
	const char *journal_path;
	const char *undo;
	int no_replay;
	struct datascan data;	/* forced 1 --data, 0 --no-data, -1 when the image carries poison */
	int repair;
	uint64_t superblock;	/* --superblock N, 0 if not given */
};

/* repair.c: the undo file --repair writes, and whether it is free to use. */
void repair_undo_path(const struct check_cmd *cmd, char *buf, size_t len);
int repair_undo_free(const struct check_cmd *cmd, struct err *e);

/* report.c */
void print_check_report(const struct check_cmd *cmd, const struct view *v,
			const struct findings *f, const struct audit_stats *st, int exit_code,
			const char *repaired);

#endif
