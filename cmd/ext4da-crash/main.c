/* ext4da-crash: check every crash point of a block-write log. */
#include "config.h"

#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/ext4da-crash/crash.h"
#include "lib/process/interrupt.h"

const char *argp_program_version = "ext4da-crash " PACKAGE_VERSION;

enum {
	OPT_BASE = 256, OPT_LOG, OPT_POINTS, OPT_REORDER, OPT_MAX_STATES, OPT_SEED, OPT_FAIL_ON,
	OPT_FSCK_CMD, OPT_MATERIALIZE, OPT_SAVE, OPT_SHARD, OPT_DATA, OPT_NO_DATA,
	OPT_ALLOW_EMPTY, OPT_START_MARK, OPT_END_MARK, OPT_CHECK_CMD, OPT_LIST, OPT_EXPLAIN
};

static const struct argp_option options[] = {
	{ "base", OPT_BASE, "IMAGE", 0, "The device before the workload (required)", 0 },
	{ "log", OPT_LOG, "LOG", 0, "The dm-log-writes log of the workload (required)", 0 },
	{ "points", OPT_POINTS, "WHICH", 0, "Crash points: flush (default), mark, mark:NAME,..., every, or entry numbers N,M,...", 0 },
	{ "start-mark", OPT_START_MARK, "NAME", 0, "Only crash points at or after the mark NAME", 0 },
	{ "end-mark", OPT_END_MARK, "NAME", 0, "Only crash points up to the mark NAME (inclusive)", 0 },
	{ "reorder", OPT_REORDER, 0, 0, "Also let unflushed writes reach the disk as any subset", 0 },
	{ "max-states", OPT_MAX_STATES, "N", 0, "Reordered states per epoch when sampling (default 64)", 0 },
	{ "seed", OPT_SEED, "N", 0, "Seed for sampled reorderings (default: from the clock, printed)", 0 },
	{ "fail-on", OPT_FAIL_ON, "CODES", 0, "Finding codes that fail a state (default: all errors)", 0 },
	{ "fsck-cmd", OPT_FSCK_CMD, "CMD", 0, "Also run CMD on each recovered state, %s = image file", 0 },
	{ "check-cmd", OPT_CHECK_CMD, "CMD", 0, "Also run CMD on each recovered state, %s = image file; non-zero fails it (CHECK)", 0 },
	{ "materialize", OPT_MATERIALIZE, "N FILE", 0, "Write crash state N (before journal replay) to FILE", 0 },
	{ "save", OPT_SAVE, "DIR", 0, "Write each failing state to DIR with the command that rebuilds it", 0 },
	{ "jobs", 'j', "N", 0, "Evaluate states in N worker processes", 0 },
	{ "shard", OPT_SHARD, "K/N", 0, "Evaluate only the K-th of N slices of the states", 0 },
	{ "data", OPT_DATA, 0, 0, "Scan file data for stale blocks (default: if the base carries poison)", 0 },
	{ "no-data", OPT_NO_DATA, 0, 0, "Never scan file data", 0 },
	{ "list", OPT_LIST, 0, 0, "Print the log one entry a line: index, sector, length, flags, mark, what a write hit", 0 },
	{ "explain", OPT_EXPLAIN, "N", 0, "Print the whole story of crash state N: entries since the last flush, held or dropped, journal replay, findings, hooks", 0 },
	{ "allow-empty", OPT_ALLOW_EMPTY, 0, 0, "Exit 0, not 4, when no state is checked (no marks, an empty shard)", 0 },
	{ 0 }
};

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int parse_shard(struct crash_cmd *cmd, const char *arg)
{
	char k[32], *slash;
	uint64_t kv, nv;

	if (strlen(arg) >= sizeof(k))
		return -1;
	strcpy(k, arg);
	slash = strchr(k, '/');
	if (!slash)
		return -1;
	*slash = 0;
	if (parse_u64(k, &kv) || parse_u64(slash + 1, &nv) || kv < 1 || nv > 1000000 || kv > nv)
		return -1;
	cmd->shard_k = (unsigned)kv;
	cmd->shard_n = (unsigned)nv;
	return 0;
}

