/* error.c: filling struct err. */
#include <stdarg.h>
#include <stdio.h>

#include <et/com_err.h>
#include <ext2fs/ext2fs.h>

#include "lib/error.h"

int fail(struct err *e, int exit_code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->exit_code = exit_code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
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
