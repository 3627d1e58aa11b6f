/* journal_scan.c: the scan pass.  It follows jbd2 recovery's rules for where
 * the log ends (sequence, magic, commit and checksum handling) and records
 * each transaction's tags and revoke records so that the revoke and replay
 * passes never need to walk the log again. */
#include <stdlib.h>
#include <string.h>

#include "lib/journal/journal_scan.h"

struct scan_state {
	struct journal *j;
	struct jlog *log;
	struct log_reader *rd;
	uint8_t *buf;
	uint32_t pos;		/* next journal block to read */
	uint32_t next_tid;
	uint32_t crc32_sum;	/* checksum v1 running sum */
	int need_check_commit_time;
	int end_known;
	uint32_t async_bad;	/* async commit: first bad commit, not yet known corrupt */
	uint64_t last_commit_time;
	struct err *e;
};

const char *txn_state_name(enum txn_state s)
{
	switch (s) {
	case TXN_COMMITTED: return "committed";
	case TXN_TORN: return "torn";
	case TXN_CORRUPT: return "corrupt";
	case TXN_STALE: return "stale";
	}
	return "?";
}

const char *csum_status_name(enum csum_status s)
{
	switch (s) {
	case CSUM_NONE: return "none";
	case CSUM_OK: return "ok";
	case CSUM_BAD: return "bad";
	}
	return "?";
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* The record for the transaction now being read, created on its first block. */
static struct jtxn *current_txn(struct scan_state *s, uint32_t block)
{
	struct jlog *log = s->log;
	struct jtxn *t;

	if (log->ntxns && log->txns[log->ntxns - 1].tid == s->next_tid)
		return &log->txns[log->ntxns - 1];
	if (grow((void **)&log->txns, &log->cap, log->ntxns + 1, sizeof(*log->txns)))
		return NULL;
	t = &log->txns[log->ntxns++];
	memset(t, 0, sizeof(*t));
	t->tid = s->next_tid;
	t->first_block = t->last_block = block;
	t->state = TXN_TORN;
	t->csum = s->j->csum_v2or3 || s->j->csum_v1 ? CSUM_OK : CSUM_NONE;
	return t;
}

static int add_tag(struct jtxn *t, const struct journal *j, const uint8_t *tag, uint32_t block)
{
	struct jtag *g;

	if (grow((void **)&t->tags, &t->tags_cap, t->ntags + 1, sizeof(*t->tags)))
		return -1;
	g = &t->tags[t->ntags++];
	g->fs_block = journal_tag_block(j, tag);
	g->log_block = block;
	g->flags = journal_tag_flags(tag);
	memset(g->raw, 0, sizeof(g->raw));
	memcpy(g->raw, tag, j->tag_bytes);
	return 0;
}

/* Parse a descriptor's tags; the data blocks follow it in the log. */
static int read_descriptor(struct scan_state *s, struct jtxn *t)
{
	const struct journal *j = s->j;
	size_t limit = j->blocksize - (j->csum_v2or3 ? JBD2_TAIL_SIZE : 0);
	size_t off = JBD2_HDR_SIZE;
	uint32_t data = s->pos;

	while (off + j->tag_bytes <= limit) {
		const uint8_t *tag = s->buf + off;
		uint16_t flags = journal_tag_flags(tag);

		if (add_tag(t, j, tag, data))
			return fail(s->e, EXIT_OPERATIONAL, "out of memory");
		data = journal_next(j, data);
		off += j->tag_bytes;
		if (!(flags & JBD2_FLAG_SAME_UUID))
			off += 16;
		if (flags & JBD2_FLAG_LAST_TAG)
			break;
	}
	return 0;
}

/* Checksum v1 covers the descriptor and its data blocks (crc32_be). */
static int sum_v1(struct scan_state *s, size_t first_tag)
{
	struct jtxn *t = &s->log->txns[s->log->ntxns - 1];

	s->crc32_sum = ext2fs_crc32_be(s->crc32_sum, s->buf, s->j->blocksize);
	for (size_t i = first_tag; i < t->ntags; i++) {
		const uint8_t *data = log_reader_get(s->rd, t->tags[i].log_block, s->e);

		if (!data)
			return -1;
		s->crc32_sum = ext2fs_crc32_be(s->crc32_sum, data, s->j->blocksize);
	}
	return 0;
}

static void parse_revoke(struct scan_state *s, struct jtxn *t)
{
	const struct journal *j = s->j;
	uint32_t count = get_be32(s->buf, JREVOKE_COUNT);
	size_t rec = (j->incompat & JBD2_INCOMPAT_64BIT) ? 8 : 4;
	size_t limit = j->blocksize - (j->csum_v2or3 ? JBD2_TAIL_SIZE : 0);

	if (count > limit) {
		t->bad_revoke_count = 1;
		return;
	}
	for (size_t off = JREVOKE_HDR_SIZE; off + rec <= count; off += rec) {
		if (grow((void **)&t->revokes, &t->revokes_cap, t->nrevokes + 1,
			 sizeof(*t->revokes)))
			return;
		t->revokes[t->nrevokes++] = rec == 8 ? get_be64(s->buf, off) : get_be32(s->buf, off);
	}
}

enum step { STEP_NEXT, STEP_STOP, STEP_FAIL };

/* Journal block jblk into s->buf, through the reader. */
static int read_block(struct scan_state *s, uint32_t jblk)
{
	const uint8_t *b = log_reader_get(s->rd, jblk, s->e);

	if (!b)
		return -1;
	memcpy(s->buf, b, s->j->blocksize);
	return 0;
}

static int commit_csum_v1_ok(struct scan_state *s)
{
	uint32_t found = get_be32(s->buf, JCOMMIT_CHKSUM);
	uint8_t type = s->buf[JCOMMIT_CHKSUM_TYPE], size = s->buf[JCOMMIT_CHKSUM_SIZE];

	return (s->crc32_sum == found && type == JBD2_CRC32_CHKSUM &&
		size == JBD2_CRC32_CHKSUM_SIZE) ||
	       (type == 0 && size == 0 && found == 0);
}

/* A commit block: decides whether the transaction counts, following the
 * kernel's rules for torn, corrupt and stale commits. */
static enum step on_commit(struct scan_state *s, struct jtxn *t)
{
	struct jlog *log = s->log;
	uint64_t commit_time = get_be64(s->buf, JCOMMIT_SEC);
	int bad = 0;

	t->commit_sec = commit_time;
	t->commit_nsec = get_be32(s->buf, JCOMMIT_NSEC);
	if (s->need_check_commit_time) {
		if (commit_time >= s->last_commit_time) {
			/* A checksum failure inside a live transaction: the
			 * kernel refuses the whole recovery. */
			t->state = TXN_CORRUPT;
			log->fatal = 1;
			snprintf(log->fatal_msg, sizeof(log->fatal_msg),
				 "transaction %u has a descriptor or revoke block with a bad checksum",
				 t->tid);
			return STEP_STOP;
		}
		t->state = TXN_STALE;	/* an older journal's leftovers */
		return STEP_STOP;
	}
	if (s->j->csum_v1) {
		if (s->end_known) {
			log->failed_commit = log->end_tid;
			if (!log->corrupt_commit)
				log->corrupt_commit = log->end_tid;
			t->has_commit = 1;
			t->state = TXN_CORRUPT;	/* committed, but after the end of the log */
			return STEP_NEXT;
		}
		bad = !commit_csum_v1_ok(s);
		s->crc32_sum = ~0U;
	}
	if (!bad && !journal_commit_csum_ok(s->j, s->buf))
		bad = 1;
	if (bad) {
		if (commit_time < s->last_commit_time) {
			t->state = TXN_STALE;
			return STEP_STOP;
		}
		t->state = TXN_CORRUPT;
		t->csum = CSUM_BAD;
		t->has_commit = 1;
		/* The first bad commit ends the replayable log.  (With async
		 * commit the kernel's scan lets a second bad commit move the
		 * end past the first one; we stop at the first, as its own
		 * comment and the SPEC say.) */
		if (!s->end_known) {
			log->end_tid = s->next_tid;
			s->end_known = 1;
			/* With async commit a bad last commit is an interrupted
			 * one; only a later commit block proves corruption. */
			if (s->j->incompat & JBD2_INCOMPAT_ASYNC_COMMIT)
				s->async_bad = s->next_tid;
			else
				log->corrupt_commit = s->next_tid;
		} else if (s->async_bad && !log->corrupt_commit) {
			log->corrupt_commit = s->async_bad;
		}
		if (!(s->j->incompat & JBD2_INCOMPAT_ASYNC_COMMIT)) {
			log->failed_commit = s->next_tid;
			return STEP_NEXT;	/* the tid does not advance: the walk ends next */
		}
	} else {
		t->state = s->end_known ? TXN_CORRUPT : TXN_COMMITTED;
		t->has_commit = 1;
		if (s->async_bad && !log->corrupt_commit)
			log->corrupt_commit = s->async_bad;
	}
	s->last_commit_time = commit_time;
	s->next_tid++;
	return STEP_NEXT;
}

static enum step scan_block(struct scan_state *s)
{
	struct jtxn *t;
	uint32_t here = s->pos;
	uint32_t type;

	if (read_block(s, here))
		return STEP_FAIL;
	s->pos = journal_next(s->j, here);
	if (get_be32(s->buf, JBD2_HDR_MAGIC) != JBD2_MAGIC ||
	    get_be32(s->buf, JBD2_HDR_SEQUENCE) != s->next_tid)
		return STEP_STOP;
	type = get_be32(s->buf, JBD2_HDR_TYPE);
	if (type != JBD2_DESCRIPTOR && type != JBD2_COMMIT && type != JBD2_REVOKE)
		return STEP_STOP;
	t = current_txn(s, here);
	if (!t) {
		fail(s->e, EXIT_OPERATIONAL, "out of memory");
		return STEP_FAIL;
	}
	t->last_block = here;
	switch (type) {
	case JBD2_DESCRIPTOR: {
		size_t first_tag = t->ntags;

		t->descriptor_blocks++;
		if (!journal_block_tail_ok(s->j, s->buf)) {
			s->need_check_commit_time = 1;
			t->csum = CSUM_BAD;
		}
		if (read_descriptor(s, t))
			return STEP_FAIL;
		if (s->j->csum_v1 && !s->need_check_commit_time && !s->end_known &&
		    sum_v1(s, first_tag))
			return STEP_FAIL;
		for (size_t i = first_tag; i < t->ntags; i++)
			s->pos = journal_next(s->j, s->pos);
		if (t->ntags > first_tag)
			t->last_block = t->tags[t->ntags - 1].log_block;
		return STEP_NEXT;
	}
	case JBD2_REVOKE:
		t->revoke_blocks++;
		if (!journal_block_tail_ok(s->j, s->buf)) {
			s->need_check_commit_time = 1;
			t->csum = CSUM_BAD;
		}
		parse_revoke(s, t);
		return STEP_NEXT;
	default:
		return on_commit(s, t);
	}
}

/* Read the fast-commit area and scan it for the first tid the full
 * commits did not reach.  What the kernel would refuse fails the whole
 * recovery, as it does at mount. */
static int scan_fast_commit(struct scan_state *s)
{
	struct journal *j = s->j;
	struct jlog *log = s->log;
	uint32_t n;
	uint8_t *area;

	if (!(j->incompat & JBD2_INCOMPAT_FAST_COMMIT) || j->fc_first >= j->maxlen)
		return 0;
	log->fc.blocks = j->maxlen - j->last;
	if (log->fatal)
		return 0;
	n = j->maxlen - j->fc_first;
	area = malloc((size_t)n * j->blocksize);
	if (!area)
		return fail(s->e, EXIT_OPERATIONAL, "out of memory");
	if (journal_read_blocks(j, j->fc_first, n, area, s->e)) {
		free(area);
		return -1;
	}
	if (fc_parse(&log->fc.log, area, n, j->blocksize, log->end_tid, j->fs_inode_size))
		return fail(s->e, EXIT_OPERATIONAL, "out of memory");
	log->fc.scanned = 1;
	log->fc.present = log->fc.log.verdict == FC_REPLAY;
	if (log->fc.log.verdict == FC_REFUSE) {
		log->fatal = 1;
		snprintf(log->fatal_msg, sizeof(log->fatal_msg), "fast commit for transaction %u: %s",
			 log->end_tid, log->fc.log.why);
	}
	return 0;
}

/* After the walk stops, later transactions may still sit in the log (a
 * corrupt one stopped it early).  Follow block headers alone, ignoring
 * checksums, to learn the highest tid there: the emptied journal's
 * s_sequence must pass it, or those blocks could pose as new ones later. */
static int find_last_tid(struct scan_state *s)
{
	struct journal *j = s->j;
	uint32_t pos = s->pos, tid = s->next_tid, last = s->next_tid - 1;

	for (uint32_t n = 0; n < j->last - j->first; n++) {
		uint32_t type, seq;

		if (read_block(s, pos))
			return -1;
		pos = journal_next(j, pos);
		seq = get_be32(s->buf, JBD2_HDR_SEQUENCE);
		type = get_be32(s->buf, JBD2_HDR_TYPE);
		if (get_be32(s->buf, JBD2_HDR_MAGIC) != JBD2_MAGIC || !tid_geq(seq, tid) ||
		    seq - tid > 1024 || type < JBD2_DESCRIPTOR || type > JBD2_REVOKE ||
		    type == JBD2_SUPERBLOCK_V1 || type == JBD2_SUPERBLOCK_V2)
			break;
		tid = last = seq;
		if (type == JBD2_DESCRIPTOR) {
			size_t limit = j->blocksize - (j->csum_v2or3 ? JBD2_TAIL_SIZE : 0);

			for (size_t off = JBD2_HDR_SIZE; off + j->tag_bytes <= limit;) {
				uint16_t flags = journal_tag_flags(s->buf + off);

				pos = journal_next(j, pos);
				off += j->tag_bytes + (flags & JBD2_FLAG_SAME_UUID ? 0 : 16);
				if (flags & JBD2_FLAG_LAST_TAG)
					break;
			}
		}
	}
	s->log->last_tid = last;
	return 0;
}

static void check_revoke_pass(struct jlog *log)
{
	for (size_t i = 0; i < log->ntxns && !log->fatal; i++) {
		struct jtxn *t = &log->txns[i];

		if (tid_geq(t->tid, log->end_tid) || !t->bad_revoke_count)
			continue;
		log->fatal = 1;
		snprintf(log->fatal_msg, sizeof(log->fatal_msg),
			 "transaction %u has a revoke block whose record count overflows it",
			 t->tid);
	}
}

static int scan_log(struct journal *j, struct jlog *log, struct err *e)
{
	struct scan_state s = { .j = j, .log = log, .e = e, .crc32_sum = ~0U };
	uint64_t walked = 0;
	enum step st = STEP_NEXT;

	memset(log, 0, sizeof(*log));
	log->start_tid = log->end_tid = j->sequence;
	if (j->start == 0)
		return 0;	/* clean journal: nothing to recover */
	s.buf = malloc(j->blocksize);
	log->data = s.rd = malloc(sizeof(*s.rd));
	if (!s.buf || !s.rd) {
		free(s.buf);
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	if (log_reader_init(s.rd, j, j->start, LOG_READER_BUDGET, e)) {
		free(s.buf);
		return -1;
	}
	s.pos = j->start;
	s.next_tid = j->sequence;
	/* A log can never hold more blocks than it has; a longer walk means
	 * the blocks lie about themselves. */
	while (st == STEP_NEXT && walked++ <= (uint64_t)(j->last - j->first) + 1)
		st = scan_block(&s);
	if (st == STEP_FAIL) {
		free(s.buf);
		return -1;
	}
	log->stop_block = s.pos;
	if (!s.end_known && !log->fatal)
		log->end_tid = s.next_tid;
	if (log->fatal)
		log->end_tid = s.next_tid;
	check_revoke_pass(log);
	if (find_last_tid(&s)) {
		free(s.buf);
		return -1;
	}
	for (size_t i = 0; i < log->ntxns; i++)
		if (tid_gt(log->txns[i].tid, log->last_tid))
			log->last_tid = log->txns[i].tid;
	if (scan_fast_commit(&s)) {
		free(s.buf);
		return -1;
	}
	free(s.buf);
	return 0;
}

int journal_scan(struct journal *j, struct jlog *log, struct err *e)
{
	if (scan_log(j, log, e)) {
		jlog_free(log);
		return -1;
	}
	return 0;
}

size_t jlog_committed(const struct jlog *log)
{
	size_t n = 0;

	for (size_t i = 0; i < log->ntxns; i++)
		if (log->txns[i].state == TXN_COMMITTED && tid_gt(log->end_tid, log->txns[i].tid))
			n++;
	return n;
}

void jlog_free(struct jlog *log)
{
	for (size_t i = 0; i < log->ntxns; i++) {
		free(log->txns[i].tags);
		free(log->txns[i].revokes);
	}
	free(log->txns);
	fc_log_free(&log->fc.log);
	if (log->data)
		log_reader_free(log->data);
	free(log->data);
	memset(log, 0, sizeof(*log));
}
