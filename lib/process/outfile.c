/* outfile.c: see outfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/process/interrupt.h"
#include "lib/process/outfile.h"

int outfile_temp(const char *path, char *tmp, size_t len, struct err *e)
{
	char *d = strdup(path), *b = strdup(path);
	int fd = -1;

	if (!d || !b) {
		fail(e, EXIT_OPERATIONAL, "out of memory");
	} else if ((size_t)snprintf(tmp, len, "%s/.%s.XXXXXX", dirname(d), basename(b)) >= len) {
		fail(e, EXIT_OPERATIONAL, "%s: name too long", path);
	} else if ((fd = mkstemp(tmp)) < 0) {
		fail(e, EXIT_OPERATIONAL, "%s: %s", path, strerror(errno));
	} else {
		interrupt_track_file(tmp);
	}
	free(d);
	free(b);
	return fd;
}

/* Make the new name durable too. */
static void sync_dir(const char *path)
{
	char *d = strdup(path);
	int fd = d ? open(dirname(d), O_RDONLY | O_DIRECTORY) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(d);
}

int outfile_publish(int fd, const char *tmp, const char *path, int replace, struct err *e)
{
	int rc = 0;

	if (fd >= 0) {
		int bad = fsync(fd) != 0;

		bad |= close(fd) != 0;
		if (bad)
			rc = fail(e, EXIT_OPERATIONAL, "%s: %s", path, strerror(errno));
	}
	if (rc == 0 && (replace ? rename(tmp, path) != 0 : link(tmp, path) != 0))
		rc = fail(e, EXIT_OPERATIONAL, "%s: %s", path,
			  errno == EEXIST ? "already exists; remove it first" : strerror(errno));
	if (rc == 0)
		sync_dir(path);
	if (rc != 0 || !replace)
		unlink(tmp);
	interrupt_forget_file(tmp);
	return rc;
}

void outfile_discard(int fd, const char *tmp)
{
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	interrupt_forget_file(tmp);
}

int outfile_write_text(const char *path, const char *text, size_t len, int replace,
		       struct err *e)
{
	char tmp[4200];
	int fd = outfile_temp(path, tmp, sizeof(tmp), e);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			outfile_discard(fd, tmp);
			return fail(e, EXIT_OPERATIONAL, "%s: %s", path, strerror(errno));
		}
		done += (size_t)n;
	}
	return outfile_publish(fd, tmp, path, replace, e);
}
