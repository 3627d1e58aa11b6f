/* ext4da-mark: a guest helper that puts a mark, optionally a durability
 * mark, into the block-write log by writing a record into the mark area at
 * the end of the device (SPEC section 7, lib/core/mark.h); and lists the records
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

/* Where ext4da-record's guest says the device is.  There is no default:
 * on a host, a guessed device would be the host's own disk. */
#define DEVICE_ENV "EXT4DA_MARK_DEVICE"

enum { OPT_SEQ = 256, OPT_DUMP, OPT_SYNCED, OPT_NAMES, OPT_ABSENT, OPT_RELEASE };

/* Claim options per mark; each --names may expand to many entries, and the
 * entries go into as many records as they need. */
#define MAX_CLAIM_ARGS 64

static const struct argp_option options[] = {
	{ "device", 'd', "DEV", 0, "The device whose last MiB is the mark area (default: "
				   "$" DEVICE_ENV "; one of the two is required)", 0 },
	{ "durable", 'D', "PATH", 0, "fsync PATH and its directory, and record its inode, "
				     "size and crc32c in the mark (up to 15 times)", 0 },
	{ "synced", OPT_SYNCED, "PATH", 0, "Record PATH's inode, exact size and crc32c as made "
					   "durable by the workload's own sync; sync nothing", 0 },
	{ "names", OPT_NAMES, "DIR", 0, "Record every name in directory DIR and its inode, as "
					"made durable by the workload's own sync; sync nothing", 0 },
	{ "absent", OPT_ABSENT, "PATH", 0, "Record that the name PATH does not exist, as made "
					   "durable by the workload's own sync", 0 },
	{ "release", OPT_RELEASE, "PATH", 0, "End the earlier claims on PATH's inode and on the "
					     "name PATH (before the workload changes them)", 0 },
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
	struct claim_arg {
		enum mark_entry_type type;
		const char *path;
	} claims[MAX_CLAIM_ARGS];
	unsigned nclaims;
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

static void add_claim(struct argp_state *state, struct mark_cmd *cmd, enum mark_entry_type t,
		      const char *path)
{
	if (cmd->nclaims == MAX_CLAIM_ARGS)
		argp_error(state, "at most %u --synced, --names, --absent and --release per mark",
			   MAX_CLAIM_ARGS);
	if (!*path)
		argp_error(state, "--%s: empty path", t == ME_FILE_EXACT ? "synced" :
			   t == ME_NAME ? "names" : t == ME_NO_NAME ? "absent" : "release");
	cmd->claims[cmd->nclaims].type = t;
	cmd->claims[cmd->nclaims++].path = path;
}

/* -d DEV, else $EXT4DA_MARK_DEVICE; never a guess. */
static void pick_device(struct argp_state *state, struct mark_cmd *cmd)
{
	const char *env = getenv(DEVICE_ENV);

	if (!cmd->device && env && *env)
		cmd->device = env;
	if (!cmd->device)
		argp_error(state, "no device: give -d DEV (or set %s; ext4da-record's guest does)",
			   DEVICE_ENV);
}

/* In --dump mode the one positional argument is DEV; otherwise NAME. */
static void check_args(struct argp_state *state, struct mark_cmd *cmd)
{
	if (cmd->dump) {
		if (cmd->ndurable || cmd->seq || cmd->nclaims)
			argp_error(state, "--dump writes nothing: drop --durable, the claims and --seq");
		if (cmd->positional)
			cmd->device = cmd->positional;
		pick_device(state, cmd);
		return;
	}
	if (!cmd->positional)
		argp_error(state, "no NAME given");
	/* "ext4da-mark /some/disk.img" means a device, not a mark named so. */
	if (strchr(cmd->positional, '/'))
		argp_error(state, "'%s' looks like a path, not a mark NAME; the device is -d DEV",
			   cmd->positional);
	pick_device(state, cmd);
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
	case OPT_SYNCED: add_claim(state, cmd, ME_FILE_EXACT, arg); break;
	case OPT_NAMES: add_claim(state, cmd, ME_NAME, arg); break;
	case OPT_ABSENT: add_claim(state, cmd, ME_NO_NAME, arg); break;
	case OPT_RELEASE: add_claim(state, cmd, ME_RELEASE, arg); break;
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
	"what they held: ext4da-crash checks them at every later crash point. "
	"--synced, --names, --absent and --release record, without syncing, what the "
	"workload's own persistence point guaranteed (a claims mark, format version "
	"2); more than 15 entries take several records, with consecutive sequence "
	"numbers and the same NAME. The device is -d DEV or $" DEVICE_ENV ", never a "
	"guess, and its last MiB must already be a mark area (poison, or mark records): "
	"anything else is refused before a byte is written. The record is written with "
	"O_DIRECT|O_DSYNC into slot SEQ % 256 of the area, "
	"and never anywhere else. Exit status: 0 done, 4 --dump found damaged "
	"records, 8 operational error, 16 usage error.",
	NULL, NULL, NULL
};

/* --- output ------------------------------------------------------------------- */

static const char *kind_name(enum mark_kind k)
{
	return k == MARK_DURABLE ? "durable" : k == MARK_CLAIMS ? "claims" : "plain";
}

static void print_entry(const struct mark_entry *m)
{
	const char *t = mark_entry_type_name(m->type);

	switch (m->type) {
	case ME_FILE:
	case ME_FILE_EXACT:
		printf("  %s %s ino=%llu igen=%u size=%llu crc=0x%08x\n", t, m->path,
		       (unsigned long long)m->ino, m->gen, (unsigned long long)m->size, m->crc);
		break;
	case ME_NAME:
		printf("  %s %s ino=%llu igen=%u\n", t, m->path, (unsigned long long)m->ino, m->gen);
		break;
	case ME_RELEASE:
		printf("  %s %s ino=%llu\n", t, m->path, (unsigned long long)m->ino);
		break;
	default:
		printf("  %s %s\n", t, m->path);
		break;
	}
}

static void print_record(const struct mark_device *d, uint32_t slot, const struct mark_record *r)
{
	printf("mark %llu %s slot=%u offset=%llu kind=%s entries=%u time=%llu.%09llu\n",
	       (unsigned long long)r->seq, r->name, slot,
	       (unsigned long long)mark_slot_offset(&d->area, slot), kind_name(r->kind),
	       r->nentries, (unsigned long long)(r->time_ns / 1000000000ULL),
	       (unsigned long long)(r->time_ns % 1000000000ULL));
	for (uint32_t i = 0; i < r->nentries; i++)
		print_entry(&r->entries[i]);
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

/* Sync and describe every --durable file, then the claims (which sync
 * nothing), all into one list; the failing one is *input. */
static int collect_entries(const struct mark_cmd *cmd, struct claims *all, const char **input,
			   struct err *e)
{
	for (unsigned i = 0; i < cmd->ndurable; i++) {
		struct mark_entry m;

		*input = cmd->durable[i];
		if (durable_entry(cmd->durable[i], &m, e) || claims_add_entry(all, &m, e))
			return -1;
	}
	for (unsigned i = 0; i < cmd->nclaims; i++) {
		*input = cmd->claims[i].path;
		if (claims_add(all, cmd->claims[i].type, cmd->claims[i].path, e))
			return -1;
	}
	return 0;
}

/* Record k of a mark: entries [15k, 15k + 15) of the list, as kind 2 when
 * version 1 can say it, kind 3 otherwise. */
static void fill_record(const struct mark_cmd *cmd, const struct claims *all, size_t k,
			uint64_t seq, uint64_t time_ns, struct mark_record *r)
{
	size_t from = k * MARK_MAX_ENTRIES, n = all->n - from;

	memset(r, 0, sizeof(*r));
	if (n > MARK_MAX_ENTRIES)
		n = MARK_MAX_ENTRIES;
	r->seq = seq;
	r->time_ns = time_ns;
	snprintf(r->name, sizeof(r->name), "%s", cmd->name);
	r->nentries = (uint32_t)n;
	r->kind = n ? MARK_DURABLE : MARK_PLAIN;
	for (size_t i = 0; i < n; i++) {
		r->entries[i] = all->v[from + i];
		if (r->entries[i].type != ME_FILE)
			r->kind = MARK_CLAIMS;
	}
}

static int write_record(const struct mark_cmd *cmd, struct mark_device *d,
			const struct mark_record *r, struct err *e)
{
	uint8_t *buf = aligned_alloc_zero(MARK_RECORD_SIZE);
	int rc;

	if (!buf)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	if (mark_record_encode(r, buf) != MARK_OK) {
		free(buf);
		return guest_fail(e, EXIT_OPERATIONAL, "internal error: the record does not encode");
	}
	rc = device_write_record(d, mark_slot_of(r->seq), buf, &cmd->cli, e);
	free(buf);
	if (rc == 0 && !cmd->cli.quiet) {
		print_record(d, mark_slot_of(r->seq), r);
		fflush(stdout);
	}
	return rc;
}

static int write_mark(const struct mark_cmd *cmd, struct mark_device *d, struct claims *all,
		      const char **input, struct err *e)
{
	struct mark_record *r = calloc(1, sizeof(*r));
	size_t nrec = all->n ? (all->n + MARK_MAX_ENTRIES - 1) / MARK_MAX_ENTRIES : 1;
	uint64_t seq = 0, t = now_ns();
	int rc = 0;

	if (!r)
		return guest_fail(e, EXIT_OPERATIONAL, "out of memory");
	*input = cmd->device;
	if (next_seq(cmd, d, &seq, e))
		rc = -1;
	else if (seq > UINT64_MAX - nrec)
		rc = guest_fail(e, EXIT_OPERATIONAL, "the mark area's sequence numbers are used up");
	for (size_t k = 0; k < nrec && rc == 0; k++) {
		fill_record(cmd, all, k, seq + k, t, r);
		rc = write_record(cmd, d, r, e);
	}
	free(r);
	return rc;
}

static int do_mark(const struct mark_cmd *cmd, const char **input, struct err *e)
{
	struct claims all = { 0 };
	struct mark_device d;
	int rc;

	*input = cmd->device;
	if (device_open(&d, cmd->device, 1, e))
		return -1;
	rc = device_check_fs(&d, e) || device_check_area(&d, e) || collect_entries(cmd, &all, input, e) ||
	     write_mark(cmd, &d, &all, input, e);
	device_close(&d);
	claims_free(&all);
	return rc ? -1 : EXIT_CLEAN;
}

int main(int argc, char **argv)
{
	struct mark_cmd cmd = { .cli = { .tool = "ext4da-mark" } };
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
