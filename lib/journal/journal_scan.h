/* journal_scan.h: walk the log once, the way jbd2's scan pass does, and
 * describe every transaction found: its tags, revoke records, commit and
 * checksum status.  Replay and listing both work from this description. */
#ifndef EXT4DA_JOURNAL_SCAN_H
#define EXT4DA_JOURNAL_SCAN_H

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
void jlog_free(struct jlog *log);

/* Number of committed transactions [start_tid, end_tid). */
size_t jlog_committed(const struct jlog *log);

const char *txn_state_name(enum txn_state s);
const char *csum_status_name(enum csum_status s);

#endif
