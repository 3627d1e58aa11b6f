/* report.c: one JSON line per state, and the campaign summary. */
#include <string.h>

#include <json-c/json.h>

#include "cmd/ext4da-crash/crash.h"

const char *fail_class_name(int c)
{
	if (c < F_NCODES)
		return finding_code_name((enum finding_code)c);
	return c == FAIL_UNREADABLE ? "UNREADABLE" : c == FAIL_FSCK ? "FSCK" :
	       c == FAIL_CHECK ? "CHECK" : "DURABILITY";
}

/* One finding of an audit, as ext4da-check -v prints it. */
void print_finding(const char *indent, const struct finding *x)
{
	printf("%s%s", indent, finding_code_name(x->code));
	if (x->ino)
		printf(" inode %u", x->ino);
	if (x->path)
		printf(" (%s)", x->path);
	if (x->blocks)
		printf(" blocks %llu-%llu", (unsigned long long)x->block,
		       (unsigned long long)(x->block + x->blocks - 1));
	if (x->has_logical && x->lblocks)
		printf(" logical %llu-%llu", (unsigned long long)x->lblk,
		       (unsigned long long)(x->lblk + x->lblocks - 1));
	printf(": %s\n", x->detail);
}

/* " inode I blocks A-B logical L-M", as ext4da-check prints locations. */
static void finding_location(const struct state_finding *x, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	if (x->ino)
		n += (size_t)snprintf(buf + n, len - n, " inode %u", x->ino);
	if (x->path[0] && n < len)
		n += (size_t)snprintf(buf + n, len - n, " (%s)", x->path);
	if (x->blocks && n < len)
		n += (size_t)snprintf(buf + n, len - n, " blocks %llu-%llu",
				      (unsigned long long)x->block,
				      (unsigned long long)(x->block + x->blocks - 1));
	if (x->has_logical && x->lblocks && n < len)
		snprintf(buf + n, len - n, " logical %llu-%llu", (unsigned long long)x->lblk,
			 (unsigned long long)(x->lblk + x->lblocks - 1));
}

static json_object *findings_json(const struct state_result *r)
{
	json_object *a = json_object_new_array();

	for (uint32_t i = 0; i < r->nfindings; i++) {
		const struct state_finding *x = &r->findings[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "code", json_object_new_string(
					       finding_code_name((enum finding_code)x->code)));
		json_object_object_add(o, "inode", x->ino ? json_object_new_int64(x->ino) : NULL);
		json_object_object_add(o, "path", x->path[0] ? json_object_new_string(x->path) : NULL);
		json_object_object_add(o, "block", x->blocks ? json_object_new_int64((int64_t)x->block) : NULL);
		json_object_object_add(o, "blocks", json_object_new_int64((int64_t)x->blocks));
		json_object_object_add(o, "logical_block",
				       x->has_logical ? json_object_new_int64((int64_t)x->lblk) : NULL);
		json_object_object_add(o, "logical_blocks",
				       x->has_logical ? json_object_new_int64((int64_t)x->lblocks) : NULL);
		json_object_object_add(o, "detail", json_object_new_string(x->detail));
		json_object_array_add(a, o);
	}
	return a;
}

