/* cli.c: see cli.h. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "lib/cli.h"

int cli_fail(const struct cli *c, const char *input, const struct err *e)
{
	if (input)
		fprintf(stderr, "%s: %s: %s\n", c->tool, input, e->msg);
	else
		fprintf(stderr, "%s: %s\n", c->tool, e->msg);
	return e->exit_code ? e->exit_code : EXIT_OPERATIONAL;
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
	p->cli = c;
	p->label = label;
	p->total = total;
	p->last_ms = 0;
	p->on = c->progress > 0 || (c->progress < 0 && !c->quiet && isatty(STDERR_FILENO));
}

void progress_update(struct progress *p, uint64_t done)
{
	uint64_t t;
	unsigned pct;

	if (!p->on || !p->total)
		return;
	t = now_ms();
	if (t - p->last_ms < 100 && done < p->total)
		return;
	p->last_ms = t;
	pct = (unsigned)(done * 100 / p->total);
	fprintf(stderr, "\r%s: %-10s %3u%% (%llu/%llu)", p->cli->tool, p->label, pct,
		(unsigned long long)done, (unsigned long long)p->total);
	fflush(stderr);
}

void progress_end(struct progress *p)
{
	if (p->on && p->total) {
		progress_update(p, p->total);
		fputc('\n', stderr);
	}
	p->on = 0;
}
