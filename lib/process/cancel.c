/* cancel.c: stopping on SIGINT or SIGTERM without leaving a half-written
 * file or an inconsistent undo file behind (see cancel.h). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/process/cancel.h"

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t deferred;
static const char *volatile remove_path;
static const char *tool_name = "ext4da";
static const char *input_name = "";
static long test_cancel_at = -1;
static int test_signal = SIGINT;
static long points;

static const char *signal_name(int sig)
{
	return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}

/* Only async-signal-safe calls here: write, unlink, _exit. */
static void put(const char *s)
{
	ssize_t n = write(STDERR_FILENO, s, strlen(s));

	(void)n;
}

static void on_signal(int sig)
{
	const char *path = remove_path;

	got_signal = sig;
	if (deferred)
		return;
	if (path)
		unlink(path);
	put(tool_name);
	put(": ");
	put(input_name);
	put(": cancelled by ");
	put(signal_name(sig));
	put(path ? "; the partial output was removed\n" : "\n");
	_exit(EXIT_CANCELLED);
}

void cancel_init(const char *tool, const char *input)
{
	struct sigaction sa;
	const char *at = getenv("EXT4DA_TEST_CANCEL_AT");
	const char *which = getenv("EXT4DA_TEST_CANCEL_SIGNAL");

	tool_name = tool;
	input_name = input ? input : "";
	if (at && *at)
		test_cancel_at = strtol(at, NULL, 10);
	if (which && strcmp(which, "TERM") == 0)
		test_signal = SIGTERM;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void cancel_remove_on_exit(const char *path)
{
	remove_path = path;
}

void cancel_defer(void)
{
	deferred = 1;
}

void cancel_undefer(void)
{
	deferred = 0;
}

int cancel_point(void)
{
	if (test_cancel_at >= 0 && ++points == test_cancel_at)
		raise(test_signal);
	return got_signal != 0;
}

int cancel_signal(void)
{
	return got_signal;
}

int cancel_fail(struct err *e, const char *then)
{
	return fail(e, EXIT_CANCELLED, "cancelled by %s%s%s", signal_name(got_signal),
		    then && *then ? "; " : "", then ? then : "");
}
