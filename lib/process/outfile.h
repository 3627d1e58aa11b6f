/* outfile.h: output files that appear whole or not at all.  The content is
 * written to a temporary file in the same directory (removed by the
 * SIGINT/SIGTERM handler of lib/process/interrupt.c), fsynced, and only then given
 * its final name, so an interrupted run, even one killed outright, never
 * leaves a partial file under that name (design.md §4). */
#ifndef EXT4DA_OUTFILE_H
#define EXT4DA_OUTFILE_H

#include <stddef.h>

#include "lib/core/error.h"

/* Create a temporary file beside path; its name goes to tmp.  Returns an
 * fd open for writing, or -1 with e set. */
int outfile_temp(const char *path, char *tmp, size_t len, struct err *e);
/* fsync and close fd (if >= 0), then give tmp the name path: an existing
 * path is replaced only if replace, else it is an error and tmp is
 * removed. */
int outfile_publish(int fd, const char *tmp, const char *path, int replace, struct err *e);
/* Give up: close fd (if >= 0) and remove tmp. */
void outfile_discard(int fd, const char *tmp);
/* The whole of text as file path, by the steps above. */
int outfile_write_text(const char *path, const char *text, size_t len, int replace,
		       struct err *e);

#endif
