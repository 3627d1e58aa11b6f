/* fcedit: change one byte of a fast-commit tag in an image and recompute
 * the tail checksums after it, so that the scan still accepts the area:
 * for tests of what replay does with tags that are valid but wrong (an
 * inode that does not exist, a range outside the filesystem), which a
 * plain byte flip cannot reach (the tail checksum would refuse it).
 *   fcedit IMAGE TAG OFFSET VALUE
 * TAG is the tag's index (as ext4da-replay --list -v counts), OFFSET a
 * byte offset in its value, VALUE the new byte (0-255).  Internal
 * journals only.  Exit 0, 1 on error. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/crc32c.h"
#include "lib/core/endian.h"
#include "lib/journal/fc.h"
#include "lib/blockdev/image.h"
#include "lib/journal/journal.h"

static int die(const char *msg)
{
	fprintf(stderr, "fcedit: %s\n", msg);
	return 1;
}

int main(int argc, char **argv)
{
	struct image_open_opts io = { 0 };
	struct journal_open_opts jo = { 0 };
	struct journal *j;
	struct fc_log log;
	struct err e = { 0 };
	ext2_filsys fs;
	size_t tagno, off, n;
	uint32_t crc = 0;
	uint8_t *area;
	int fd, value;

	if (argc != 5)
		return die("usage: fcedit IMAGE TAG OFFSET VALUE");
	tagno = strtoul(argv[2], NULL, 0);
	off = strtoul(argv[3], NULL, 0);
	value = atoi(argv[4]);
	if (image_open(argv[1], &io, &fs, &e) || journal_open(fs, &jo, &j, &e))
		return die(e.msg);
	if (j->external || !(j->incompat & JBD2_INCOMPAT_FAST_COMMIT))
		return die("not an internal journal with a fast-commit area");
	n = j->maxlen - j->fc_first;
	area = malloc(n * j->blocksize);
	if (!area)
		return die("out of memory");
	for (size_t b = 0; b < n; b++)
		if (journal_read(j, j->fc_first + (uint32_t)b, area + b * j->blocksize, &e))
			return die(e.msg);
	/* Parse for the head's own tid, so every tag up to the last good
	 * tail is found. */
	if (fc_parse(&log, area, (uint32_t)n, j->blocksize, le32_get(area + 8), 1 << 16) ||
	    log.verdict != FC_REPLAY)
		return die("no fast commit to edit");
	if (tagno >= log.nreplay || off >= log.tags[tagno].len)
		return die("no such tag or offset");
	((uint8_t *)log.tags[tagno].val)[off] = (uint8_t)value;
	for (size_t i = 0; i < log.nreplay; i++) {
		uint8_t *p = (uint8_t *)log.tags[i].val - FC_TL_SIZE;

		if (log.tags[i].type == FC_TAIL) {
			crc = crc32c(crc, p, FC_TL_SIZE + 4);
			le32_put(p + (FC_TL_SIZE + 4), crc);
			crc = 0;
		} else {
			crc = crc32c(crc, p, FC_TL_SIZE + log.tags[i].len);
		}
	}
	fd = open(argv[1], O_WRONLY);
	if (fd < 0)
		return die("cannot open the image for writing");
	for (size_t b = 0; b < n; b++)
		if (pwrite(fd, area + b * j->blocksize, j->blocksize,
			   (off_t)j->map[j->fc_first + b] * j->blocksize) != (ssize_t)j->blocksize)
			return die("write failed");
	close(fd);
	fc_log_free(&log);
	journal_close(j);
	image_close(fs, NULL);
	return 0;
}