void state_json(FILE *out, const struct crash_cmd *cmd, const struct crash_plan *p,
		const struct state_result *r)
{
	const struct crash_state *s = &p->states[r->state];
	json_object *o = json_object_new_object(), *fails = json_object_new_array();
	json_object *counts = json_object_new_object(), *sub = NULL;

	(void)cmd;
	for (int c = 0; c < FAIL_NCLASSES; c++)
		if (r->classes & (1U << c))
			json_object_array_add(fails, json_object_new_string(fail_class_name(c)));
	for (int c = 0; c < F_NCODES; c++)
		if (r->count[c])
			json_object_object_add(counts, finding_code_name((enum finding_code)c),
					       json_object_new_int64((int64_t)r->count[c]));
	if (s->nsubset) {
		sub = json_object_new_array();
		for (uint32_t i = 0; i < s->nsubset; i++)
			json_object_array_add(sub, json_object_new_int64((int64_t)s->subset[i]));
	}
	json_object_object_add(o, "schema", json_object_new_string("ext4da-crash/1"));
	json_object_object_add(o, "type", json_object_new_string("state"));
	json_object_object_add(o, "state", json_object_new_int64((int64_t)r->state));
	json_object_object_add(o, "entry", r->entry == NO_ENTRY ? NULL : json_object_new_int64((int64_t)r->entry));
	json_object_object_add(o, "reordered", sub);
	json_object_object_add(o, "verdict", json_object_new_string(r->failed ? "fail" : "pass"));
	json_object_object_add(o, "failures", fails);
	json_object_object_add(o, "errors", counts);
	json_object_object_add(o, "fsck_exit", r->fsck_exit >= 0 ? json_object_new_int(r->fsck_exit) : NULL);
	json_object_object_add(o, "findings", findings_json(r));
	json_object_object_add(o, "findings_omitted", json_object_new_int64(r->findings_omitted));
	json_object_object_add(o, "fsck_output", r->fsck_output[0] ? json_object_new_string(r->fsck_output) : NULL);
	json_object_object_add(o, "check_exit", r->check_exit >= 0 ? json_object_new_int(r->check_exit) : NULL);
	json_object_object_add(o, "check_output", r->check_output[0] ? json_object_new_string(r->check_output) : NULL);
	json_object_object_add(o, "unconverted_blocks", json_object_new_int64((int64_t)r->unconverted_blocks));
	json_object_object_add(o, "note", r->note[0] ? json_object_new_string(r->note) : NULL);
	fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Each line of text, behind a prefix. */
static void print_indented(const char *prefix, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		printf("%s%.*s\n", prefix, (int)n, text);
		text += n + (text[n] == '\n');
	}
}

void describe_state(const struct crash_plan *p, size_t i, char *buf, size_t len)
{
	const struct crash_state *s = &p->states[i];

	if (s->entry == NO_ENTRY)
		snprintf(buf, len, "state %zu (the base image%s)", i, s->nsubset ? " + reordered writes" : "");
	else
		snprintf(buf, len, "state %zu (after entry %llu%s)", i, (unsigned long long)s->entry,
			 s->nsubset ? " + reordered writes" : "");
}

static json_object *data_scan_json(const struct crash_cmd *cmd)
{
	json_object *o = json_object_new_object();
	char why[300];

	datascan_describe(&cmd->data, "base image", why, sizeof(why));
	json_object_object_add(o, "ran", json_object_new_boolean(datascan_on(&cmd->data)));
	json_object_object_add(o, "reason",
			       json_object_new_string(datascan_reason_name(datascan_reason(&cmd->data))));
	json_object_object_add(o, "detail", json_object_new_string(why));
	json_object_object_add(o, "other_fill_sectors",
			       json_object_new_int64((int64_t)cmd->data.other_fill));
	return o;
}

static const char *verdict(size_t failed, const struct campaign_summary *sum)
{
	return failed ? "fail" : sum->empty[0] ? "empty" : "pass";
}

/* UNCONVERTED across the states: how many had unwritten blocks inside
 * i_size, and the most blocks and files one state had. */
static void unconverted_tally(const struct state_result *res, size_t n, size_t *states,
			      uint64_t *max_blocks, uint32_t *max_files)
{
	*states = 0, *max_blocks = 0, *max_files = 0;
	for (size_t i = 0; i < n; i++) {
		if (!res[i].unconverted_blocks)
			continue;
		(*states)++;
		if (res[i].unconverted_blocks > *max_blocks)
			*max_blocks = res[i].unconverted_blocks;
		if (res[i].unconverted_files > *max_files)
			*max_files = res[i].unconverted_files;
	}
}

static json_object *unconverted_json(const struct state_result *res, size_t n)
{
	json_object *o = json_object_new_object();
	uint64_t max_blocks;
	uint32_t max_files;
	size_t states;

	unconverted_tally(res, n, &states, &max_blocks, &max_files);
	json_object_object_add(o, "states", json_object_new_int64((int64_t)states));
	json_object_object_add(o, "max_blocks", json_object_new_int64((int64_t)max_blocks));
	json_object_object_add(o, "max_files", json_object_new_int64((int64_t)max_files));
	return o;
}

