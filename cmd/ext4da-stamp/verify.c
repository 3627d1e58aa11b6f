/* verify.c: ext4da-stamp verify: is every sector of a file zeros, or a
 * stamp of this very file (inode, generation) at its own offset?  Bad
 * sectors are listed in runs, so that a poisoned block is one line. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/ext4da-stamp/ops.h"
#include "lib/core/stamp.h"

#define READ_CHUNK (1024 * 1024)

/* Consecutive bad sectors of one kind, whose details continue each other. */
struct bad_run {
	int open;
	enum sector_verdict v;
	uint64_t first, last;		/* sector indexes in the file */
	struct sector_detail d_first, d_last;
};

struct verify_tally {
	uint64_t sectors, zero, stamped, bad;
	struct bad_run run;
};

static int run_continues(const struct bad_run *r, enum sector_verdict v,
			 const struct sector_detail *d, uint64_t idx)
{
	const struct stamp *a = &r->d_last.stamp, *b = &d->stamp;

	if (!r->open || r->v != v || idx != r->last + 1)
		return 0;
	switch (v) {
	case SECTOR_POISON:
		return d->sector_no == r->d_last.sector_no + 1;
	case SECTOR_FOREIGN_STAMP:
		return a->ino == b->ino && a->gen == b->gen && a->write_gen == b->write_gen &&
		       b->file_offset == a->file_offset + SECTOR_SIZE;
	case SECTOR_CORRUPT_STAMP:
		return d->poison == r->d_last.poison;
	default:
		return 1;
	}
}

static void describe_range(char *buf, size_t len, const char *what, uint64_t a, uint64_t b)
{
	if (a == b)
		snprintf(buf, len, "%s %llu", what, (unsigned long long)a);
	else
		snprintf(buf, len, "%ss %llu-%llu", what, (unsigned long long)a,
			 (unsigned long long)b);
}

static void describe(const struct bad_run *r, char *buf, size_t len)
{
	const struct sector_detail *d = &r->d_first;
	char range[96];

	switch (r->v) {
	case SECTOR_POISON:
		describe_range(range, sizeof(range), "device sector", d->sector_no,
			       r->d_last.sector_no);
		snprintf(buf, len, "poison, never written (%s)", range);
		break;
	case SECTOR_FOREIGN_STAMP:
		snprintf(buf, len,
			 "stamp of another file or place: inode %llu generation %u at file "
			 "offset %llu, write generation %llu",
			 (unsigned long long)d->stamp.ino, d->stamp.gen,
			 (unsigned long long)d->stamp.file_offset,
			 (unsigned long long)d->stamp.write_gen);
		break;
	case SECTOR_CORRUPT_STAMP:
		if (d->poison)
			snprintf(buf, len, "torn poison of device sector %llu",
				 (unsigned long long)d->sector_no);
		else
			snprintf(buf, len, "corrupt stamp: crc 0x%08x, its bytes give 0x%08x",
				 d->stamp.crc, d->crc_computed);
		break;
	default:
		snprintf(buf, len, "data not written by ext4da-stamp");
		break;
	}
}

static void print_run(const char *path, const struct bad_run *r)
{
	char what[512], where[128];

	describe(r, what, sizeof(what));
	if (r->first == r->last)
		snprintf(where, sizeof(where), "sector %llu (byte %llu)",
			 (unsigned long long)r->first,
			 (unsigned long long)(r->first * SECTOR_SIZE));
	else
		snprintf(where, sizeof(where), "sectors %llu-%llu (bytes %llu-%llu)",
			 (unsigned long long)r->first, (unsigned long long)r->last,
			 (unsigned long long)(r->first * SECTOR_SIZE),
			 (unsigned long long)((r->last + 1) * SECTOR_SIZE - 1));
	printf("%s: %s: %s\n", path, where, what);
}

static void tally_sector(const char *path, struct verify_tally *t, enum sector_verdict v,
			 const struct sector_detail *d)
{
	uint64_t idx = t->sectors++;

	if (v == SECTOR_ZERO) {
		t->zero++;
	} else if (v == SECTOR_STAMP_OK) {
		t->stamped++;
	} else {
		t->bad++;
		if (run_continues(&t->run, v, d, idx)) {
			t->run.last = idx;
			t->run.d_last = *d;
			return;
		}
	}
	if (t->run.open)
		print_run(path, &t->run);
	t->run.open = 0;
	if (sector_verdict_is_good(v))
		return;
	t->run = (struct bad_run){ .open = 1, .v = v, .first = idx, .last = idx,
				   .d_first = *d, .d_last = *d };
}

/* A short last sector (size not a multiple of 512) is judged as if the
 * rest of it were zeros: that is what lies past EOF on disk. */
static int verify_chunks(const char *path, int fd, const struct file_id *id,
			 struct verify_tally *t, struct err *e)
{
	uint8_t *buf = malloc(READ_CHUNK);
	uint64_t off = 0;

	if (!buf)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	for (;;) {
		ssize_t n = read_full(fd, buf, READ_CHUNK, off);
		struct sector_detail d;

		if (n < 0) {
			guest_fail(e, EXIT_OPERATIONAL, "read at byte %llu failed: %s",
				   (unsigned long long)off, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		memset(buf + n, 0, (SECTOR_SIZE - (size_t)n % SECTOR_SIZE) % SECTOR_SIZE);
		for (size_t at = 0; at < (size_t)n; at += SECTOR_SIZE) {
			enum sector_verdict v = sector_classify(buf + at, id->ino, id->gen,
								off + at, &d);

			tally_sector(path, t, v, &d);
		}
		off += (uint64_t)n;
	}
	free(buf);
	if (t->run.open)
		print_run(path, &t->run);
	return 0;
}

int op_verify(const struct stamp_cmd *c, const char **input, struct err *e)
{
	struct verify_tally t = { 0 };
	struct file_id id;
	int fd;

	*input = c->path;
	/* O_NONBLOCK: a FIFO must not wait for a writer (file_identify then
	 * refuses anything but a regular file). */
	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (fcntl(fd, F_SETFL, 0) != 0) {
		close(fd);
		return guest_fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	}
	if (file_identify(fd, &id, e) || verify_chunks(c->path, fd, &id, &t, e)) {
		close(fd);
		return -1;
	}
	close(fd);
	if (!c->cli.quiet)
		printf("verify %s ino=%llu igen=%u size=%llu sectors=%llu zero=%llu stamped=%llu "
		       "bad=%llu %s\n",
		       c->path, (unsigned long long)id.ino, id.gen, (unsigned long long)id.size,
		       (unsigned long long)t.sectors, (unsigned long long)t.zero,
		       (unsigned long long)t.stamped, (unsigned long long)t.bad,
		       t.bad ? "FAILED" : "ok");
	return t.bad ? EXIT_PROBLEMS : EXIT_CLEAN;
}
