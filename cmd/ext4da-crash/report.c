/* report.c: one JSON line per state, and the campaign summary. */
#include <json-c/json.h>

#include "cmd/ext4da-crash/crash.h"

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
	json_object_object_add(o, "note", r->note[0] ? json_object_new_string(r->note) : NULL);
	fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void describe_state(const struct crash_plan *p, size_t i, char *buf, size_t len)
{
	const struct crash_state *s = &p->states[i];

	if (s->entry == NO_ENTRY)
		snprintf(buf, len, "state %zu (the base image%s)", i, s->nsubset ? " + reordered writes" : "");
	else
		snprintf(buf, len, "state %zu (after entry %llu%s)", i, (unsigned long long)s->entry,
			 s->nsubset ? " + reordered writes" : "");
}

void print_summary(const struct crash_cmd *cmd, const struct crash_plan *p,
		   const struct state_result *res, size_t n, size_t first, size_t last)
{
	size_t by_class[FAIL_NCLASSES] = { 0 }, failed = 0;
	char a[128], b[128];

	for (size_t i = 0; i < n; i++) {
		failed += res[i].failed;
		for (int c = 0; c < FAIL_NCLASSES; c++)
			by_class[c] += (res[i].classes >> c) & 1;
	}
	if (cmd->cli.json) {
		json_object *o = json_object_new_object(), *cls = json_object_new_object();

		for (int c = 0; c < FAIL_NCLASSES; c++)
			if (by_class[c])
				json_object_object_add(cls, fail_class_name(c), json_object_new_int64((int64_t)by_class[c]));
		json_object_object_add(o, "schema", json_object_new_string("ext4da-crash/1"));
		json_object_object_add(o, "type", json_object_new_string("summary"));
		json_object_object_add(o, "states", json_object_new_int64((int64_t)n));
		json_object_object_add(o, "failed", json_object_new_int64((int64_t)failed));
		json_object_object_add(o, "failures_by_class", cls);
		json_object_object_add(o, "last_good", last != SIZE_MAX ? json_object_new_int64((int64_t)res[last].state) : NULL);
		json_object_object_add(o, "first_bad", first != SIZE_MAX ? json_object_new_int64((int64_t)res[first].state) : NULL);
		json_object_object_add(o, "seed", cmd->plan.reorder ? json_object_new_int64((int64_t)cmd->plan.seed) : NULL);
		json_object_object_add(o, "sampled_epochs", json_object_new_int64((int64_t)p->sampled_epochs));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return;
	}
	if (cmd->cli.quiet)
		return;
	printf("%s: %zu crash state(s), %zu failed\n", cmd->log, n, failed);
	for (int c = 0; c < FAIL_NCLASSES; c++)
		if (by_class[c])
			printf("  %-15s %zu state(s)\n", fail_class_name(c), by_class[c]);
	if (last != SIZE_MAX) {
		describe_state(p, res[last].state, a, sizeof(a));
		printf("last good before the first failure: %s\n", a);
	}
	if (first != SIZE_MAX) {
		describe_state(p, res[first].state, b, sizeof(b));
		printf("first bad: %s\n", b);
	}
	if (cmd->cli.verbose)
		for (size_t i = 0; i < n; i++)
			if (res[i].failed) {
				describe_state(p, res[i].state, a, sizeof(a));
				printf("  FAIL %s%s%s\n", a, res[i].note[0] ? ": " : "", res[i].note);
			}
}
