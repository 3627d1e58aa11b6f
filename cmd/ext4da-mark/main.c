/* ext4da-mark: a guest helper that puts a mark, optionally a durability
 * mark, into the block-write log by writing a record into the mark area at
 * the end of the device (SPEC section 7, lib/mark.h); and lists the records
 * of an area.  The command line and the two actions. */
#include "config.h"

#include <argp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/ext4da-mark/mark_cmd.h"

const char *argp_program_version = "ext4da-mark " PACKAGE_VERSION;
const char *argp_program_bug_address = PACKAGE_BUGREPORT;

#define DEFAULT_DEVICE "/dev/vda"

enum { OPT_SEQ = 256, OPT_DUMP };

static const struct argp_option options[] = {
	{ "device", 'd', "DEV", 0, "The device whose last MiB is the mark area (default "
				   DEFAULT_DEVICE ")", 0 },
	{ "durable", 'D', "PATH", 0, "fsync PATH and its directory, and record its inode, "
				     "size and crc32c in the mark (up to 15 times)", 0 },
	{ "seq", OPT_SEQ, "N", 0, "Use sequence number N (default: one more than the "
				  "highest in the area)", 0 },
	{ "dump", OPT_DUMP, 0, 0, "List the valid records of the mark area and write nothing", 0 },
	{ "quiet", 'q', 0, 0, "Print only errors", 0 },
	{ 0 }
};

struct mark_cmd {
	struct cli cli;
	const char *device;
	const char *name;
	const char *durable[MARK_MAX_ENTRIES];
	unsigned ndurable;
	uint64_t seq;		/* 0: next in the area */
	int dump;
	const char *positional;
};

static void add_durable(struct argp_state *state, struct mark_cmd *cmd, const char *path)
{
	if (cmd->ndurable == MARK_MAX_ENTRIES)
		argp_error(state, "at most %u --durable files per mark; use several marks",
			   MARK_MAX_ENTRIES);
	if (!*path)
		argp_error(state, "--durable: empty path");
	cmd->durable[cmd->ndurable++] = path;
}

