/* findings.h: what an audit reports.  Each finding has a code, a severity
 * and a location: group, physical block range, inode, logical range. */
#ifndef EXT4DA_FINDINGS_H
#define EXT4DA_FINDINGS_H

#include <stddef.h>
#include <stdint.h>

enum finding_code {
	F_LEAKED,		/* in use in the bitmap, owned by nothing */
	F_UNMARKED,		/* owned, but free in the bitmap */
	F_MULTIPLY_OWNED,	/* claimed by two owners */
	F_PAST_EOF,		/* extents past i_size */
	F_UNCONVERTED,		/* unwritten extents inside i_size */
	F_STALE,		/* file data the file never wrote */
	F_GROUP_COUNTS,		/* descriptor counts or flags disagree with bitmaps */
	F_ORPHAN,		/* pending orphan inodes */
	F_JOURNAL,		/* what the journal held */
	F_CORRUPT,		/* metadata the audit could not follow */
	F_OWNER_UNKNOWN,	/* in use; a damaged structure may own it */
	F_NCODES
};

enum severity { SEV_INFO, SEV_WARNING, SEV_ERROR };

#define NO_GROUP (-1)

struct finding {
	enum finding_code code;
	enum severity severity;
	int64_t group;			/* NO_GROUP if none */
	uint64_t block, blocks;		/* physical range; blocks == 0 if none */
	uint32_t ino, other_ino;	/* 0 if none */
	int has_logical;
	uint64_t lblk, lblocks;		/* logical range in ino */
	char detail[200];
	char *path, *other_path;	/* the inodes' pathnames (lib/audit/paths.c), or NULL */
};

struct findings {
	struct finding *v;
	size_t n, cap;
	size_t count[F_NCODES];
};

/* Append f; a physical range that continues one of the last few findings
 * (same code, severity, group, inodes and detail; the next blocks, and the
 * next logical blocks when it has a logical range) is merged into it. */
int findings_add(struct findings *fs, const struct finding *f);
void findings_free(struct findings *fs);
size_t findings_errors(const struct findings *fs);

const char *finding_code_name(enum finding_code c);
const char *severity_name(enum severity s);
int finding_code_parse(const char *name, enum finding_code *out);

#endif
