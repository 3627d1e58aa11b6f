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
	uint64_t walked;	/* scan_block calls, against the walk's limit */
	/* The end of the last transaction committed while nothing had gone
	 * wrong yet: where a later scan may go on from (struct scan_resume). */
	size_t clean_ntxns;
	uint32_t clean_pos, clean_tid;
	uint64_t clean_time, clean_walked;
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
	if (t->state == TXN_COMMITTED && !s->end_known && !s->async_bad && !log->fatal &&
	    !s->need_check_commit_time) {
		s->clean_ntxns = log->ntxns;
		s->clean_pos = s->pos;
		s->clean_tid = s->next_tid;
		s->clean_time = commit_time;
		s->clean_walked = s->walked;
	}
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

/* ---- going on from the previous state's walk ---------------------------- */

int scan_resume_init(struct scan_resume *r)
{
	memset(r, 0, sizeof(*r));
	r->off = state_cache_disabled();
	return 0;
}

static void free_txns(struct jtxn *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].tags);
		free(t[i].revokes);
	}
}

void scan_resume_free(struct scan_resume *r)
{
	free_txns(r->txns, r->ntxns);
	free(r->txns);
	free(r->map);
	free(r->by_dev);
	memset(r, 0, sizeof(*r));
}

/* Append deep copies of src[0..n) to *dst. */
static int copy_txns(struct jtxn **dst, size_t *ndst, size_t *cap, const struct jtxn *src,
		     size_t n)
{
	if (grow((void **)dst, cap, *ndst + n, sizeof(**dst)))
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct jtxn *t = &(*dst)[*ndst];

		*t = src[i];
		t->tags = NULL;
		t->revokes = NULL;
		t->tags_cap = t->ntags;
		t->revokes_cap = t->nrevokes;
		if ((t->ntags && !(t->tags = malloc(t->ntags * sizeof(*t->tags)))) ||
		    (t->nrevokes && !(t->revokes = malloc(t->nrevokes * sizeof(*t->revokes))))) {
			free(t->tags);
			return -1;
		}
		if (t->ntags)
			memcpy(t->tags, src[i].tags, t->ntags * sizeof(*t->tags));
		if (t->nrevokes)
			memcpy(t->revokes, src[i].revokes, t->nrevokes * sizeof(*t->revokes));
		(*ndst)++;
	}
	return 0;
}

/* The overlay stack an internal journal is read through, or NULL. */
static const struct overlay *journal_overlay(const struct journal *j)
{
	if (j->external || !j->map || !j->io || j->io->manager != overlay_io_manager)
		return NULL;
	return j->io->private_data;
}

struct walked_part {
	const struct journal *j;
	const struct scan_resume *r;
};

/* Position of journal block jblk in the log from s_start, or UINT32_MAX. */
static uint32_t log_position(const struct journal *j, uint32_t jblk)
{
	if (jblk < j->first || jblk >= j->last)
		return UINT32_MAX;
	return jblk >= j->start ? jblk - j->start : jblk - j->first + (j->last - j->start);
}

