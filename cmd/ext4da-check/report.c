/* report.c: the audit's findings as a summary, a full list (-v) or JSON. */
#include <stdio.h>

#include <json-c/json.h>

#include "cmd/ext4da-check/check.h"

static void location(const struct finding *x, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	if (x->group != NO_GROUP)
		n += (size_t)snprintf(buf + n, len - n, " group %lld", (long long)x->group);
	if (x->blocks && n < len)
		n += (size_t)snprintf(buf + n, len - n, " blocks %llu-%llu",
				      (unsigned long long)x->block,
				      (unsigned long long)(x->block + x->blocks - 1));
	if (x->ino && n < len)
		n += (size_t)snprintf(buf + n, len - n, " inode %u (%s)", x->ino,
				      x->path ? x->path : "no path");
	if (x->other_ino && n < len)
		n += (size_t)snprintf(buf + n, len - n, x->ino ? " and inode %u (%s)" : " inode %u (%s)",
				      x->other_ino, x->other_path ? x->other_path : "no path");
	if (x->has_logical && x->lblocks && n < len)
		snprintf(buf + n, len - n, " logical %llu-%llu", (unsigned long long)x->lblk,
			 (unsigned long long)(x->lblk + x->lblocks - 1));
}

static json_object *finding_json(const struct finding *x)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "code", json_object_new_string(finding_code_name(x->code)));
	json_object_object_add(o, "severity", json_object_new_string(severity_name(x->severity)));
	json_object_object_add(o, "group", x->group != NO_GROUP ? json_object_new_int64(x->group) : NULL);
	json_object_object_add(o, "block", x->blocks ? json_object_new_int64((int64_t)x->block) : NULL);
	json_object_object_add(o, "blocks", json_object_new_int64((int64_t)x->blocks));
	json_object_object_add(o, "inode", x->ino ? json_object_new_int64(x->ino) : NULL);
	json_object_object_add(o, "path", x->path ? json_object_new_string(x->path) : NULL);
	json_object_object_add(o, "other_inode", x->other_ino ? json_object_new_int64(x->other_ino) : NULL);
	json_object_object_add(o, "other_path",
			       x->other_path ? json_object_new_string(x->other_path) : NULL);
	json_object_object_add(o, "logical_block",
			       x->has_logical ? json_object_new_int64((int64_t)x->lblk) : NULL);
	json_object_object_add(o, "logical_blocks",
			       x->has_logical ? json_object_new_int64((int64_t)x->lblocks) : NULL);
	json_object_object_add(o, "detail", json_object_new_string(x->detail));
	return o;
}

static json_object *stats_json(const struct audit_stats *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "inodes_in_use", json_object_new_int64((int64_t)st->inodes_in_use));
	json_object_object_add(o, "files", json_object_new_int64((int64_t)st->files));
	json_object_object_add(o, "directories", json_object_new_int64((int64_t)st->dirs));
	json_object_object_add(o, "owned_blocks", json_object_new_int64((int64_t)st->owned_blocks));
	json_object_object_add(o, "leaked_blocks", json_object_new_int64((int64_t)st->leaked_blocks));
	json_object_object_add(o, "unmarked_blocks", json_object_new_int64((int64_t)st->unmarked_blocks));
	json_object_object_add(o, "unconverted_blocks", json_object_new_int64((int64_t)st->unconverted_blocks));
	json_object_object_add(o, "unconverted_files", json_object_new_int64((int64_t)st->unconverted_files));
	json_object_object_add(o, "orphans", json_object_new_int64((int64_t)st->orphans));
	json_object_object_add(o, "data_blocks_scanned", json_object_new_int64((int64_t)st->data_blocks_scanned));
	json_object_object_add(o, "stale_blocks", json_object_new_int64((int64_t)st->stale_blocks));
	json_object_object_add(o, "unknown_blocks", json_object_new_int64((int64_t)st->unknown_blocks));
	json_object_object_add(o, "uninit_groups_skipped",
			       json_object_new_int64((int64_t)st->uninit_groups_skipped));
	json_object_object_add(o, "uninit_itable_blocks_read",
			       json_object_new_int64((int64_t)st->uninit_itable_blocks_read));
	return o;
}