/* Single-quote s for a shell command line. */
static void append_quoted(char **buf, size_t *len, const char *s)
{
	size_t need = strlen(s) * 4 + 3, used = *buf ? strlen(*buf) : 0;
	char *p = realloc(*buf, used + need + 2);

	if (!p)
		return;
	*buf = p;
	p += used;
	*p++ = ' ';
	*p++ = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *s;
		}
	}
	*p++ = '\'';
	*p = 0;
	*len = (size_t)(p - *buf);
}

/* The options that rebuild this plan, with absolute paths, for --save. */
static void build_plan_args(struct crash_cmd *cmd, const char *points_arg)
{
	char num[32], *abs;
	size_t len = 0;

	abs = realpath(cmd->base, NULL);
	append_quoted(&cmd->plan_args, &len, "--base");
	append_quoted(&cmd->plan_args, &len, abs ? abs : cmd->base);
	free(abs);
	abs = realpath(cmd->log, NULL);
	append_quoted(&cmd->plan_args, &len, "--log");
	append_quoted(&cmd->plan_args, &len, abs ? abs : cmd->log);
	free(abs);
	append_quoted(&cmd->plan_args, &len, "--points");
	append_quoted(&cmd->plan_args, &len, points_arg);
	if (cmd->start_mark) {
		append_quoted(&cmd->plan_args, &len, "--start-mark");
		append_quoted(&cmd->plan_args, &len, cmd->start_mark);
	}
	if (cmd->end_mark) {
		append_quoted(&cmd->plan_args, &len, "--end-mark");
		append_quoted(&cmd->plan_args, &len, cmd->end_mark);
	}
	if (cmd->plan.reorder) {
		append_quoted(&cmd->plan_args, &len, "--reorder");
		snprintf(num, sizeof(num), "%llu", (unsigned long long)cmd->plan.max_states);
		append_quoted(&cmd->plan_args, &len, "--max-states");
		append_quoted(&cmd->plan_args, &len, num);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)cmd->plan.seed);
		append_quoted(&cmd->plan_args, &len, "--seed");
		append_quoted(&cmd->plan_args, &len, num);
	}
}

static char points_arg[4096] = "flush";

static int parse_points(struct crash_cmd *cmd, char *arg)
{
	char *save = NULL, *tok;

	snprintf(points_arg, sizeof(points_arg), "%s", arg);
	if (!strncmp(arg, "mark:", 5)) {
		/* Resolved against the log's marks when it is open. */
		cmd->plan.mode = POINTS_LIST;
		free(cmd->mark_names);
		cmd->mark_names = strdup(arg + 5);
		return cmd->mark_names && *cmd->mark_names ? 0 : -1;
	}
	if (!strcmp(arg, "flush") || !strcmp(arg, "mark") || !strcmp(arg, "every")) {
		cmd->plan.mode = arg[0] == 'f' ? POINTS_FLUSH : arg[0] == 'm' ? POINTS_MARK : POINTS_EVERY;
		return 0;
	}
	cmd->plan.mode = POINTS_LIST;
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t *p = realloc(cmd->points, (cmd->npoints + 1) * sizeof(*p));

		if (!p || parse_u64(tok, &p[cmd->npoints])) {
			free(p ? p : cmd->points);
			cmd->points = NULL;
			cmd->npoints = 0;
			return -1;
		}
		cmd->points = p;
		cmd->npoints++;
	}
	cmd->plan.list = cmd->points;
	cmd->plan.nlist = cmd->npoints;
	return cmd->npoints ? 0 : -1;
}