/* Does a write to chunk touch a block of the walked part of the log? */
static int touches_walked(void *ctx, uint64_t chunk)
{
	const struct walked_part *w = ctx;
	const struct journal *j = w->j;
	const uint32_t *by_dev = w->r->by_dev;
	uint64_t d0 = chunk * OVERLAY_CHUNK / j->blocksize;
	uint64_t d1 = ((chunk + 1) * OVERLAY_CHUNK - 1) / j->blocksize;
	size_t lo = 0, hi = j->maxlen;

	if (d1 < w->r->dev_lo || d0 > w->r->dev_hi)
		return 0;	/* most writes: outside the journal */
	/* the first journal block whose device block is >= d0 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (j->map[by_dev[mid]] < d0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < j->maxlen && j->map[by_dev[lo]] <= d1; lo++)
		if (log_position(j, by_dev[lo]) < w->r->blocks)
			return 1;
	return 0;
}

static const struct journal *sort_journal;

static int by_device(const void *a, const void *b)
{
	uint64_t x = sort_journal->map[*(const uint32_t *)a];
	uint64_t y = sort_journal->map[*(const uint32_t *)b];

	return (x > y) - (x < y);
}

/* Is r's walk still the start of j's log: the same superblock and block
 * map, and none of the blocks it walked written since? */
static int resume_usable(const struct scan_resume *r, const struct journal *j)
{
	const struct overlay *ov = journal_overlay(j);
	struct walked_part w = { j, r };

	if (!r->valid || r->off || !ov || r->maxlen != j->maxlen ||
	    memcmp(r->sb, j->sb, JSB_SIZE) != 0 ||
	    memcmp(r->map, j->map, (size_t)j->maxlen * sizeof(*r->map)) != 0)
		return 0;
	return overlay_changed_since(ov, &r->stamp, touches_walked, &w) == 0;
}

/* r->map := j->map, with the journal's blocks in device order beside it
 * (usually one run of device blocks: sorted already). */
static int keep_map(struct scan_resume *r, const struct journal *j)
{
	size_t n = j->maxlen;

	if (r->maxlen == j->maxlen && !memcmp(r->map, j->map, n * sizeof(*r->map)))
		return 0;
	free(r->map);
	free(r->by_dev);
	r->maxlen = 0;
	r->map = malloc(n * sizeof(*r->map));
	r->by_dev = malloc(n * sizeof(*r->by_dev));
	if (!r->map || !r->by_dev || n == 0)
		return -1;
	memcpy(r->map, j->map, n * sizeof(*r->map));
	for (uint32_t b = 0; b < n; b++)
		r->by_dev[b] = b;
	for (uint32_t b = 1; b < n; b++)
		if (j->map[b] <= j->map[b - 1]) {
			sort_journal = j;
			qsort(r->by_dev, n, sizeof(*r->by_dev), by_device);
			break;
		}
	r->dev_lo = j->map[r->by_dev[0]];
	r->dev_hi = j->map[r->by_dev[n - 1]];
	r->maxlen = j->maxlen;
	return 0;
}

/* Start the walk where r's ended: its transactions, copied, and its state. */
static int resume_from(struct scan_state *s, const struct scan_resume *r)
{
	if (copy_txns(&s->log->txns, &s->log->ntxns, &s->log->cap, r->txns, r->ntxns))
		return -1;
	s->pos = r->pos;
	s->next_tid = r->next_tid;
	s->last_commit_time = r->last_commit_time;
	s->walked = r->walked;
	s->clean_ntxns = r->ntxns;
	s->clean_pos = r->pos;
	s->clean_tid = r->next_tid;
	s->clean_time = r->last_commit_time;
	s->clean_walked = r->walked;
	return 0;
}

/* Keep this walk's clean part for the next state.  Nothing is kept when
 * it cannot be (no clean transaction, an untracked stack, no memory). */
static void resume_save(struct scan_resume *r, const struct scan_state *s, int resumed)
{
	const struct journal *j = s->j;
	const struct overlay *ov = journal_overlay(j);
	uint32_t at;

	if (!r || r->off)
		return;
	r->valid = 0;
	if (!ov || s->clean_ntxns == 0)
		return;
	if (!resumed) {
		free_txns(r->txns, r->ntxns);
		r->ntxns = 0;
	}
	if (keep_map(r, j) || copy_txns(&r->txns, &r->ntxns, &r->cap, s->log->txns + r->ntxns,
					  s->clean_ntxns - r->ntxns))
		return;
	memcpy(r->sb, j->sb, JSB_SIZE);
	overlay_stamp(ov, &r->stamp);
	r->pos = s->clean_pos;
	r->next_tid = s->clean_tid;
	r->last_commit_time = s->clean_time;
	r->walked = s->clean_walked;
	at = log_position(j, s->clean_pos);
	r->blocks = at == 0 ? j->last - j->first : at;
	r->valid = r->stamp.ok && at != UINT32_MAX;
}

static int scan_log(struct journal *j, struct jlog *log, struct scan_resume *r, struct err *e)
{
	struct scan_state s = { .j = j, .log = log, .e = e, .crc32_sum = ~0U };
	enum step st = STEP_NEXT;
	int resumed = 0;

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
	if (r && resume_usable(r, j)) {
		if (resume_from(&s, r)) {
			free(s.buf);
			return fail(e, EXIT_OPERATIONAL, "out of memory");
		}
		resumed = 1;
		r->resumed++;
	} else if (r) {
		r->full++;
	}
	/* A log can never hold more blocks than it has; a longer walk means
	 * the blocks lie about themselves. */
	while (st == STEP_NEXT && s.walked++ <= (uint64_t)(j->last - j->first) + 1)
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
	resume_save(r, &s, resumed);
	free(s.buf);
	return 0;
}

int journal_scan_resume(struct journal *j, struct jlog *log, struct scan_resume *r,
			struct err *e)
{
	if (scan_log(j, log, r, e)) {
		jlog_free(log);
		if (r)
			r->valid = 0;
		return -1;
	}
	return 0;
}

int journal_scan(struct journal *j, struct jlog *log, struct err *e)
{
	return journal_scan_resume(j, log, NULL, e);
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
