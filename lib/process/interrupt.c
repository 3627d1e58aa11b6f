/* interrupt.c: cleanup on SIGINT and SIGTERM (interrupt.h).  The tables are
 * changed with the two signals blocked, so the handler never sees half an
 * entry; it runs with them blocked too, so it runs once. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/error.h"
#include "lib/process/interrupt.h"

#define MAX_PATH 1024
#define MAX_CHILDREN 300

static char files[INTERRUPT_MAX_FILES][MAX_PATH];
static pid_t children[MAX_CHILDREN];
static char child_group[MAX_CHILDREN];	/* the child leads its own process group */
static const char *tool_name = "ext4da";
static int announce_cancel;

static void block(sigset_t *old)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigprocmask(SIG_BLOCK, &s, old);
}

static void unblock(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

static void say(const char *s)
{
	ssize_t rc = write(STDERR_FILENO, s, strlen(s));

	(void)rc;
}

static void on_signal(int sig)
{
	(void)sig;
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0)
			kill(child_group[i] ? -children[i] : children[i], SIGTERM);
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0)
			while (waitpid(children[i], NULL, 0) < 0 && errno == EINTR)
				;
	for (int i = 0; i < INTERRUPT_MAX_FILES; i++)
		if (files[i][0])
			unlink(files[i]);
	if (announce_cancel) {
		say(tool_name);
		say(": interrupted; temporary files removed\n");
	}
	_exit(EXIT_CANCELLED);
}

void interrupt_install(const char *tool, int announce)
{
	struct sigaction sa;
	sigset_t old;

	block(&old);
	tool_name = tool;
	announce_cancel = announce;
	if (!announce)
		memset(children, 0, sizeof(children));	/* a worker: not its children */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	unblock(&old);
}

int interrupt_track_file(const char *path)
{
	size_t len = strlen(path);
	sigset_t old;
	int rc = -1;

	if (len >= MAX_PATH)
		return -1;
	block(&old);
	for (int i = 0; i < INTERRUPT_MAX_FILES && rc; i++)
		if (!files[i][0]) {
			memcpy(files[i], path, len + 1);
			rc = 0;
		}
	unblock(&old);
	return rc;
}

void interrupt_forget_file(const char *path)
{
	sigset_t old;

	block(&old);
	for (int i = 0; i < INTERRUPT_MAX_FILES; i++)
		if (files[i][0] && !strcmp(files[i], path)) {
			files[i][0] = 0;
			break;
		}
	unblock(&old);
}

static int track_child(pid_t pid, int group)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] <= 0) {
			children[i] = pid;
			child_group[i] = (char)group;
			return 0;
		}
	return -1;
}

static pid_t fork_tracked(int group)
{
	sigset_t old;
	pid_t pid;

	block(&old);
	pid = fork();
	if (pid == 0) {
		memset(children, 0, sizeof(children));
		announce_cancel = 0;
		if (group)
			setpgid(0, 0);
	} else if (pid > 0) {
		if (group)
			setpgid(pid, pid);	/* whichever of the two runs first */
		track_child(pid, group);	/* full: the child simply goes unreaped */
	}
	unblock(&old);
	return pid;
}

pid_t interrupt_fork(void)
{
	return fork_tracked(0);
}

pid_t interrupt_fork_group(void)
{
	return fork_tracked(1);
}

void interrupt_forget_child(pid_t pid)
{
	sigset_t old;

	block(&old);
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid) {
			children[i] = 0;
			break;
		}
	unblock(&old);
}
