/* list.c: --list, one row per transaction (text or JSON). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cmd/ext4da-replay/replay.h"

const char *journal_feature_names(const struct journal *j, char *buf, size_t len)
{
	static const struct { uint32_t bit; int incompat; const char *name; } names[] = {
		{ JBD2_COMPAT_CHECKSUM, 0, "checksum_v1" },
		{ JBD2_INCOMPAT_REVOKE, 1, "revoke" },
		{ JBD2_INCOMPAT_64BIT, 1, "64bit" },
		{ JBD2_INCOMPAT_ASYNC_COMMIT, 1, "async_commit" },
		{ JBD2_INCOMPAT_CSUM_V2, 1, "checksum_v2" },
		{ JBD2_INCOMPAT_CSUM_V3, 1, "checksum_v3" },
		{ JBD2_INCOMPAT_FAST_COMMIT, 1, "fast_commit" },
	};
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint32_t f = names[i].incompat ? j->incompat : j->compat;

		if ((f & names[i].bit) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "",
						 names[i].name);
	}
	return buf[0] ? buf : "(none)";
}

static void format_time(uint64_t sec, char *buf, size_t len)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (sec == 0 || !gmtime_r(&t, &tm))
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int replayable(const struct jlog *log, const struct jtxn *t)
{
	return !log->fatal && t->state == TXN_COMMITTED && tid_gt(log->end_tid, t->tid);
}

static json_object *tag_flags_json(uint16_t flags)
{
	json_object *a = json_object_new_array();

	if (flags & JBD2_FLAG_ESCAPE)
		json_object_array_add(a, json_object_new_string("escape"));
	if (flags & JBD2_FLAG_SAME_UUID)
		json_object_array_add(a, json_object_new_string("same_uuid"));
	if (flags & JBD2_FLAG_DELETED)
		json_object_array_add(a, json_object_new_string("deleted"));
	if (flags & JBD2_FLAG_LAST_TAG)
		json_object_array_add(a, json_object_new_string("last_tag"));
	return a;
}

static json_object *txn_json(const struct replay_cmd *cmd, const struct jlog *log,
			     const struct jtxn *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "tid", json_object_new_int64(t->tid));
	json_object_object_add(o, "first_block", json_object_new_int64(t->first_block));
	json_object_object_add(o, "last_block", json_object_new_int64(t->last_block));
	json_object_object_add(o, "data_blocks", json_object_new_int64((int64_t)t->ntags));
	json_object_object_add(o, "revoke_records", json_object_new_int64((int64_t)t->nrevokes));
	json_object_object_add(o, "commit_sec",
			       t->has_commit ? json_object_new_int64((int64_t)t->commit_sec) : NULL);
	json_object_object_add(o, "commit_nsec",
			       t->has_commit ? json_object_new_int64(t->commit_nsec) : NULL);
	json_object_object_add(o, "checksum", json_object_new_string(csum_status_name(t->csum)));
	json_object_object_add(o, "state", json_object_new_string(txn_state_name(t->state)));
	json_object_object_add(o, "replayable", json_object_new_boolean(replayable(log, t)));
	if (cmd->cli.verbose) {
		json_object *tags = json_object_new_array(), *rev = json_object_new_array();

		for (size_t i = 0; i < t->ntags; i++) {
			json_object *g = json_object_new_object();

			json_object_object_add(g, "log_block", json_object_new_int64(t->tags[i].log_block));
			json_object_object_add(g, "fs_block",
					       json_object_new_int64((int64_t)t->tags[i].fs_block));
			json_object_object_add(g, "flags", tag_flags_json(t->tags[i].flags));
			json_object_array_add(tags, g);
		}
		for (size_t i = 0; i < t->nrevokes; i++)
			json_object_array_add(rev, json_object_new_int64((int64_t)t->revokes[i]));
		json_object_object_add(o, "tags", tags);
		json_object_object_add(o, "revokes", rev);
	}
	return o;
}

json_object *journal_json(const struct journal *j)
{
	json_object *o = json_object_new_object(), *f = json_object_new_array();
	char names[256], *tok, *save = NULL;

	journal_feature_names(j, names, sizeof(names));
	for (tok = strtok_r(names, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (tok[0] != '(')
			json_object_array_add(f, json_object_new_string(tok));
	json_object_object_add(o, "location", json_object_new_string(j->external ? "external" : "internal"));
	if (j->device)
		json_object_object_add(o, "device", json_object_new_string(j->device));
	json_object_object_add(o, "version", json_object_new_int(j->version));
	json_object_object_add(o, "blocksize", json_object_new_int64(j->blocksize));
	json_object_object_add(o, "blocks", json_object_new_int64(j->maxlen));
	json_object_object_add(o, "first", json_object_new_int64(j->first));
	json_object_object_add(o, "start", json_object_new_int64(j->start));
	json_object_object_add(o, "sequence", json_object_new_int64(j->sequence));
	json_object_object_add(o, "features", f);
	json_object_object_add(o, "fast_commit_blocks",
			       json_object_new_int64(j->last < j->maxlen ? j->maxlen - j->last : 0));
	return o;
}

static void list_json(const struct replay_cmd *cmd, const struct journal *j,
		      const struct jlog *log)
{
	json_object *root = json_object_new_object(), *txns = json_object_new_array();

	json_object_object_add(root, "schema", json_object_new_string("ext4da-replay/1"));
	json_object_object_add(root, "image", json_object_new_string(cmd->image));
	json_object_object_add(root, "action", json_object_new_string("list"));
	json_object_object_add(root, "journal", journal_json(j));
	for (size_t i = 0; i < log->ntxns; i++)
		json_object_array_add(txns, txn_json(cmd, log, &log->txns[i]));
	json_object_object_add(root, "transactions", txns);
	json_object_object_add(root, "end_tid", json_object_new_int64(log->end_tid));
	json_object_object_add(root, "replayable", json_object_new_int64(log->fatal ? 0 : (int64_t)jlog_committed(log)));
	json_object_object_add(root, "fatal", log->fatal ? json_object_new_string(log->fatal_msg) : NULL);
	json_object_object_add(root, "fast_commit_present", json_object_new_boolean(log->fc.present));
	if (j->incompat & JBD2_INCOMPAT_FAST_COMMIT)
		json_object_object_add(root, "fast_commit", fc_list_json(cmd, log));
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

static void list_tags(const struct jtxn *t)
{
	for (size_t i = 0; i < t->ntags; i++) {
		const struct jtag *g = &t->tags[i];

		printf("    log %-8u -> fs %-12llu%s%s%s%s\n", g->log_block,
		       (unsigned long long)g->fs_block, g->flags & JBD2_FLAG_ESCAPE ? " escape" : "",
		       g->flags & JBD2_FLAG_SAME_UUID ? " same_uuid" : "",
		       g->flags & JBD2_FLAG_DELETED ? " deleted" : "",
		       g->flags & JBD2_FLAG_LAST_TAG ? " last_tag" : "");
	}
	for (size_t i = 0; i < t->nrevokes; i++)
		printf("    revoke fs %llu\n", (unsigned long long)t->revokes[i]);
}

void print_listing(const struct replay_cmd *cmd, const struct journal *j, const struct jlog *log)
{
	char feat[256], when[32];

	if (cmd->cli.json) {
		list_json(cmd, j, log);
		return;
	}
	if (cmd->cli.quiet)
		return;
	printf("journal: %s, %u blocks of %u bytes, features: %s\n",
	       j->external ? "external" : "internal", j->maxlen, j->blocksize,
	       journal_feature_names(j, feat, sizeof(feat)));
	if (j->start == 0) {
		printf("log is empty (next tid %u)\n", j->sequence);
		return;
	}
	printf("log starts at block %u with tid %u\n", j->start, j->sequence);
	printf("%10s %8s %8s %7s %7s %-20s %-5s %s\n", "tid", "first", "last", "blocks", "revokes",
	       "commit time", "csum", "state");
	for (size_t i = 0; i < log->ntxns; i++) {
		const struct jtxn *t = &log->txns[i];

		format_time(t->has_commit ? t->commit_sec : 0, when, sizeof(when));
		printf("%10u %8u %8u %7zu %7zu %-20s %-5s %s%s\n", t->tid, t->first_block,
		       t->last_block, t->ntags, t->nrevokes, when, csum_status_name(t->csum),
		       txn_state_name(t->state),
		       t->state == TXN_COMMITTED && !replayable(log, t) ? " (not replayable)" : "");
		if (cmd->cli.verbose)
			list_tags(t);
	}
	if (log->fatal)
		printf("recovery would fail: %s\n", log->fatal_msg);
	else
		printf("%zu transaction(s) to replay, ending before tid %u\n", jlog_committed(log),
		       log->end_tid);
	print_fc_listing(cmd, j, log);
}