static const char *state_audited(const struct check_cmd *cmd, const struct view *v)
{
	if (v->replayed)
		return "recovered";
	if (v->needed_recovery && cmd->no_replay)
		return "raw";
	return "on-disk";
}

static void report_json(const struct check_cmd *cmd, const struct view *v,
			const struct findings *f, const struct audit_stats *st, int exit_code,
			const char *repaired)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	json_object *counts = json_object_new_object();
	char why[300];

	json_object_object_add(root, "schema", json_object_new_string("ext4da-check/1"));
	json_object_object_add(root, "image", json_object_new_string(cmd->image));
	json_object_object_add(root, "audited", json_object_new_string(state_audited(cmd, v)));
	json_object_object_add(root, "journal_needed_recovery", json_object_new_boolean(v->needed_recovery));
	json_object_object_add(root, "replayed_transactions",
			       json_object_new_int64(v->replayed ? (int64_t)v->result.transactions : 0));
	json_object_object_add(root, "replayed_fast_commit_tags",
			       json_object_new_int64(v->replayed ? (int64_t)v->result.fc.applied : 0));
	datascan_describe(&cmd->data, "image", why, sizeof(why));
	json_object_object_add(root, "data_scan", json_object_new_boolean(datascan_on(&cmd->data)));
	json_object_object_add(root, "data_scan_reason",
			       json_object_new_string(datascan_reason_name(datascan_reason(&cmd->data))));
	json_object_object_add(root, "data_scan_detail", json_object_new_string(why));
	for (int c = 0; c < F_NCODES; c++)
		json_object_object_add(counts, finding_code_name((enum finding_code)c),
				       json_object_new_int64((int64_t)f->count[c]));
	json_object_object_add(root, "counts", counts);
	for (size_t i = 0; i < f->n; i++)
		json_object_array_add(arr, finding_json(&f->v[i]));
	json_object_object_add(root, "findings", arr);
	json_object_object_add(root, "stats", stats_json(st));
	json_object_object_add(root, "repaired", json_object_new_boolean(repaired != NULL));
	json_object_object_add(root, "undo_file", repaired ? json_object_new_string(repaired) : NULL);
	json_object_object_add(root, "exit", json_object_new_int(exit_code));
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

void print_check_report(const struct check_cmd *cmd, const struct view *v,
			const struct findings *f, const struct audit_stats *st, int exit_code,
			const char *repaired)
{
	char loc[1024], why[300];

	if (cmd->cli.json) {
		report_json(cmd, v, f, st, exit_code, repaired);
		return;
	}
	if (cmd->cli.quiet)
		return;
	printf("%s: audited the %s state%s: %llu inodes in use, %llu blocks owned%s\n", cmd->image,
	       state_audited(cmd, v),
	       v->replayed ? " (journal replayed in memory)" : "",
	       (unsigned long long)st->inodes_in_use, (unsigned long long)st->owned_blocks,
	       datascan_on(&cmd->data) ? ", data scanned" : "");
	datascan_describe(&cmd->data, "image", why, sizeof(why));
	printf("data scan %s\n", why);
	for (int c = 0; c < F_NCODES; c++)
		if (f->count[c])
			printf("  %-15s %zu finding(s)\n", finding_code_name((enum finding_code)c),
			       f->count[c]);
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];

		if (!cmd->cli.verbose && x->severity != SEV_ERROR && x->code != F_JOURNAL &&
		    x->code != F_UNCONVERTED && x->code != F_OWNER_UNKNOWN)
			continue;
		if (!cmd->cli.verbose && i >= 20) {
			printf("  ... %zu more (-v lists all)\n", f->n - i);
			break;
		}
		location(x, loc, sizeof(loc));
		printf("%-15s %-7s%s: %s\n", finding_code_name(x->code), severity_name(x->severity),
		       loc, x->detail);
	}
	if (repaired)
		printf("%s: repaired LEAKED and GROUP_COUNTS; undo with: e2undo %s %s\n", cmd->image,
		       repaired, cmd->image);
	else if (!findings_errors(f))
		printf("%s: clean\n", cmd->image);
}
