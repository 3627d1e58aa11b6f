/* findings.c: see findings.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/audit/findings.h"

static const char *const code_names[F_NCODES] = {
	[F_LEAKED] = "LEAKED",		[F_UNMARKED] = "UNMARKED",
	[F_MULTIPLY_OWNED] = "MULTIPLY_OWNED", [F_PAST_EOF] = "PAST_EOF",
	[F_UNCONVERTED] = "UNCONVERTED", [F_STALE] = "STALE",
	[F_GROUP_COUNTS] = "GROUP_COUNTS", [F_ORPHAN] = "ORPHAN",
	[F_JOURNAL] = "JOURNAL",	[F_CORRUPT] = "CORRUPT",
	[F_OWNER_UNKNOWN] = "OWNER_UNKNOWN",
};

const char *finding_code_name(enum finding_code c)
{
	return c < F_NCODES ? code_names[c] : "?";
}

int finding_code_parse(const char *name, enum finding_code *out)
{
	for (int c = 0; c < F_NCODES; c++)
		if (strcasecmp(name, code_names[c]) == 0) {
			*out = (enum finding_code)c;
			return 0;
		}
	return -1;
}

const char *severity_name(enum severity s)
{
	return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "info";
}

static int continues(const struct finding *prev, const struct finding *f)
{
	return prev->code == f->code && prev->severity == f->severity && prev->ino == f->ino &&
	       prev->other_ino == f->other_ino && prev->group == f->group && prev->blocks &&
	       f->blocks && prev->block + prev->blocks == f->block &&
	       prev->has_logical == f->has_logical &&
	       (!f->has_logical || prev->lblk + prev->lblocks == f->lblk) &&
	       strcmp(prev->detail, f->detail) == 0;
}

/* How far back a continuation is looked for: other findings (a CORRUPT
 * entry, a STALE block) may come between two pieces of one range. */
#define MERGE_WINDOW 16

int findings_add(struct findings *fs, const struct finding *f)
{
	for (size_t k = 1; k <= fs->n && k <= MERGE_WINDOW; k++) {
		struct finding *prev = &fs->v[fs->n - k];

		if (continues(prev, f)) {
			prev->blocks += f->blocks;
			prev->lblocks += f->lblocks;
			return 0;
		}
	}
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 64;
		struct finding *v = realloc(fs->v, cap * sizeof(*v));

		if (!v)
			return -1;
		fs->v = v;
		fs->cap = cap;
	}
	fs->v[fs->n++] = *f;
	fs->count[f->code]++;
	return 0;
}

void findings_free(struct findings *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].path);
		free(fs->v[i].other_path);
	}
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

size_t findings_errors(const struct findings *fs)
{
	size_t n = 0;

	for (size_t i = 0; i < fs->n; i++)
		n += fs->v[i].severity == SEV_ERROR;
	return n;
}
