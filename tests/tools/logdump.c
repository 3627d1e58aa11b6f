/* logdump: print a dm-log-writes log as the write-log reader sees it, for
 * the tests.  Owns only presentation and the test-side replay:
 *   logdump [--json] [--device-size BYTES] LOG   the super and every entry
 *   logdump --data K LOG                          entry K's payload, raw
 *   logdump --apply BASE LOG                      replay every valid entry
 *                                                 onto BASE (discards zero)
 * Exit 0, 8 on bad input (one line "logdump: INPUT: problem"), 16 on
 * usage errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/fdio.h"
#include "lib/crash/writelog.h"

#define CHUNK (1u << 20)

struct opts {
	const char *log, *apply_base;
	int json, data;
	uint64_t data_entry, device_size, limit;
	int has_device_size;
};

static void usage(void)
{
	fprintf(stderr, "usage: logdump [--json] [--device-size BYTES] LOG\n"
			"       logdump --data K LOG\n"
			"       logdump --apply BASE [--limit N] LOG\n");
	exit(EXIT_USAGE);
}

static uint64_t parse_u64(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		usage();
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "data", required_argument, NULL, 'd' },
		{ "apply", required_argument, NULL, 'a' },
		{ "device-size", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'j')
			o->json = 1;
		else if (c == 'd')
			o->data = 1, o->data_entry = parse_u64(optarg);
		else if (c == 'a')
			o->apply_base = optarg;
		else if (c == 's')
			o->has_device_size = 1, o->device_size = parse_u64(optarg);
		else if (c == 'l')
			o->limit = parse_u64(optarg);
		else
			usage();
	}
	if (optind + 1 != argc || o->json + o->data + !!o->apply_base > 1)
		usage();
	o->log = argv[optind];
}

static int bad(const char *input, const struct err *e)
{
	fprintf(stderr, "logdump: %s: %s\n", input, e->msg);
	return e->exit_code;
}

/* ---- text and JSON --------------------------------------------------- */

/* Mark text and reasons on one line: bytes outside printable ASCII (and
 * backslash) as \xNN. */
static void put_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void print_text(const struct wl_index *idx)
{
	char names[96];

	printf("magic: ok\nversion: %d\nsector_size: %u\n", WL_VERSION, idx->sector_size);
	printf("nr_entries_super: %" PRIu64 "\nvalid_entries: %" PRIu64 "\nextra_entries: %" PRIu64 "\n",
	       idx->nr_super, idx->nr, idx->nr_extra);
	printf("end: ");
	put_escaped(idx->end_reason);
	putchar('\n');
	for (uint64_t i = 0; i < idx->nr; i++) {
		const struct wl_entry *en = &idx->entries[i];

		printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " 0x%" PRIx64 "(%s)", en->index, en->sector,
		       en->nr_sectors, en->flags, wl_flag_names(en->flags, names, sizeof(names)));
		if (en->mark) {
			putchar(' ');
			put_escaped(en->mark);
		}
		putchar('\n');
	}
}

static void put_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			printf("\\u%04x", c); /* bytes as code points: lossless, ASCII out */
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json_entry(const struct wl_entry *en)
{
	char names[96];

	printf("{\"index\":%" PRIu64 ",\"sector\":%" PRIu64 ",\"nr_sectors\":%" PRIu64
	       ",\"flags\":%" PRIu64 ",\"flag_names\":",
	       en->index, en->sector, en->nr_sectors, en->flags);
	put_json_string(wl_flag_names(en->flags, names, sizeof(names)));
	printf(",\"data_len\":%" PRIu64 ",\"offset\":%" PRIu64 ",\"data_offset\":%" PRIu64
	       ",\"payload_len\":%" PRIu64,
	       en->data_len, en->offset, en->data_offset, en->payload_len);
	if (en->mark) {
		printf(",\"mark\":");
		put_json_string(en->mark);
	}
	putchar('}');
}

static void print_json(const struct wl_index *idx, const char *log)
{
	printf("{\"log\":");
	put_json_string(log);
	printf(",\"sector_size\":%u,\"nr_entries_super\":%" PRIu64 ",\"valid_entries\":%" PRIu64
	       ",\"extra_entries\":%" PRIu64 ",\"end\":",
	       idx->sector_size, idx->nr_super, idx->nr, idx->nr_extra);
	put_json_string(idx->end_reason);
	printf(",\"entries\":[");
	for (uint64_t i = 0; i < idx->nr; i++) {
		printf(i ? ",\n" : "\n");
		print_json_entry(&idx->entries[i]);
	}
	printf("\n]}\n");
}

