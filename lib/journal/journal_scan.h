/* journal_scan.h: walk the log once, the way jbd2's scan pass does, and
 * describe every transaction found: its tags, revoke records, commit and
 * checksum status.  Replay and listing both work from this description. */
#ifndef EXT4DA_JOURNAL_SCAN_H
#define EXT4DA_JOURNAL_SCAN_H

#include "lib/blockdev/overlay.h"
#include "lib/journal/fc.h"
#include "lib/journal/journal.h"
#include "lib/journal/log_reader.h"

enum txn_state {
	TXN_COMMITTED,	/* commit block found and valid: replayable */
	TXN_TORN,	/* no commit block: the crash came first */
	TXN_CORRUPT,	/* commit or descriptor checksum failed */
	TXN_STALE,	/* left over from an older pass through the log */
};

enum csum_status { CSUM_NONE, CSUM_OK, CSUM_BAD };

struct jtag {
	uint64_t fs_block;
	uint32_t log_block;
	uint16_t flags;
	uint8_t raw[16];	/* the on-disk tag, for its checksum */
};

struct jtxn {
	uint32_t tid;
	uint32_t first_block, last_block;	/* journal blocks */
	struct jtag *tags;
	size_t ntags, tags_cap;
	uint64_t *revokes;
	size_t nrevokes, revokes_cap;
	uint32_t descriptor_blocks, revoke_blocks;
	int has_commit;
	uint64_t commit_sec;
	uint32_t commit_nsec;
	enum txn_state state;
	enum csum_status csum;	/* descriptor/revoke/commit checksums */
	int bad_revoke_count;	/* a revoke block's r_count overflows it */
};

struct fc_info {
	int present;		/* the fast-commit area holds tags to replay */
	uint32_t blocks;	/* size of the fast-commit area */
	int scanned;		/* the area was read (journal has fast commits, log not empty) */
	struct fc_log log;	/* what the kernel's scan pass makes of it */
};

struct jlog {
	struct jtxn *txns;
	size_t ntxns, cap;
	uint32_t start_tid;	/* s_sequence: the first tid expected */
	uint32_t end_tid;	/* first tid that is not replayed (kernel end_transaction) */
	uint32_t failed_commit;	/* e2fsck's j_failed_commit: marks the fs with errors */
	uint32_t corrupt_commit;	/* first tid whose commit checksum failed, else 0 */
	uint32_t last_tid;	/* highest tid of any block still in the log */
	int fatal;		/* the kernel would refuse the whole recovery */
	char fatal_msg[256];
	uint32_t stop_block;	/* journal block where the walk stopped */
	struct fc_info fc;
	/* The log's blocks as the scan read them, for the replay pass (NULL
	 * for an empty log).  Owned by the jlog. */
	struct log_reader *data;
};

/* Walk the log from s_start.  Fails only on I/O or memory errors; journal
 * corruption is described in the result, as the kernel would judge it. */
int journal_scan(struct journal *j, struct jlog *log, struct err *e);

/* What one crash state's walk found up to the end of its last transaction
 * committed before anything went wrong (a bad checksum, a stale or torn
 * block), for the next state to go on from instead of walking (and
 * checksumming) the whole live log again.  It is used only when the
 * journal superblock and the journal's block map are the same and the
 * overlay stack the journal is read through shows that no block of that
 * walked part was written since (overlay_changed_since); anything else,
 * a reordered state among them, walks from s_start as journal_scan does.
 * EXT4DA_NO_STATE_CACHE=1 turns it off. */
struct scan_resume {
	int off;
	int valid;
	uint8_t sb[JSB_SIZE];		/* the journal superblock walked */
	uint64_t *map;			/* journal block -> device block, as then */
	uint32_t maxlen;
	uint32_t *by_dev;		/* journal blocks in device block order */
	uint64_t dev_lo, dev_hi;	/* the journal's lowest and highest device block */
	struct overlay_stamp stamp;	/* the stack's writes, as then */
	struct jtxn *txns;		/* the transactions walked, all committed */
	size_t ntxns, cap;
	uint32_t pos;			/* the journal block after the last of them */
	uint32_t blocks;		/* blocks from s_start to pos */
	uint32_t next_tid;
	uint64_t last_commit_time;
	uint64_t walked;		/* blocks the walk took to reach pos */
	uint64_t resumed, full;		/* walks that went on, and that did not */
};

int scan_resume_init(struct scan_resume *r);
void scan_resume_free(struct scan_resume *r);
/* journal_scan, going on from r's walk where that is safe, and leaving in
 * r what the next state can go on from.  r may be NULL. */
int journal_scan_resume(struct journal *j, struct jlog *log, struct scan_resume *r,
			struct err *e);
void jlog_free(struct jlog *log);

/* Number of committed transactions [start_tid, end_tid). */
size_t jlog_committed(const struct jlog *log);

const char *txn_state_name(enum txn_state s);
const char *csum_status_name(enum csum_status s);

#endif