/* In --dump mode the one positional argument is DEV; otherwise NAME. */
static void check_args(struct argp_state *state, struct mark_cmd *cmd)
{
	if (cmd->dump) {
		if (cmd->ndurable || cmd->seq)
			argp_error(state, "--dump writes nothing: drop --durable and --seq");
		if (cmd->positional)
			cmd->device = cmd->positional;
		return;
	}
	if (!cmd->positional)
		argp_error(state, "no NAME given");
	cmd->name = cmd->positional;
	if (!mark_name_valid(cmd->name))
		argp_error(state, "NAME '%s' must be 1 to %u printable characters without spaces",
			   cmd->name, MARK_NAME_MAX);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct mark_cmd *cmd = state->input;

	switch (key) {
	case 'd': cmd->device = arg; break;
	case 'D': add_durable(state, cmd, arg); break;
	case 'q': cmd->cli.quiet = 1; break;
	case OPT_DUMP: cmd->dump = 1; break;
	case OPT_SEQ:
		if (parse_u64(arg, &cmd->seq) || cmd->seq == 0)
			argp_error(state, "--seq: '%s' is not a sequence number (1 or more)", arg);
		break;
	case ARGP_KEY_ARG:
		if (cmd->positional)
			argp_error(state, "only one argument, please (got '%s' too)", arg);
		cmd->positional = arg;
		break;
	case ARGP_KEY_END: check_args(state, cmd); break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = {
	options, parse_opt,
	"NAME\n--dump [DEV]",
	"Put a mark into the block-write log of a recorded workload, by writing a "
	"record into the mark area (the last MiB) of the device.\v"
	"With --durable, the mark also says which files fsync made durable, and "
	"what they held: ext4da-crash checks them at every later crash point. The "
	"record is written with O_DIRECT|O_DSYNC into slot SEQ % 256 of the area, "
	"and never anywhere else. Exit status: 0 done, 4 --dump found damaged "
	"records, 8 operational error, 16 usage error.",
	NULL, NULL, NULL
};

/* --- output ------------------------------------------------------------------- */

static const char *kind_name(enum mark_kind k)
{
	return k == MARK_DURABLE ? "durable" : "plain";
}

static void print_record(const struct mark_device *d, uint32_t slot, const struct mark_record *r)
{
	printf("mark %llu %s slot=%u offset=%llu kind=%s entries=%u time=%llu.%09llu\n",
	       (unsigned long long)r->seq, r->name, slot,
	       (unsigned long long)mark_slot_offset(&d->area, slot), kind_name(r->kind),
	       r->nentries, (unsigned long long)(r->time_ns / 1000000000ULL),
	       (unsigned long long)(r->time_ns % 1000000000ULL));
	for (uint32_t i = 0; i < r->nentries; i++) {
		const struct mark_entry *m = &r->entries[i];

		printf("  durable %s ino=%llu igen=%u size=%llu crc=0x%08x\n", m->path,
		       (unsigned long long)m->ino, m->gen, (unsigned long long)m->size, m->crc);
	}
}

/* --- the area ------------------------------------------------------------------- */

struct area_scan {
	uint64_t max_seq;
	unsigned damaged;	/* records with our magic that do not decode at their slot */
};

/* Visit the records of an area image in slot order; with print, list them
 * and the damaged ones. */
static void scan_area(const struct mark_device *d, const uint8_t *area, int print,
		      struct area_scan *s)
{
	struct mark_record r;

	memset(s, 0, sizeof(*s));
	for (uint32_t slot = 0; slot < MARK_SLOTS; slot++) {
		enum mark_status st = mark_record_decode(area + (size_t)slot * MARK_RECORD_SIZE, &r);

		if (st == MARK_NOT_A_RECORD)
			continue;
		if (st == MARK_OK && mark_slot_of(r.seq) != slot) {
			if (print)
				printf("damaged slot=%u: record %llu belongs in slot %u\n", slot,
				       (unsigned long long)r.seq, mark_slot_of(r.seq));
			s->damaged++;
			continue;
		}
		if (st != MARK_OK) {
			if (print)
				printf("damaged slot=%u: %s\n", slot, mark_status_text(st));
			s->damaged++;
			continue;
		}
		if (r.seq > s->max_seq)
			s->max_seq = r.seq;
		if (print)
			print_record(d, slot, &r);
	}
}

static int read_and_scan(const struct mark_device *d, int print, struct area_scan *s,
			 struct err *e)
{
	uint8_t *area = aligned_alloc_zero(MARK_AREA_SIZE);

	if (!area)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	if (device_read_area(d, area, e)) {
		free(area);
		return -1;
	}
	scan_area(d, area, print, s);
	free(area);
	return 0;
}

static int do_dump(const struct mark_cmd *cmd, struct err *e)
{
	struct mark_device d;
	struct area_scan s;
	int rc;

	if (device_open(&d, cmd->device, 0, e))
		return -1;
	rc = read_and_scan(&d, 1, &s, e);
	device_close(&d);
	if (rc)
		return -1;
	return s.damaged ? EXIT_PROBLEMS : EXIT_CLEAN;
}

/* --- writing a mark ------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int next_seq(const struct mark_cmd *cmd, const struct mark_device *d, uint64_t *seq,
		    struct err *e)
{
	struct area_scan s;

	if (cmd->seq) {
		*seq = cmd->seq;
		return 0;
	}
	if (read_and_scan(d, 0, &s, e))
		return -1;
	if (s.max_seq == UINT64_MAX)
		return guest_fail(e, EXIT_OPERATIONAL, "the mark area's sequence numbers are used up");
	*seq = s.max_seq + 1;
	return 0;
}

/* Sync and describe every --durable file; the failing one is *input. */
static int collect_durable(const struct mark_cmd *cmd, struct mark_record *r,
			   const char **input, struct err *e)
{
	for (unsigned i = 0; i < cmd->ndurable; i++) {
		*input = cmd->durable[i];
		if (durable_entry(cmd->durable[i], &r->entries[i], e))
			return -1;
	}
	r->nentries = cmd->ndurable;
	r->kind = cmd->ndurable ? MARK_DURABLE : MARK_PLAIN;
	return 0;
}

static int write_mark(const struct mark_cmd *cmd, struct mark_device *d, struct mark_record *r,
		      const char **input, struct err *e)
{
	uint8_t *buf;
	int rc;

	if (device_check_fs(d, e) || collect_durable(cmd, r, input, e))
		return -1;
	*input = cmd->device;
	if (next_seq(cmd, d, &r->seq, e))
		return -1;
	snprintf(r->name, sizeof(r->name), "%s", cmd->name);
	r->time_ns = now_ns();
	buf = aligned_alloc_zero(MARK_RECORD_SIZE);
	if (!buf)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	if (mark_record_encode(r, buf) != MARK_OK) {
		free(buf);
		return guest_fail(e, EXIT_OPERATIONAL, "internal error: the record does not encode");
	}
	rc = device_write_record(d, mark_slot_of(r->seq), buf, &cmd->cli, e);
	free(buf);
	return rc;
}

static int do_mark(const struct mark_cmd *cmd, const char **input, struct err *e)
{
	struct mark_record *r = calloc(1, sizeof(*r));
	struct mark_device d;
	int rc;

	if (!r)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	*input = cmd->device;
	if (device_open(&d, cmd->device, 1, e)) {
		free(r);
		return -1;
	}
	rc = write_mark(cmd, &d, r, input, e);
	device_close(&d);
	if (rc == 0 && !cmd->cli.quiet) {
		print_record(&d, mark_slot_of(r->seq), r);
		fflush(stdout);
	}
	free(r);
	return rc ? -1 : EXIT_CLEAN;
}

int main(int argc, char **argv)
{
	struct mark_cmd cmd = { .cli = { .tool = "ext4da-mark" }, .device = DEFAULT_DEVICE };
	const char *input = NULL;
	struct err e = { 0 };
	int code;

	argp_err_exit_status = EXIT_USAGE;
	argv[0] = (char *)cmd.cli.tool;	/* getopt names argv[0] in its messages */
	argp_parse(&argp, argc, argv, 0, NULL, &cmd);
	if (cmd.dump) {
		input = cmd.device;
		code = do_dump(&cmd, &e);
	} else {
		code = do_mark(&cmd, &input, &e);
	}
	if (code < 0)
		return cli_fail(&cmd.cli, input, &e);
	return code;
}
