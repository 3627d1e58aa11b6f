/* cli.c: see cli.h. */
#include <argp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/cli.h"

enum { OPT_JSON = 0x1000, OPT_PROGRESS, OPT_NO_PROGRESS };

static const struct argp_option common_options[] = {
	{ "json", OPT_JSON, 0, 0, "Print JSON (the tool's page gives the schema)", 0 },
	{ "verbose", 'v', 0, 0, "More detail", 0 },
	{ "quiet", 'q', 0, 0, "Print only errors", 0 },
	{ "progress", OPT_PROGRESS, 0, 0, "Show progress on stderr even when it is not a terminal", 0 },
	{ "no-progress", OPT_NO_PROGRESS, 0, 0, "Never show progress", 0 },
	{ 0 }
};

static error_t parse_common(int key, char *arg, struct argp_state *state)
{
	struct cli *c = state->input;

	(void)arg;
	switch (key) {
	case OPT_JSON: c->json = 1; break;
	case 'v': c->verbose++; break;
	case 'q': c->quiet = 1; break;
	case OPT_PROGRESS: c->progress = 1; break;
	case OPT_NO_PROGRESS: c->progress = 0; break;
	default: return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp cli_common_argp = { common_options, parse_common, NULL, NULL, NULL, NULL, NULL };

/* s as a JSON string (this file links into the guest helpers, which
 * carry no json-c). */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* Under --json a consumer reads stdout only: the error goes there too. */
static void json_error(const struct cli *c, const char *input, const struct err *e, int code)
{
	printf("{\"schema\":\"ext4da-error/1\",\"type\":\"error\",\"tool\":");
	json_string(stdout, c->tool);
	printf(",\"input\":");
	if (input)
		json_string(stdout, input);
	else
		printf("null");
	printf(",\"error\":");
	json_string(stdout, e->msg);
	printf(",\"exit\":%d}\n", code);
	fflush(stdout);
}

int cli_fail(const struct cli *c, const char *input, const struct err *e)
{
	int code = e->exit_code ? e->exit_code : EXIT_OPERATIONAL;

	if (input)
		fprintf(stderr, "%s: %s: %s\n", c->tool, input, e->msg);
	else
		fprintf(stderr, "%s: %s\n", c->tool, e->msg);
	if (c->json)
		json_error(c, input, e, code);
	return code;
}

void cli_warn(const struct cli *c, const char *input, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", c->tool, input);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void progress_start(struct progress *p, const struct cli *c, const char *label, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->cli = c;
	p->label = label;
	p->total = total;
	p->tty = isatty(STDERR_FILENO);
	p->forced = c->progress > 0;
	p->on = p->forced || (c->progress < 0 && !c->quiet && p->tty);
	p->start_ms = now_ms();
}

static void draw(struct progress *p, uint64_t t)
{
	uint64_t ms = t - p->start_ms, left;
	double rate = ms ? (double)p->done * 1000.0 / (double)ms : 0;
	char eta[32] = "?", failed[48] = "";

	if (rate > 0) {
		left = (uint64_t)((double)(p->total - p->done) / rate);
		snprintf(eta, sizeof(eta), "%llu:%02llu", (unsigned long long)(left / 60),
			 (unsigned long long)(left % 60));
	}
	if (p->failed)
		snprintf(failed, sizeof(failed), ", %llu failed", (unsigned long long)p->failed);
	fprintf(stderr, "\r%s: %-10s %3u%% (%llu/%llu), %.1f/s, ETA %s%s%s", p->cli->tool, p->label,
		(unsigned)(p->done * 100 / p->total), (unsigned long long)p->done,
		(unsigned long long)p->total, rate, eta, failed, p->tty ? "\033[K" : "  ");
	fflush(stderr);
	p->drawn = 1;
}

void progress_update(struct progress *p, uint64_t done)
{
	uint64_t t;

	if (!p->on || !p->total)
		return;
	p->done = done;
	t = now_ms();
	if (!p->forced && t - p->start_ms < 1000)
		return;		/* a job under a second shows nothing */
	if (t - p->last_ms < 100 && done < p->total)
		return;
	p->last_ms = t;
	draw(p, t);
}

void progress_failed(struct progress *p, uint64_t failed)
{
	p->failed = failed;
}

void progress_end(struct progress *p)
{
	if (p->on && p->total && p->forced) {
		p->done = p->total;	/* the job is done, whatever was last counted */
		draw(p, now_ms());	/* the final count, for logs */
	}
	if (p->drawn)
		fputs(p->tty ? "\r\033[K" : "\n", stderr);
	fflush(stderr);
	p->on = 0;
}
