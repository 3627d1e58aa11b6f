/* cancel.h: SIGINT and SIGTERM for ext4da-replay and ext4da-check, which
 * write.  Outside a write the handler removes the registered temporary
 * file and exits 32 at once: there is nothing else to undo.  Inside one
 * (cancel_defer) it only records the request, and the writer stops at its
 * next cancel_point(), leaves the image and any undo file consistent, and
 * exits 32 itself.
 *
 * For tests, EXT4DA_TEST_CANCEL_AT=N makes the Nth cancel_point() raise
 * SIGINT itself (and EXT4DA_TEST_CANCEL_SIGNAL=TERM SIGTERM), so that a
 * signal can be delivered at an exact point of the work. */
#ifndef EXT4DA_CANCEL_H
#define EXT4DA_CANCEL_H

#include "lib/core/error.h"

/* Install the handlers; messages read "TOOL: INPUT: cancelled by SIGINT". */
void cancel_init(const char *tool, const char *input);

/* A file the handler removes when it exits at once (NULL: none).  The
 * string must live until it is replaced. */
void cancel_remove_on_exit(const char *path);

/* Enter and leave a write: signals are only recorded in between. */
void cancel_defer(void);
void cancel_undefer(void);

/* Has a signal been recorded?  Also where the test hook fires. */
int cancel_point(void);

/* The signal recorded (SIGINT or SIGTERM), 0 if none. */
int cancel_signal(void);

/* fail() with EXIT_CANCELLED and "cancelled by SIGINT" and then what. */
int cancel_fail(struct err *e, const char *then);

#endif
