/* report.c: what a replay or dry run did, as text or JSON. */
#include <stdio.h>

#include "cmd/ext4da-replay/replay.h"

static const char *bad_reason(enum bad_reason r)
{
	return r == BAD_CHECKSUM ? "tag checksum mismatch" : "block beyond the filesystem";
}

static void report_json(const struct replay_cmd *cmd, const struct journal *j,
			const struct jlog *log, const struct replay_result *r, int wrote,
			int exit_code)
{
	json_object *root = json_object_new_object(), *rep = json_object_new_object();
	json_object *bad = json_object_new_array();

	json_object_object_add(root, "schema", json_object_new_string("ext4da-replay/1"));
	json_object_object_add(root, "image", json_object_new_string(cmd->image));
	json_object_object_add(root, "action", json_object_new_string(
		cmd->action == ACT_DRY_RUN ? "dry-run" : "replay"));
	json_object_object_add(root, "output", cmd->output ? json_object_new_string(cmd->output) : NULL);
	json_object_object_add(root, "undo", cmd->undo ? json_object_new_string(cmd->undo) : NULL);
	json_object_object_add(root, "journal", journal_json(j));
	json_object_object_add(rep, "first_tid", json_object_new_int64(r->first_tid));
	json_object_object_add(rep, "end_tid", json_object_new_int64(r->end_tid));
	json_object_object_add(rep, "transactions", json_object_new_int64((int64_t)r->transactions));
	json_object_object_add(rep, "logged_blocks", json_object_new_int64((int64_t)r->tags));
	json_object_object_add(rep, "revoked", json_object_new_int64((int64_t)r->revoked));
	json_object_object_add(rep, "blocks_written", json_object_new_int64((int64_t)r->blocks_written));
	json_object_object_add(rep, "blocks_lost", json_object_new_int64((int64_t)r->blocks_lost));
	for (size_t i = 0; i < r->nbad; i++) {
		json_object *b = json_object_new_object();

		json_object_object_add(b, "tid", json_object_new_int64(r->bad[i].tid));
		json_object_object_add(b, "fs_block", json_object_new_int64((int64_t)r->bad[i].fs_block));
		json_object_object_add(b, "log_block", json_object_new_int64(r->bad[i].log_block));
		json_object_object_add(b, "reason", json_object_new_string(bad_reason(r->bad[i].reason)));
		json_object_array_add(bad, b);
	}
	json_object_object_add(rep, "skipped_copies", bad);
	json_object_object_add(rep, "failed_commit",
			       r->corrupt_commit ? json_object_new_int64(r->corrupt_commit) : NULL);
	json_object_object_add(rep, "fatal", r->fatal ? json_object_new_string(log->fatal_msg) : NULL);
	json_object_object_add(rep, "fast_commit", fc_report_json(log, r));
	json_object_object_add(root, "replay", rep);
	json_object_object_add(root, "written", json_object_new_boolean(wrote));
	json_object_object_add(root, "next_sequence", wrote ? json_object_new_int64(r->new_sequence) : NULL);
	json_object_object_add(root, "exit", json_object_new_int(exit_code));
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

/* Problems go to stderr even with -q: they are why the exit code is 4. */
static void report_problems(const struct replay_cmd *cmd, const struct jlog *log,
			    const struct replay_result *r)
{
	const char *in = cmd->image;
	size_t shown = cmd->cli.verbose ? r->nbad : (r->nbad < 5 ? r->nbad : 5);

	if (r->fatal)
		cli_warn(&cmd->cli, in, "nothing replayed: %s (the kernel would refuse to mount)",
			 log->fatal_msg);
	if (r->corrupt_commit)
		cli_warn(&cmd->cli, in,
			 "transaction %u has a bad commit checksum: it and later ones were not replayed",
			 r->corrupt_commit);
	for (size_t i = 0; i < shown; i++)
		cli_warn(&cmd->cli, in, "skipped fs block %llu of transaction %u (log block %u): %s",
			 (unsigned long long)r->bad[i].fs_block, r->bad[i].tid, r->bad[i].log_block,
			 bad_reason(r->bad[i].reason));
	if (r->fc.failed)
		cli_warn(&cmd->cli, in, "fast-commit replay stopped at %s", r->fc.why);
	if (shown < r->nbad)
		cli_warn(&cmd->cli, in, "... and %zu more skipped copies (-v lists them)",
			 r->nbad - shown);
}

void print_report(const struct replay_cmd *cmd, const struct journal *j, const struct jlog *log,
		  const struct replay_result *r, int wrote, int exit_code)
{
	const char *verb = cmd->action == ACT_DRY_RUN ? "would replay" : "replayed";

	if (cmd->cli.json) {
		report_json(cmd, j, log, r, wrote, exit_code);
		return;
	}
	report_problems(cmd, log, r);
	if (cmd->cli.quiet)
		return;
	if (!wrote && cmd->action != ACT_DRY_RUN && r->transactions == 0 && !r->fatal) {
		printf("%s: journal is clean, nothing to replay\n", cmd->image);
		return;
	}
	if (r->transactions)
		printf("%s: %s %zu transaction(s), tid %u to %u: %zu logged blocks, %zu home blocks "
		       "written, %zu revoked\n", cmd->image, verb, r->transactions, r->first_tid,
		       r->end_tid - 1, r->tags, r->blocks_written, r->revoked);
	else
		printf("%s: %s no transactions\n", cmd->image, verb);
	print_fc_report(cmd, log, r);
	if (r->blocks_lost)
		printf("%s: %zu home block(s) kept an older copy than the journal committed\n",
		       cmd->image, r->blocks_lost);
	if (wrote)
		printf("%s: journal marked empty (s_sequence %u)%s\n",
		       cmd->output ? cmd->output : cmd->image, r->new_sequence,
		       cmd->undo ? "; undo file written" : "");
	else if (cmd->action == ACT_DRY_RUN)
		printf("%s: dry run, nothing written\n", cmd->image);
}
