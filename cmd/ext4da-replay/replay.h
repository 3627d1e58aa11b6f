/* replay.h: pieces of the ext4da-replay front-end. */
#ifndef EXT4DA_CMD_REPLAY_H
#define EXT4DA_CMD_REPLAY_H

#include <json-c/json.h>

#include "lib/core/cli.h"
#include "lib/journal/replay.h"

enum action { ACT_REPLAY, ACT_LIST, ACT_DRY_RUN };

struct replay_cmd {
	struct cli cli;
	enum action action;
	const char *image;
	const char *output;
	const char *undo;
	const char *journal_path;
	int has_upto;
	uint32_t upto;
};

/* list.c */
void print_listing(const struct replay_cmd *cmd, const struct journal *j, const struct jlog *log);

/* report.c: what replay did (or, for a dry run, would do). */
void print_report(const struct replay_cmd *cmd, const struct journal *j, const struct jlog *log,
		  const struct replay_result *r, int wrote, int exit_code);
/* fclist.c: the fast-commit area. */
void print_fc_listing(const struct replay_cmd *cmd, const struct journal *j,
		      const struct jlog *log);
json_object *fc_list_json(const struct replay_cmd *cmd, const struct jlog *log);
json_object *fc_report_json(const struct jlog *log, const struct replay_result *r);
void print_fc_report(const struct replay_cmd *cmd, const struct jlog *log,
		     const struct replay_result *r);

const char *journal_feature_names(const struct journal *j, char *buf, size_t len);
json_object *journal_json(const struct journal *j);

#endif
