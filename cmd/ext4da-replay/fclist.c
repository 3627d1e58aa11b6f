/* fclist.c: the fast-commit area in --list and in replay reports. */
#include <inttypes.h>
#include <stdio.h>

#include "lib/core/endian.h"
#include "cmd/ext4da-replay/replay.h"

static void tag_detail(const struct fc_tag *t, char *buf, size_t len)
{
	struct fc_extent ex;

	switch (t->type) {
	case FC_ADD_RANGE:
		fc_decode_extent(t->val + 4, &ex);
		snprintf(buf, len, "inode %u lblk %u len %u -> fs %" PRIu64 "%s", le32_get(t->val),
			 ex.lblk, ex.len, ex.pblk, ex.unwritten ? " unwritten" : "");
		break;
	case FC_DEL_RANGE:
		snprintf(buf, len, "inode %u lblk %u len %u", le32_get(t->val),
			 le32_get(t->val + 4), le32_get(t->val + 8));
		break;
	case FC_CREAT:
	case FC_LINK:
	case FC_UNLINK:
		snprintf(buf, len, "dir %u inode %u name '%.*s'", le32_get(t->val),
			 le32_get(t->val + 4), (int)(t->len - FC_DENTRY_HDR), t->val + FC_DENTRY_HDR);
		break;
	case FC_INODE:
		snprintf(buf, len, "inode %u (%u bytes)", le32_get(t->val),
			 t->len - FC_INODE_HDR);
		break;
	case FC_HEAD:
		snprintf(buf, len, "tid %u features 0x%x", le32_get(t->val + 4), le32_get(t->val));
		break;
	case FC_TAIL:
		snprintf(buf, len, "tid %u crc 0x%08x", le32_get(t->val), le32_get(t->val + 4));
		break;
	default:
		snprintf(buf, len, "%u bytes", t->len);
	}
}

static const char *verdict_text(const struct fc_log *fc)
{
	switch (fc->verdict) {
	case FC_REPLAY: return "replay";
	case FC_REFUSE: return "refused";
	default: return "nothing";
	}
}

void print_fc_listing(const struct replay_cmd *cmd, const struct journal *j,
		      const struct jlog *log)
{
	const struct fc_log *fc = &log->fc.log;
	char detail[320];

	if (!(j->incompat & JBD2_INCOMPAT_FAST_COMMIT))
		return;
	printf("fast-commit area: %u blocks, ", log->fc.blocks ? log->fc.blocks : j->maxlen - j->last);
	if (!log->fc.scanned)
		printf("not read (the log is empty)\n");
	else if (fc->verdict == FC_REPLAY)
		printf("fast commit for tid %u: %zu tag(s) in %zu commit(s) to replay\n",
		       fc->expected_tid, fc->nreplay, fc->commits);
	else if (fc->verdict == FC_REFUSE)
		printf("recovery would fail: %s\n", fc->why);
	else
		printf("nothing to replay (%s)\n", fc->why);
	if (!cmd->cli.verbose || !log->fc.scanned)
		return;
	printf("%10s %6s %-9s %-7s %s\n", "fc block", "offset", "tag", "replay", "detail");
	for (size_t i = 0; i < fc->ntags; i++) {
		const struct fc_tag *t = &fc->tags[i];

		tag_detail(t, detail, sizeof(detail));
		printf("%10u %6u %-9s %-7s %s\n", t->block, t->offset, fc_tag_name(t->type),
		       i < fc->nreplay ? "yes" : "no", detail);
	}
}

json_object *fc_list_json(const struct replay_cmd *cmd, const struct jlog *log)
{
	const struct fc_log *fc = &log->fc.log;
	json_object *o = json_object_new_object();
	char detail[320];

	json_object_object_add(o, "blocks", json_object_new_int64(log->fc.blocks));
	json_object_object_add(o, "scanned", json_object_new_boolean(log->fc.scanned));
	json_object_object_add(o, "verdict", json_object_new_string(verdict_text(fc)));
	json_object_object_add(o, "tid", log->fc.scanned ? json_object_new_int64(fc->expected_tid) : NULL);
	json_object_object_add(o, "tags_to_replay", json_object_new_int64((int64_t)fc->nreplay));
	json_object_object_add(o, "commits", json_object_new_int64((int64_t)fc->commits));
	json_object_object_add(o, "why", fc->why[0] ? json_object_new_string(fc->why) : NULL);
	if (cmd->cli.verbose) {
		json_object *tags = json_object_new_array();

		for (size_t i = 0; i < fc->ntags; i++) {
			json_object *g = json_object_new_object();
			const struct fc_tag *t = &fc->tags[i];

			tag_detail(t, detail, sizeof(detail));
			json_object_object_add(g, "block", json_object_new_int64(t->block));
			json_object_object_add(g, "offset", json_object_new_int64(t->offset));
			json_object_object_add(g, "tag", json_object_new_string(fc_tag_name(t->type)));
			json_object_object_add(g, "inode", fc_tag_ino(t) ?
					       json_object_new_int64(fc_tag_ino(t)) : NULL);
			json_object_object_add(g, "replay", json_object_new_boolean(i < fc->nreplay));
			json_object_object_add(g, "detail", json_object_new_string(detail));
			json_object_array_add(tags, g);
		}
		json_object_object_add(o, "tags", tags);
	}
	return o;
}

json_object *fc_report_json(const struct jlog *log, const struct replay_result *r)
{
	json_object *o;

	if (!log->fc.present)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "tid", json_object_new_int64(log->fc.log.expected_tid));
	json_object_object_add(o, "tags", json_object_new_int64((int64_t)log->fc.log.nreplay));
	json_object_object_add(o, "replayed", json_object_new_boolean(!r->fc_dropped && !r->fatal));
	json_object_object_add(o, "dropped_by_upto", json_object_new_boolean(r->fc_dropped));
	json_object_object_add(o, "applied", json_object_new_int64((int64_t)r->fc.applied));
	json_object_object_add(o, "inodes", json_object_new_int64((int64_t)r->fc.inodes));
	json_object_object_add(o, "failed", r->fc.failed ? json_object_new_string(r->fc.why) : NULL);
	return o;
}

void print_fc_report(const struct replay_cmd *cmd, const struct jlog *log,
		     const struct replay_result *r)
{
	const char *verb = cmd->action == ACT_DRY_RUN ? "would replay" : "replayed";

	if (!log->fc.present || r->fatal)
		return;
	if (r->fc_dropped)
		printf("%s: fast commit for tid %u not replayed: --upto replays full commits only\n",
		       cmd->image, log->fc.log.expected_tid);
	else if (!r->fc.failed)
		printf("%s: %s fast commit for tid %u: %zu tag(s), %zu inode(s)\n", cmd->image, verb,
		       log->fc.log.expected_tid, r->fc.applied, r->fc.inodes);
}
