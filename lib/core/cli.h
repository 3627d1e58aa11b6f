/* cli.h: what every ext4da front-end shares: error lines in the
 * "ext4da-TOOL: INPUT: problem" form, verbosity and progress on stderr. */
#ifndef EXT4DA_CLI_H
#define EXT4DA_CLI_H

#include <stdint.h>

#include "lib/core/error.h"

struct cli {
	const char *tool;	/* program name for messages */
	int verbose, quiet, json;
	int progress;		/* -1 auto (stderr is a terminal), 0 off, 1 on */
};

/* The options every reporting tool shares (--json, -v, -q, --progress,
 * --no-progress), as an argp child whose input is the tool's struct cli:
 * set state->child_inputs[0] to it on ARGP_KEY_INIT. */
struct argp;
extern const struct argp cli_common_argp;

/* Print "tool: input: msg" on stderr and return e's exit code. */
int cli_fail(const struct cli *c, const char *input, const struct err *e);
void cli_warn(const struct cli *c, const char *input, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Progress line: cheap to call often, draws at most ~10 times a second,
 * with the rate, the time left and the failures so far.  On a terminal it
 * waits a second before drawing anything (a short job shows nothing) and
 * clears itself at the end; --progress draws from the start, and ends
 * with a newline when stderr is not a terminal. */
struct progress {
	const struct cli *cli;
	const char *label;
	uint64_t total;
	int on, forced, tty, drawn;
	uint64_t start_ms, last_ms;
	uint64_t done, failed;
};
void progress_start(struct progress *p, const struct cli *c, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p);
/* Failures so far, shown from the next update on. */
void progress_failed(struct progress *p, uint64_t failed);

#endif
