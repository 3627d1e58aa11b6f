/* error.c: filling struct err. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <et/com_err.h>
#include <ext2fs/ext2fs.h>

#include "lib/core/error.h"

int fail(struct err *e, int exit_code, const char *fmt, ...)
{
	char msg[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return -1;
	/* Format first: callers may pass e->msg itself to add context. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->exit_code = exit_code;
	memcpy(e->msg, msg, sizeof(msg));
	return -1;
}

const char *errcode_text(long code)
{
	static int tables_loaded;

	if (!tables_loaded) {
		initialize_ext2_error_table();
		tables_loaded = 1;
	}
	return error_message(code);
}
