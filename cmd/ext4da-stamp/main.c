/* ext4da-stamp: a guest helper that writes files with stamped data
 * (doc/design.md §2), so that ext4da-check can tell a file's own data from stale
 * blocks after a crash; and verifies such files.  The command line: parsing
 * and checking the operands, then one operation from ops.c or verify.c. */
#include "config.h"

#include <argp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/ext4da-stamp/ops.h"
#include "lib/core/stamp.h"

const char *argp_program_version = "ext4da-stamp " PACKAGE_VERSION;

enum { OPT_FSYNC = 256, OPT_FDATASYNC, OPT_SYNC_RANGE, OPT_DIRECT, OPT_MMAP, OPT_FALLOCATE, OPT_CLEAR_ES,
       OPT_AS };

static const struct argp_option options[] = {
	{ "fsync", OPT_FSYNC, 0, 0, "Call fsync on the file after writing (and, for "
				    "rename-over, on the directory after the rename)", 0 },
	{ "fdatasync", OPT_FDATASYNC, 0, 0, "Call fdatasync on the file after writing", 0 },
	{ "sync-range", OPT_SYNC_RANGE, 0, 0, "Call sync_file_range on the whole file after "
					      "writing (writes the pages, guarantees nothing)", 0 },
	{ "direct", OPT_DIRECT, 0, 0, "Write with O_DIRECT (create, overwrite, append, "
				      "rename-over)", 0 },
	{ "mmap", OPT_MMAP, 0, 0, "overwrite: store the stamps through a shared mapping, then "
				  "msync(MS_SYNC); the range must lie inside the file", 0 },
	{ "fallocate", OPT_FALLOCATE, "MODE", 0, "overwrite: instead of stamps, fallocate the "
						 "range: keep-size, punch or zero", 0 },
	{ "clear-es", OPT_CLEAR_ES, 0, 0, "mapped: drop the inode's extent status cache first "
					  "(EXT4_IOC_CLEAR_ES_CACHE)", 0 },
	{ "as", OPT_AS, "UID:GID", 0, "Run the operation as this user and group, without root's "
				      "capabilities (so that quota limits apply)", 0 },
	{ "gen", 'g', "N", 0, "Write generation N in the stamps (default: from --seed, "
			      "else the clock)", 0 },
	{ "seed", 's', "N", 0, "Derive the write generation from N, for repeatable runs", 0 },
	{ "quiet", 'q', 0, 0, "Print only errors (and, for verify, the bad sectors)", 0 },
	{ 0 }
};

struct op_spec {
	const char *name;
	enum stamp_op op;
	int min_operands, max_operands;
};

static const struct op_spec op_specs[] = {
	{ "create", OP_CREATE, 2, 2 },
	{ "overwrite", OP_OVERWRITE, 3, 3 },
	{ "append", OP_APPEND, 2, 2 },
	{ "truncate", OP_TRUNCATE, 2, 2 },
	{ "rename-over", OP_RENAME_OVER, 2, 3 },
	{ "verify", OP_VERIFY, 1, 1 },
	{ "poison", OP_POISON, 1, 3 },
	{ "checkpoint", OP_CHECKPOINT, 1, 1 },
	{ "journal-data", OP_JOURNAL_DATA, 2, 2 },
	{ "mapped", OP_MAPPED, 1, 1 },
	{ "quota", OP_QUOTA, 3, 4 },
};

#define NSPECS (sizeof(op_specs) / sizeof(op_specs[0]))

/* What parsing collects before the operands can be checked. */
struct parse_state {
	struct stamp_cmd *cmd;
	const struct op_spec *spec;
	int has_gen, has_seed, has_as;
	uint64_t gen, seed;
	uint32_t uid, gid;	/* --as */
};

static const struct op_spec *find_op(const char *name)
{
	for (size_t i = 0; i < NSPECS; i++)
		if (strcmp(op_specs[i].name, name) == 0)
			return &op_specs[i];
	return NULL;
}