/* ---- payloads -------------------------------------------------------- */

static int dump_data(struct writelog *wl, const struct wl_index *idx, uint64_t k, const char *log)
{
	static char buf[CHUNK];
	const struct wl_entry *en;
	struct err e = { 0 };

	if (k >= idx->nr) {
		fprintf(stderr, "logdump: %s: no entry %" PRIu64 " (the log has %" PRIu64 ")\n", log, k,
			idx->nr);
		return EXIT_USAGE;
	}
	en = &idx->entries[k];
	for (uint64_t off = 0; off < en->payload_len; off += CHUNK) {
		size_t n = en->payload_len - off < CHUNK ? (size_t)(en->payload_len - off) : CHUNK;

		if (writelog_read_data(wl, en, off, buf, n, &e))
			return bad(log, &e);
		if (fwrite(buf, 1, n, stdout) != n)
			return EXIT_OPERATIONAL;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off, struct err *e)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(e, EXIT_OPERATIONAL, "write at byte %" PRIu64 ": %s", off,
				    n < 0 ? strerror(errno) : "no progress");
		buf = (const char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Copy ENT's payload (or zeros, for a discard) to its place on the device. */
static int apply_entry(struct writelog *wl, const struct wl_entry *en, int fd, uint32_t ss,
		       struct err *log_e, struct err *dev_e)
{
	static char buf[CHUNK];
	uint64_t bytes = en->nr_sectors * ss, dst = en->sector * ss;
	int discard = (en->flags & WL_DISCARD) != 0;

	if (en->flags & WL_MARK)
		return 0;
	if (discard)
		memset(buf, 0, sizeof(buf));
	for (uint64_t off = 0; off < bytes; off += CHUNK) {
		size_t n = bytes - off < CHUNK ? (size_t)(bytes - off) : CHUNK;

		if (!discard && writelog_read_data(wl, en, off, buf, n, log_e))
			return 1;
		if (write_all(fd, buf, n, dst + off, dev_e))
			return 2;
	}
	return 0;
}

static int device_bytes(int fd, uint64_t *size, struct err *e)
{
	if (fd_size_bytes(fd, size) == 0)
		return 0;
	return fail(e, EXIT_OPERATIONAL, "%s", errno == ENOTBLK ? "is not a regular file or block device"
								 : strerror(errno));
}

/* --limit N: apply only entries 0..N-1, as replay-log --limit does. */
static uint64_t apply_limit;

static int apply(struct writelog *wl, const struct wl_index *idx, const char *base, const char *log)
{
	uint64_t n = apply_limit && apply_limit < idx->nr ? apply_limit : idx->nr;
	struct err le = { 0 }, de = { 0 };
	uint64_t size;
	int fd = open(base, O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0) {
		fail(&de, EXIT_OPERATIONAL, "%s", strerror(errno));
		return bad(base, &de);
	}
	if (device_bytes(fd, &size, &de))
		rc = bad(base, &de);
	else if (writelog_check_device(idx, size, &le))
		rc = bad(log, &le);
	for (uint64_t i = 0; !rc && i < n; i++) {
		int r = apply_entry(wl, &idx->entries[i], fd, idx->sector_size, &le, &de);

		if (r)
			rc = r == 1 ? bad(log, &le) : bad(base, &de);
	}
	if (!rc && fsync(fd) != 0 && errno != EINVAL) {
		fail(&de, EXIT_OPERATIONAL, "fsync: %s", strerror(errno));
		rc = bad(base, &de);
	}
	close(fd);
	if (!rc)
		printf("applied %" PRIu64 " entries to %s\n", n, base);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct writelog *wl;
	struct wl_index idx;
	struct err e = { 0 };
	int rc = 0;

	parse_args(argc, argv, &o);
	apply_limit = o.limit;
	if (writelog_open(o.log, &wl, &e))
		return bad(o.log, &e);
	if (writelog_scan(wl, &idx, &e) ||
	    (o.has_device_size && writelog_check_device(&idx, o.device_size, &e)))
		rc = bad(o.log, &e);
	else if (o.data)
		rc = dump_data(wl, &idx, o.data_entry, o.log);
	else if (o.apply_base)
		rc = apply(wl, &idx, o.apply_base, o.log);
	else if (o.json)
		print_json(&idx, o.log);
	else
		print_text(&idx);
	wl_index_free(&idx);
	writelog_close(wl);
	if (!rc && fflush(stdout) != 0)
		rc = EXIT_OPERATIONAL;
	return rc;
}