static int parse_fail_on(struct crash_cmd *cmd, char *arg)
{
	char *save = NULL, *tok;

	cmd->fail_mask = 0;
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum finding_code c;

		if (finding_code_parse(tok, &c))
			return -1;
		cmd->fail_mask |= 1U << c;
	}
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct crash_cmd *cmd = state->input;
	uint64_t v;

	switch (key) {
	case OPT_BASE: cmd->base = arg; break;
	case OPT_LOG: cmd->log = arg; break;
	case OPT_POINTS:
		if (parse_points(cmd, arg))
			argp_error(state, "--points: expected flush, mark, mark:NAME,..., every or entry numbers");
		break;
	case OPT_REORDER: cmd->plan.reorder = 1; break;
	case OPT_MAX_STATES:
		if (parse_u64(arg, &cmd->plan.max_states) || !cmd->plan.max_states)
			argp_error(state, "--max-states: '%s' is not a positive number", arg);
		break;
	case OPT_SEED:
		if (parse_u64(arg, &cmd->plan.seed))
			argp_error(state, "--seed: '%s' is not a number", arg);
		cmd->seed_given = 1;
		break;
	case OPT_FAIL_ON:
		if (parse_fail_on(cmd, arg))
			argp_error(state, "--fail-on: '%s' is not a list of finding codes", arg);
		break;
	case OPT_FSCK_CMD: cmd->fsck_cmd = arg; break;
	case OPT_CHECK_CMD: cmd->check_cmd = arg; break;
	case OPT_MATERIALIZE:
		if (parse_u64(arg, &cmd->materialize) || state->next >= state->argc)
			argp_error(state, "--materialize takes a state number and a file");
		cmd->materialize_file = state->argv[state->next++];
		cmd->has_materialize = 1;
		break;
	case OPT_SAVE: cmd->save_dir = arg; break;
	case 'j':
		if (parse_u64(arg, &v) || v < 1 || v > 256)
			argp_error(state, "--jobs: '%s' is not a number from 1 to 256", arg);
		cmd->jobs = (unsigned)v;
		break;
	case OPT_SHARD:
		if (parse_shard(cmd, arg))
			argp_error(state, "--shard: expected K/N with 1 <= K <= N");
		break;
	case OPT_DATA: cmd->data.forced = 1; break;
	case OPT_NO_DATA: cmd->data.forced = 0; break;
	case OPT_ALLOW_EMPTY: cmd->allow_empty = 1; break;
	case OPT_LIST: cmd->list = 1; break;
	case OPT_EXPLAIN:
		if (parse_u64(arg, &cmd->explain))
			argp_error(state, "--explain: '%s' is not a state number", arg);
		cmd->has_explain = 1;
		break;
	case OPT_START_MARK: cmd->start_mark = arg; break;
	case OPT_END_MARK: cmd->end_mark = arg; break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s' (use --base and --log)", arg);
		break;
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &cmd->cli;
		break;
	case ARGP_KEY_END:
		if (!cmd->base || !cmd->log)
			argp_error(state, "--base and --log are required");
		if (cmd->list + cmd->has_explain + cmd->has_materialize > 1)
			argp_error(state, "--list, --explain and --materialize exclude each other");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child children[] = {
	{ &cli_common_argp, 0, NULL, 0 },
	{ 0 }
};

static const struct argp argp = {
	options, parse_opt, NULL,
	"Check every crash point of a block-write log: each state is the base image "
	"plus a prefix of the log (and, with --reorder, a subset of the writes still in "
	"flight), its journal replayed in memory and audited as ext4da-check does.\v"
	"Exit status: 0 every state passed, 4 some state failed or no state was checked "
	"(without --allow-empty), 8 operational error (bad log or base image), 16 usage "
	"error, 32 interrupted (SIGINT or SIGTERM; temporary files are removed).",
	children, NULL, NULL
};

int main(int argc, char **argv)
{
	struct crash_cmd cmd = { .cli = { .tool = "ext4da-crash", .progress = -1 },
				 .fail_mask = ~0U, .jobs = 1,
				 .data = { .forced = -1 } };
	struct err e = { 0 };
	int code;

	cmd.plan.mode = POINTS_FLUSH;
	cmd.plan.max_states = 64;
	argp_err_exit_status = EXIT_USAGE;
	argv[0] = (char *)cmd.cli.tool;
	argp_parse(&argp, argc, argv, 0, NULL, &cmd);
	if (!cmd.seed_given)
		cmd.plan.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	build_plan_args(&cmd, points_arg);
	interrupt_install(cmd.cli.tool, !cmd.cli.quiet);
	if (cmd.list) {
		code = list_log(&cmd, &e);
	} else if (cmd.has_explain) {
		code = explain_state(&cmd, cmd.explain, &e);
	} else if (cmd.has_materialize) {
		code = materialize_state(&cmd, cmd.materialize, cmd.materialize_file, &e);
		if (code == 0 && !cmd.cli.quiet)
			printf("%s: crash state %llu written (before journal replay)\n",
			       cmd.materialize_file, (unsigned long long)cmd.materialize);
	} else {
		code = run_campaign(&cmd, &e);
	}
	free(cmd.points);
	free(cmd.mark_names);
	free(cmd.plan_args);
	return code < 0 ? cli_fail(&cmd.cli, NULL, &e) : code;
}