/* Sizes and offsets are whole sectors: a stamp is a whole sector, and a
 * partial one could not be checked. */
static void parse_sectors(struct argp_state *state, const char *what, const char *s,
			  uint64_t *out)
{
	if (parse_size(s, INT64_MAX, out))
		argp_error(state, "%s: '%s' is not a byte count", what, s);
	if (*out % SECTOR_SIZE)
		argp_error(state, "%s: %s is not a multiple of 512 (stamps are whole sectors)",
			   what, s);
}

static void set_sync(struct argp_state *state, struct stamp_cmd *cmd, enum sync_mode m)
{
	if (cmd->sync != SYNC_NONE && cmd->sync != m)
		argp_error(state, "give one of --fsync, --fdatasync and --sync-range");
	cmd->sync = m;
}

static void add_operand(struct argp_state *state, struct parse_state *ps, const char *arg)
{
	struct stamp_cmd *cmd = ps->cmd;

	if (!ps->spec) {
		ps->spec = find_op(arg);
		if (!ps->spec)
			argp_error(state, "unknown operation '%s'", arg);
		cmd->op = ps->spec->op;
		return;
	}
	if (cmd->noperands == ps->spec->max_operands)
		argp_error(state, "%s: too many operands (got '%s' too)", ps->spec->name, arg);
	cmd->operand[cmd->noperands++] = arg;
}

static void check_operands(struct argp_state *state, struct parse_state *ps)
{
	struct stamp_cmd *cmd = ps->cmd;
	const char **o = cmd->operand;

	if (!ps->spec)
		argp_error(state, "no operation given");
	if (cmd->noperands < ps->spec->min_operands)
		argp_error(state, "%s: missing operands", ps->spec->name);
	cmd->path = o[0];
	switch (cmd->op) {
	case OP_CREATE:
	case OP_TRUNCATE:
		parse_sectors(state, "SIZE", o[1], &cmd->size);
		break;
	case OP_OVERWRITE:
		parse_sectors(state, "OFFSET", o[1], &cmd->offset);
		parse_sectors(state, "LEN", o[2], &cmd->len);
		if (cmd->len > INT64_MAX - cmd->offset)
			argp_error(state, "OFFSET + LEN is beyond the largest file");
		break;
	case OP_APPEND:
		parse_sectors(state, "LEN", o[1], &cmd->len);
		break;
	case OP_POISON:
		if (cmd->noperands == 2)
			argp_error(state, "poison: give both OFFSET and LEN, or neither");
		cmd->has_range = cmd->noperands == 3;
		if (cmd->has_range) {
			parse_sectors(state, "OFFSET", o[1], &cmd->offset);
			parse_sectors(state, "LEN", o[2], &cmd->len);
			if (cmd->len > INT64_MAX - cmd->offset)
				argp_error(state, "OFFSET + LEN is beyond the largest file");
		}
		break;
	case OP_JOURNAL_DATA:
		if (parse_on_off(o[1], &cmd->on))
			argp_error(state, "journal-data: '%s' is not on or off", o[1]);
		break;
	case OP_QUOTA:
		if (parse_quota_type(o[1], &cmd->quota_type))
			argp_error(state, "quota: '%s' is not user or group", o[1]);
		if (parse_u64(o[2], &cmd->quota_id) || cmd->quota_id >= UINT32_MAX)
			argp_error(state, "quota: ID '%s' is not a user or group number", o[2]);
		cmd->has_limit = cmd->noperands == 4;
		if (cmd->has_limit && (parse_size(o[3], INT64_MAX, &cmd->limit) || cmd->limit % 1024))
			argp_error(state, "quota: LIMIT '%s' is not a byte count in whole KiB", o[3]);
		break;
	case OP_RENAME_OVER:
		cmd->dst = o[1];
		cmd->has_size = cmd->noperands == 3;
		if (cmd->has_size)
			parse_sectors(state, "SIZE", o[2], &cmd->size);
		break;
	default:
		break;
	}
}

