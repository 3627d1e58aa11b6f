/* interrupt.h: SIGINT and SIGTERM for tools that leave files behind while
 * they work.  The handler removes every registered file (temporary images,
 * a half-written output), stops and reaps the registered child processes,
 * and exits 32, "cancelled" in fsck(8)'s convention.  Everything it does
 * is async-signal-safe: unlink, kill, waitpid, write, _exit. */
#ifndef EXT4DA_INTERRUPT_H
#define EXT4DA_INTERRUPT_H

#include <sys/types.h>

/* Catch SIGINT and SIGTERM; tool names the message on stderr.  Safe to
 * call again in a forked worker with announce 0: it then exits quietly
 * and forgets the parent's children. */
void interrupt_install(const char *tool, int announce);

/* Remove path if a signal arrives before interrupt_forget_file(path).
 * At most INTERRUPT_MAX_FILES at a time; returns -1 when full or the path
 * is too long (the caller then simply goes without the cleanup). */
#define INTERRUPT_MAX_FILES 8
int interrupt_track_file(const char *path);
void interrupt_forget_file(const char *path);

/* fork(), with the child tracked in the parent: a signal then sends it
 * SIGTERM and reaps it.  The child starts with the handler installed,
 * quiet, and with no children of its own.  Call interrupt_forget_child
 * after reaping it. */
pid_t interrupt_fork(void);
/* The same for a command that may start processes of its own (sh -c):
 * the child leads a new process group, and the signal goes to the group. */
pid_t interrupt_fork_group(void);
void interrupt_forget_child(pid_t pid);

#endif