static void summary_json(const struct crash_cmd *cmd, const struct crash_plan *p,
			 const struct state_result *res, size_t n, size_t failed,
			 const size_t *by_class, const struct campaign_summary *sum)
{
	json_object *o = json_object_new_object(), *cls = json_object_new_object();

	for (int c = 0; c < FAIL_NCLASSES; c++)
		if (by_class[c])
			json_object_object_add(cls, fail_class_name(c), json_object_new_int64((int64_t)by_class[c]));
	json_object_object_add(o, "schema", json_object_new_string("ext4da-crash/1"));
	json_object_object_add(o, "type", json_object_new_string("summary"));
	json_object_object_add(o, "verdict", json_object_new_string(verdict(failed, sum)));
	json_object_object_add(o, "states", json_object_new_int64((int64_t)n));
	json_object_object_add(o, "failed", json_object_new_int64((int64_t)failed));
	json_object_object_add(o, "failures_by_class", cls);
	/* last_good is the last good state before the first failure: none
	 * when nothing failed, so that it never reads as a boundary. */
	json_object_object_add(o, "last_good", sum->first_bad != SIZE_MAX && sum->last_good != SIZE_MAX ?
			       json_object_new_int64((int64_t)res[sum->last_good].state) : NULL);
	json_object_object_add(o, "first_bad", sum->first_bad != SIZE_MAX ?
			       json_object_new_int64((int64_t)res[sum->first_bad].state) : NULL);
	json_object_object_add(o, "empty", sum->empty[0] ? json_object_new_string(sum->empty) : NULL);
	json_object_object_add(o, "data_scan", data_scan_json(cmd));
	json_object_object_add(o, "seed", cmd->plan.reorder ? json_object_new_int64((int64_t)cmd->plan.seed) : NULL);
	json_object_object_add(o, "unconverted", unconverted_json(res, n));
	json_object_object_add(o, "sampled_epochs", json_object_new_int64((int64_t)p->sampled_epochs));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void print_summary(const struct crash_cmd *cmd, const struct crash_plan *p,
		   const struct state_result *res, size_t n, const struct campaign_summary *sum)
{
	size_t by_class[FAIL_NCLASSES] = { 0 }, failed = 0;
	char a[128], why[300], loc[300];

	for (size_t i = 0; i < n; i++) {
		failed += res[i].failed;
		for (int c = 0; c < FAIL_NCLASSES; c++)
			by_class[c] += (res[i].classes >> c) & 1;
	}
	if (cmd->cli.json) {
		summary_json(cmd, p, res, n, failed, by_class, sum);
		return;
	}
	if (cmd->cli.quiet)
		return;
	if (sum->empty[0])
		printf("%s: no crash state checked: %s\n", cmd->log, sum->empty);
	else if (!failed)
		printf("%s: %zu crash state(s), none failed\n", cmd->log, n);
	else
		printf("%s: %zu crash state(s), %zu failed\n", cmd->log, n, failed);
	datascan_describe(&cmd->data, "base image", why, sizeof(why));
	printf("data scan %s\n", why);
	for (int c = 0; c < FAIL_NCLASSES; c++)
		if (by_class[c])
			printf("  %-15s %zu state(s)\n", fail_class_name(c), by_class[c]);
	{
		uint64_t max_blocks;
		uint32_t max_files;
		size_t states;

		unconverted_tally(res, n, &states, &max_blocks, &max_files);
		if (states)
			printf("unconverted (information): %zu state(s) with unwritten blocks inside "
			       "i_size, at most %llu block(s) in %u file(s)\n",
			       states, (unsigned long long)max_blocks, max_files);
	}
	if (sum->first_bad == SIZE_MAX)
		return;
	if (sum->last_good != SIZE_MAX) {
		describe_state(p, res[sum->last_good].state, a, sizeof(a));
		printf("last good before the first failure: %s\n", a);
	} else {
		printf("no good state before the first failure\n");
	}
	describe_state(p, res[sum->first_bad].state, a, sizeof(a));
	printf("first bad: %s\n", a);
	if (cmd->cli.verbose)
		for (size_t i = 0; i < n; i++)
			if (res[i].failed) {
				describe_state(p, res[i].state, a, sizeof(a));
				printf("  FAIL %s%s%s\n", a, res[i].note[0] ? ": " : "", res[i].note);
				for (uint32_t k = 0; k < res[i].nfindings; k++) {
					const struct state_finding *x = &res[i].findings[k];

					finding_location(x, loc, sizeof(loc));
					printf("    %s%s: %s\n", finding_code_name((enum finding_code)x->code),
					       loc, x->detail);
				}
				if (res[i].findings_omitted)
					printf("    (%u more finding(s); ext4da-crash --materialize %zu, then "
					       "ext4da-check -v, lists them all)\n",
					       res[i].findings_omitted, res[i].state);
				if (res[i].fsck_output[0])
					print_indented("    fsck: ", res[i].fsck_output);
				if (res[i].check_output[0])
					print_indented("    check: ", res[i].check_output);
			}
}