/* The new ways of writing apply to some operations only. */
static void check_write_modes(struct argp_state *state, const struct stamp_cmd *cmd)
{
	if (cmd->via != VIA_WRITE && cmd->op != OP_OVERWRITE)
		argp_error(state, "--mmap and --fallocate apply to overwrite only");
	if (cmd->direct && cmd->via != VIA_WRITE)
		argp_error(state, "--direct does not go with --mmap or --fallocate");
	if (cmd->direct && cmd->op != OP_CREATE && cmd->op != OP_OVERWRITE &&
	    cmd->op != OP_APPEND && cmd->op != OP_RENAME_OVER)
		argp_error(state, "--direct applies to create, overwrite, append and rename-over");
}

static void set_via(struct argp_state *state, struct stamp_cmd *cmd, enum write_via v)
{
	if (cmd->via != VIA_WRITE && cmd->via != v)
		argp_error(state, "give one of --mmap and --fallocate");
	cmd->via = v;
}

static void check_options(struct argp_state *state, struct parse_state *ps)
{
	check_write_modes(state, ps->cmd);
	if (ps->cmd->op == OP_VERIFY &&
	    (ps->cmd->sync != SYNC_NONE || ps->has_gen || ps->has_seed))
		argp_error(state, "verify writes nothing: drop --fsync, --fdatasync, --gen and --seed");
	if (ps->cmd->op == OP_POISON && (ps->has_gen || ps->has_seed))
		argp_error(state, "poison has no write generation: drop --gen and --seed");
	if (ps->cmd->clear_es && ps->cmd->op != OP_MAPPED)
		argp_error(state, "--clear-es applies to mapped only");
	if ((ps->cmd->op == OP_CHECKPOINT || ps->cmd->op == OP_JOURNAL_DATA ||
	     ps->cmd->op == OP_MAPPED || ps->cmd->op == OP_QUOTA) &&
	    (ps->cmd->sync != SYNC_NONE || ps->has_gen || ps->has_seed))
		argp_error(state, "%s writes no data: drop --fsync, --fdatasync, --sync-range, "
			   "--gen and --seed", ps->spec->name);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct parse_state *ps = state->input;

	switch (key) {
	case OPT_FSYNC: set_sync(state, ps->cmd, SYNC_FSYNC); break;
	case OPT_FDATASYNC: set_sync(state, ps->cmd, SYNC_FDATASYNC); break;
	case OPT_SYNC_RANGE: set_sync(state, ps->cmd, SYNC_RANGE); break;
	case OPT_DIRECT: ps->cmd->direct = 1; break;
	case OPT_MMAP: set_via(state, ps->cmd, VIA_MMAP); break;
	case OPT_FALLOCATE: {
		enum write_via v;

		if (parse_falloc_mode(arg, &v))
			argp_error(state, "--fallocate: '%s' is not keep-size, punch or zero", arg);
		set_via(state, ps->cmd, v);
		break;
	}
	case OPT_CLEAR_ES: ps->cmd->clear_es = 1; break;
	case OPT_AS:
		if (parse_uid_gid(arg, &ps->uid, &ps->gid))
			argp_error(state, "--as: '%s' is not UID:GID", arg);
		ps->has_as = 1;
		break;
	case 'q': ps->cmd->cli.quiet = 1; break;
	case 'g':
		if (parse_u64(arg, &ps->gen))
			argp_error(state, "--gen: '%s' is not a number", arg);
		ps->has_gen = 1;
		break;
	case 's':
		if (parse_u64(arg, &ps->seed))
			argp_error(state, "--seed: '%s' is not a number", arg);
		ps->has_seed = 1;
		break;
	case ARGP_KEY_ARG: add_operand(state, ps, arg); break;
	case ARGP_KEY_END:
		check_operands(state, ps);
		check_options(state, ps);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = {
	options, parse_opt,
	"create PATH SIZE\n"
	"overwrite PATH OFFSET LEN\n"
	"append PATH LEN\n"
	"truncate PATH SIZE\n"
	"rename-over SRC DST [SIZE]\n"
	"verify PATH\n"
	"poison PATH [OFFSET LEN]\n"
	"checkpoint PATH\n"
	"journal-data PATH on|off\n"
	"mapped PATH\n"
	"quota PATH user|group ID [LIMIT]",
	"Write files with stamped data, check a stamped file, or poison a device.\v"
	"Every 512-byte sector written carries the file's inode number, i_generation, "
	"its offset in the file and the write generation, with a crc32c, so that "
	"after a crash a block of a file can be told apart from stale data. SIZE, "
	"OFFSET and LEN are byte counts, multiples of 512, with an optional suffix "
	"K, M, G or T (powers of 1024). Exit status: 0 done (verify: every sector is "
	"zeros or this file's stamp), 4 verify found bad sectors, 8 operational "
	"error, 16 usage error. overwrite with LEN 0 writes nothing and only syncs as "
	"asked. checkpoint empties the journal of the filesystem that holds PATH "
	"(EXT4_IOC_CHECKPOINT); journal-data sets or clears the inode's data "
	"journalling flag (chattr +j). mapped checks that SEEK_DATA/SEEK_HOLE and "
	"FIEMAP report every byte of the file as data (exit 4 if not). quota sets the "
	"block limit (hard and soft) of a user or group on the filesystem that holds "
	"PATH to LIMIT bytes, if given, and prints its usage and limit.",
	NULL, NULL, NULL
};

/* Distinct writes should carry distinct generations, so that a durability
 * check can tell old data from new; the clock gives that by default, and
 * --seed makes a workload repeatable byte for byte. */
static uint64_t choose_write_gen(const struct parse_state *ps)
{
	struct timespec ts;

	if (ps->has_gen)
		return ps->gen;
	if (ps->has_seed)
		return mix64(ps->seed);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int run(const struct stamp_cmd *cmd, const char **input, struct err *e)
{
	switch (cmd->op) {
	case OP_CREATE: return op_create(cmd, input, e);
	case OP_OVERWRITE: return op_overwrite(cmd, input, e);
	case OP_APPEND: return op_append(cmd, input, e);
	case OP_TRUNCATE: return op_truncate(cmd, input, e);
	case OP_RENAME_OVER: return op_rename_over(cmd, input, e);
	case OP_VERIFY: return op_verify(cmd, input, e);
	case OP_POISON: return op_poison(cmd, input, e);
	case OP_CHECKPOINT: return op_checkpoint(cmd, input, e);
	case OP_JOURNAL_DATA: return op_journal_data(cmd, input, e);
	case OP_MAPPED: return op_mapped(cmd, input, e);
	case OP_QUOTA: return op_quota(cmd, input, e);
	case OP_NONE: break;
	}
	return guest_fail(e, EXIT_USAGE, "no operation");
}

int main(int argc, char **argv)
{
	struct stamp_cmd cmd = { .cli = { .tool = "ext4da-stamp" } };
	struct parse_state ps = { .cmd = &cmd };
	const char *input = NULL;
	struct err e = { 0 };
	int code;

	argp_err_exit_status = EXIT_USAGE;
	argv[0] = (char *)cmd.cli.tool;	/* getopt names argv[0] in its messages */
	argp_parse(&argp, argc, argv, 0, NULL, &ps);
	cmd.write_gen = choose_write_gen(&ps);
	if (ps.has_as && drop_to_user(ps.uid, ps.gid, &e) != 0)
		return cli_fail(&cmd.cli, NULL, &e);
	code = run(&cmd, &input, &e);
	if (code < 0)
		return cli_fail(&cmd.cli, input, &e);
	return code;
}
