/* error.h: errors as values.  Library calls return 0 or -1 and leave one
 * human-readable line (without the program and input prefix) in a struct err,
 * plus the fsck(8) exit class the front-end should use. */
#ifndef EXT4DA_ERROR_H
#define EXT4DA_ERROR_H

enum exit_code {
	EXIT_CLEAN = 0,
	EXIT_FIXED = 1,
	EXIT_PROBLEMS = 4,
	EXIT_OPERATIONAL = 8,
	EXIT_USAGE = 16,
	EXIT_CANCELLED = 32,	/* stopped by SIGINT or SIGTERM */
};

struct err {
	int exit_code;
	char msg[512];
};

/* Record a failure and return -1, so callers can `return fail(e, ...)`. */
int fail(struct err *e, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Describe a libext2fs error code (via com_err's tables). */
const char *errcode_text(long code);

#endif
