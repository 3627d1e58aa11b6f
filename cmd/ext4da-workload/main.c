/* ext4da-workload: enumerate bounded workloads (lib/crash/workload.h) and print
 * any one of them as a script for ext4da-record. */
#include "config.h"

#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/cli.h"
#include "lib/crash/workload.h"

const char *argp_program_version = "ext4da-workload " PACKAGE_VERSION;

enum { OPT_SEQ = 256, OPT_SAMPLE };

static const struct argp_option options[] = {
	{ "seq", OPT_SEQ, "N", 0, "Workloads of N operations, 1 or 2 (default 1)", 0 },
	{ "index", 'i', "K", 0, "Print workload K (0-based) as a script", 0 },
	{ "count", 'c', 0, 0, "Print how many workloads there are", 0 },
	{ "list", 'l', 0, 0, "List the workloads, one a line: index and steps", 0 },
	{ "sample", OPT_SAMPLE, "M", 0, "Only M workloads, drawn without repetition by the seed", 0 },
	{ "seed", 's', "S", 0, "The seed of --sample (default 1)", 0 },
	{ "output", 'o', "FILE", 0, "Write the script to FILE instead of standard output", 0 },
	{ 0 }
};

struct wl_cmd {
	struct cli cli;
	struct wl_space space;
	int has_index, count, list, has_seed;
	uint64_t index;
	const char *output;
};

static int parse_num(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static void check_args(struct argp_state *state, const struct wl_cmd *c)
{
	int actions = c->has_index + c->count + c->list;

	if (actions == 0)
		argp_error(state, "give --index K, --count or --list");
	if (actions > 1)
		argp_error(state, "give only one of --index, --count and --list");
	if (c->has_seed && !c->space.sample)
		argp_error(state, "--seed draws a --sample; give --sample M too");
	if (c->output && !c->has_index)
		argp_error(state, "--output is for the script of --index");
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct wl_cmd *c = state->input;
	uint64_t v;

	switch (key) {
	case OPT_SEQ:
		if (parse_num(arg, &v) || v < 1 || v > WL_MAX_SEQ)
			argp_error(state, "--seq: '%s' is not 1 or 2", arg);
		c->space.seq = (unsigned)v;
		break;
	case 'i':
		if (parse_num(arg, &c->index))
			argp_error(state, "--index: '%s' is not a number", arg);
		c->has_index = 1;
		break;
	case 'c': c->count = 1; break;
	case 'l': c->list = 1; break;
	case OPT_SAMPLE:
		if (parse_num(arg, &c->space.sample) || !c->space.sample)
			argp_error(state, "--sample: '%s' is not a positive number", arg);
		break;
	case 's':
		if (parse_num(arg, &c->space.seed))
			argp_error(state, "--seed: '%s' is not a number", arg);
		c->has_seed = 1;
		break;
	case 'o': c->output = arg; break;
	case ARGP_KEY_ARG: argp_error(state, "unexpected argument '%s'", arg); break;
	case ARGP_KEY_END: check_args(state, c); break;
	default: return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = {
	options, parse_opt, NULL,
	"Enumerate bounded crash-consistency workloads: every single operation, and "
	"every (or a seeded sample of the) pair of operations, from buffered, direct "
	"and mmap writes, fallocate modes, truncates, link, unlink, rename, mkdir and "
	"rmdir over three files in two directories, each followed by fsync, "
	"fdatasync, sync_file_range, sync or nothing.  A workload is a busybox sh "
	"script for ext4da-record whose ext4da-mark claims say what each persistence "
	"point guarantees; ext4da-crash checks them.\v"
	"Workload K is the same for the same --seq, --index and (with --sample) "
	"--seed and --sample.  Exit status: 0 done, 8 operational error (the output "
	"cannot be written), 16 usage error (an --index past --count included).",
	NULL, NULL, NULL
};

static int do_list(const struct wl_cmd *c, uint64_t n)
{
	struct wl_step steps[WL_MAX_SEQ];
	char what[512];

	for (uint64_t k = 0; k < n; k++) {
		if (wl_get(&c->space, k, steps))
			return -1;
		wl_describe(steps, c->space.seq, what, sizeof(what));
		printf("%llu\t%s\n", (unsigned long long)k, what);
	}
	return 0;
}

static int do_script(const struct wl_cmd *c, struct err *e)
{
	struct wl_step steps[WL_MAX_SEQ];
	FILE *out = stdout;
	int rc;

	if (wl_get(&c->space, c->index, steps))
		return fail(e, EXIT_OPERATIONAL, "internal error: workload %llu does not run",
			    (unsigned long long)c->index);
	if (c->output && !(out = fopen(c->output, "w")))
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	rc = wl_script(out, &c->space, c->index, steps);
	if (out != stdout && fclose(out) != 0)
		rc = -1;
	if (rc)
		return fail(e, EXIT_OPERATIONAL, "cannot write the script: %s",
			    errno ? strerror(errno) : "write error");
	return 0;
}

int main(int argc, char **argv)
{
	struct wl_cmd c = { .cli = { .tool = "ext4da-workload" }, .space = { .seq = 1, .seed = 1 } };
	struct err e = { 0 };
	uint64_t n;
	int rc = 0;

	argp_err_exit_status = EXIT_USAGE;
	argv[0] = (char *)c.cli.tool;
	argp_parse(&argp, argc, argv, 0, NULL, &c);
	n = wl_count(&c.space);
	if (c.has_index && c.index >= n) {
		fprintf(stderr, "%s: --index %llu: --seq %u has %llu workloads (0 to %llu)\n",
			c.cli.tool, (unsigned long long)c.index, c.space.seq, (unsigned long long)n,
			(unsigned long long)(n - 1));
		return EXIT_USAGE;
	}
	if (c.count)
		printf("%llu\n", (unsigned long long)n);
	else if (c.list)
		rc = do_list(&c, n);
	else
		rc = do_script(&c, &e);
	if (rc == 0 && (fflush(stdout) || ferror(stdout)))
		rc = fail(&e, EXIT_OPERATIONAL, "cannot write: %s", strerror(errno));
	return rc ? cli_fail(&c.cli, c.output ? c.output : "stdout", &e) : EXIT_CLEAN;
}
