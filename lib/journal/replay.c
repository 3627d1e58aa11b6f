/* replay.c: revoke table, newest-valid-copy selection and the write pass. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/process/cancel.h"
#include "lib/journal/replay.h"

/* Home blocks are written in runs of adjacent blocks of at most this size. */
#define RUN_BYTES ((size_t)4 << 20)
/* Copies that do not lie in order in the log are gathered into a buffer
 * of this size, written when full: one that stays in the cache, and
 * fewer fresh pages to fault in and clear than a whole run's. */
#define GATHER_BYTES ((size_t)1 << 20)

/* Tag checksum of one logged copy, through the cache when there is one. */
static int copy_checksum_ok(struct journal *j, struct log_reader *rd, struct verify_cache *vc,
			    const struct jtag *g, uint32_t tid, struct err *e)
{
	uint64_t dev = j->map ? j->map[g->log_block] : g->log_block;
	const uint8_t *data;

	if (vc && !j->external && verify_cache_known(vc, dev, j->blocksize, tid))
		return 1;
	data = log_reader_get(rd, g->log_block, e);
	if (!data)
		return -1;
	if (!journal_tag_csum_ok(j, g->raw, tid, data))
		return 0;
	if (vc && !j->external)
		verify_cache_note(vc, dev, j->blocksize, tid);
	return 1;
}

int replay_check_upto(const struct jlog *log, uint32_t upto, struct err *e)
{
	if (log->fatal || !tid_gt(log->end_tid, log->start_tid))
		return fail(e, EXIT_OPERATIONAL,
			    "--upto %u: the journal holds no replayable transaction", upto);
	if (!tid_geq(upto, log->start_tid) || !tid_gt(log->end_tid, upto))
		return fail(e, EXIT_OPERATIONAL,
			    "--upto %u is out of range: replayable transactions are %u to %u", upto,
			    log->start_tid, log->end_tid - 1);
	return 0;
}

static int build_revokes(const struct jlog *log, uint32_t end, struct blockmap *rev)
{
	for (size_t i = 0; i < log->ntxns; i++) {
		const struct jtxn *t = &log->txns[i];

		if (!tid_gt(end, t->tid))
			break;
		for (size_t k = 0; k < t->nrevokes; k++) {
			int ins;
			uint32_t *v = blockmap_slot(rev, t->revokes[k], &ins);

			if (!v)
				return -1;
			if (ins || tid_gt(t->tid, *v))
				*v = t->tid;
		}
	}
	return 0;
}

static int note_bad(struct replay_result *r, enum bad_reason why, uint32_t tid,
		    const struct jtag *g)
{
	if (r->nbad == r->bad_cap) {
		size_t cap = r->bad_cap ? r->bad_cap * 2 : 16;
		struct bad_copy *p = realloc(r->bad, cap * sizeof(*p));

		if (!p)
			return -1;
		r->bad = p;
		r->bad_cap = cap;
	}
	r->bad[r->nbad++] = (struct bad_copy){ why, tid, g->fs_block, g->log_block };
	return 0;
}

/* What is known of a logged copy.  COPY_NEWEST marks the newest copy of
 * its home block (before checksums), on top of the state. */
enum { COPY_UNCHECKED, COPY_OK, COPY_BAD_CSUM, COPY_BEYOND_FS, COPY_NEWEST = 0x80 };
#define COPY_STATE(s) ((s) & 0x7f)
#define NO_COPY UINT32_MAX

/* Flat view of the copies not revoked, in log order: index -> (tag, tid),
 * what is known of it, and the next older copy of the same home block. */
struct copies {
	const struct jtag **tag;
	uint32_t *tid;
	uint32_t *older;
	uint8_t *state;
	size_t n;
};

struct winner {
	uint64_t fs_block;
	uint32_t copy;
};

static int by_fs_block(const void *a, const void *b)
{
	const struct winner *x = a, *y = b;

	return (x->fs_block > y->fs_block) - (x->fs_block < y->fs_block);
}

/* Every copy that is not revoked, in log order, chained per home block
 * from the newest (newest: home block -> its newest copy).  Nothing is
 * verified yet. */
static int collect_copies(struct journal *j, const struct jlog *log, uint32_t end,
			  const struct replay_opts *prog, size_t total, uint64_t fs_blocks,
			  const struct blockmap *rev, struct copies *c, struct blockmap *newest,
			  struct replay_result *r, struct err *e)
{
	for (size_t i = 0; i < log->ntxns; i++) {
		const struct jtxn *t = &log->txns[i];

		if (!tid_gt(end, t->tid))
			break;
		r->transactions++;
		for (size_t k = 0; k < t->ntags; k++) {
			const struct jtag *g = &t->tags[k];
			uint32_t *rv = blockmap_find(rev, g->fs_block);
			uint32_t *slot;
			int ins;

			r->tags++;
			if (prog && (r->tags & 1023) == 0)
				prog->progress(prog->progress_ctx, r->tags, total);
			if (rv && !tid_gt(t->tid, *rv)) {
				r->revoked++;
				continue;
			}
			c->tag[c->n] = g;
			c->tid[c->n] = t->tid;
			c->older[c->n] = NO_COPY;
			if (fs_blocks && g->fs_block >= fs_blocks) {
				c->state[c->n++] = COPY_BEYOND_FS;
				continue;
			}
			c->state[c->n] = j->csum_v2or3 ? COPY_UNCHECKED : COPY_OK;
			slot = blockmap_slot(newest, g->fs_block, &ins);
			if (!slot)
				return fail(e, EXIT_OPERATIONAL, "out of memory");
			if (!ins)
				c->older[c->n] = *slot;
			*slot = (uint32_t)c->n++;
		}
	}
	return 0;
}

/* Verify copy i once: 1 good, 0 bad, -1 error. */
static int check_copy(struct journal *j, struct log_reader *rd, struct verify_cache *vc,
		      struct copies *c, uint32_t i, struct err *e)
{
	uint8_t *st = &c->state[i];
	int ok;

	if (COPY_STATE(*st) == COPY_UNCHECKED) {
		ok = copy_checksum_ok(j, rd, vc, c->tag[i], c->tid[i], e);
		if (ok < 0)
			return -1;
		*st = (uint8_t)((*st & COPY_NEWEST) | (ok ? COPY_OK : COPY_BAD_CSUM));
	}
	return COPY_STATE(*st) == COPY_OK;
}

/* Pick, per home block, the newest copy whose tag checksum holds: the
 * state sequential replay leaves, since a copy that fails is skipped.
 * newest then maps each home block to its winner, or NO_COPY.  Only the
 * copies that decide are verified here (in log order, as the log was
 * read; mark_newest first); the superseded ones are left to
 * check_superseded. */
static void mark_newest(struct copies *c, const struct blockmap *newest)
{
	for (size_t i = 0; i < newest->cap; i++)
		if (newest->used[i])
			c->state[newest->vals[i]] |= COPY_NEWEST;
}

static int pick_winners(struct journal *j, struct log_reader *rd, struct verify_cache *vc,
			struct copies *c, struct blockmap *newest, const uint32_t *first,
			size_t nfirst, struct err *e)
{
	/* first, when given, lists the newest copies: the others' states
	 * may be being written by another thread. */
	for (uint32_t n = 0; n < (first ? nfirst : c->n); n++) {
		uint32_t i = first ? first[n] : n, k = i;
		int ok = 0;

		if (!(c->state[i] & COPY_NEWEST))
			continue;
		while (k != NO_COPY && (ok = check_copy(j, rd, vc, c, k, e)) == 0)
			k = c->older[k];
		if (ok < 0)
			return -1;
		*blockmap_find(newest, c->tag[i]->fs_block) = k;
	}
	return 0;
}

/* Verify the copies that a newer one superseded.  They cannot change
 * what is written, but a bad one changes the outcome (the kernel's
 * recovery fails with -EFSBADCRC), so every one is verified, as the
 * kernel does. */
static int check_superseded(struct journal *j, struct log_reader *rd, struct verify_cache *vc,
			    struct copies *c, struct err *e)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (COPY_STATE(c->state[i]) == COPY_UNCHECKED && check_copy(j, rd, vc, c, i, e) < 0)
			return -1;
	return 0;
}

/* The skipped copies, in log order, into r->bad. */
static int note_skipped(const struct copies *c, struct replay_result *r, struct err *e)
{
	for (uint32_t i = 0; i < c->n; i++) {
		int st = COPY_STATE(c->state[i]);

		if ((st == COPY_BAD_CSUM &&
		     note_bad(r, BAD_CHECKSUM, c->tid[i], c->tag[i])) ||
		    (st == COPY_BEYOND_FS && note_bad(r, BAD_BEYOND_FS, c->tid[i], c->tag[i])))
			return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	return 0;
}

/* Pieces of a run at least this long that lie in order in the log are
 * written straight from it: a write costs less than copying them. */
#define DIRECT_MIN_BYTES ((size_t)64 << 10)

/* How many of the winners win[0..n) lie one after another in the log as
 * it is kept in memory (or mapped), none escaped: 0 if the first does not. */
static size_t in_log_order(struct journal *j, struct log_reader *rd, const struct copies *c,
			   const struct winner *win, size_t n, const uint8_t **first)
{
	size_t k;

	for (k = 0; k < n; k++) {
		const struct jtag *g = c->tag[win[k].copy];
		const uint8_t *kept = log_reader_kept(rd, g->log_block);

		if ((g->flags & JBD2_FLAG_ESCAPE) || !kept ||
		    (k && kept != *first + k * j->blocksize))
			break;
		if (k == 0)
			*first = kept;
	}
	return k;
}

/* The winners win[0..n) (adjacent home blocks) copied into buf, un-escaped. */
static int copy_run(struct journal *j, struct log_reader *rd, const struct copies *c,
		    const struct winner *win, size_t n, uint8_t *buf, struct err *e)
{
	for (size_t k = 0; k < n; k++) {
		const struct jtag *g = c->tag[win[k].copy];
		const uint8_t *data = log_reader_get(rd, g->log_block, e);
		uint8_t *to = buf + k * j->blocksize;

		if (!data)
			return -1;
		memcpy(to, data, j->blocksize);
		if (g->flags & JBD2_FLAG_ESCAPE)
			put_be32(to, 0, JBD2_MAGIC);
	}
	return 0;
}

/* Write the run win[0..n) of adjacent home blocks: pieces that lie in
 * order in the log (a data=journal file logged whole, one transaction
 * after another) straight from it, the rest copied into buf, as few
 * writes as that allows. */
static int write_run(struct journal *j, struct log_reader *rd, const struct copies *c,
		     const struct winner *win, size_t n, uint8_t *buf, size_t buf_max,
		     struct replay_sink *sink, struct replay_result *r, struct err *e)
{
	size_t direct_min = DIRECT_MIN_BYTES / j->blocksize, k = 0, d, from;
	const uint8_t *data = NULL;

	while (k < n) {
		d = in_log_order(j, rd, c, win + k, n - k, &data);
		if (d == n - k || d >= direct_min) {
			if (sink->write(sink, win[k].fs_block, (uint32_t)d, data, e))
				return -1;
			r->blocks_written += d;
			k += d;
			continue;
		}
		/* up to the next piece worth writing straight */
		from = k;
		for (k += d ? d : 1; k < n; k += d ? d : 1) {
			d = in_log_order(j, rd, c, win + k, n - k, &data);
			if (d >= direct_min)
				break;
		}
		for (size_t n_buf; from < k; from += n_buf) {
			n_buf = k - from < buf_max ? k - from : buf_max;
			if (copy_run(j, rd, c, win + from, n_buf, buf, e) ||
			    sink->write(sink, win[from].fs_block, (uint32_t)n_buf, buf, e))
				return -1;
			r->blocks_written += n_buf;
		}
	}
	return 0;
}

/* The winners (home block, copy), sorted by home block; NULL when out of
 * memory. */
static struct winner *sorted_winners(const struct blockmap *newest, size_t *n)
{
	struct winner *win = malloc((newest->len + 1) * sizeof(*win));

	*n = 0;
	if (!win)
		return NULL;
	for (size_t i = 0; i < newest->cap; i++)
		if (newest->used[i] && newest->vals[i] != NO_COPY)
			win[(*n)++] = (struct winner){ newest->keys[i], newest->vals[i] };
	qsort(win, *n, sizeof(*win), by_fs_block);
	return win;
}

/* Does a winner's home block lie inside the mapped journal?  Only a
 * damaged log names one. */
static int writes_into_log(const struct journal *j, const struct log_reader *rd,
			   const struct winner *win, size_t n)
{
	for (size_t i = 0; i < n && rd->map && !j->external; i++)
		if (log_reader_maps(rd, win[i].fs_block))
			return 1;
	return 0;
}

/* Write each home block once, in block order, adjacent blocks as one run:
 * the sink sees as few and as large writes as the log allows. */
static int write_winners(struct journal *j, struct copies *c, const struct winner *win,
			 size_t n, struct log_reader *rd, struct replay_sink *sink,
			 struct replay_result *r, struct err *e)
{
	size_t run_max = RUN_BYTES / j->blocksize ? RUN_BYTES / j->blocksize : 1;
	size_t buf_max = GATHER_BYTES / j->blocksize ? GATHER_BYTES / j->blocksize : 1;
	uint8_t *run = malloc(buf_max * j->blocksize);
	int rc = 0;

	if (!run)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	/* A home block inside the journal would change what a mapped log
	 * shows before a later run is taken from it: read the log into
	 * memory first, as it was. */
	if (writes_into_log(j, rd, win, n) && log_reader_unmap(rd, e))
		rc = -1;
	for (size_t i = 0, len; i < n && rc == 0; i += len) {
		for (len = 1; i + len < n && len < run_max &&
			      win[i + len].fs_block == win[i].fs_block + len;
		     len++)
			;
		/* Between two runs: a replay stopped here is finished by
		 * running it again, as after a crash. */
		if (cancel_point()) {
			rc = cancel_fail(e, NULL);
			break;
		}
		rc = write_run(j, rd, c, win + i, len, run, buf_max, sink, r, e);
	}
	free(run);
	return rc;
}

/* Distinct home blocks whose newest copy was skipped, so that they keep an
 * older one (or their old content). */
static size_t count_lost(const struct replay_result *r, const struct copies *c,
			 const struct blockmap *newest)
{
	struct blockmap seen;
	size_t lost = 0;

	if (blockmap_init(&seen, r->nbad))
		return r->nbad;
	for (size_t i = 0; i < r->nbad; i++) {
		uint32_t *v = blockmap_find(newest, r->bad[i].fs_block);
		int ins;

		if ((!v || *v == NO_COPY || tid_gt(r->bad[i].tid, c->tid[*v])) &&
		    blockmap_slot(&seen, r->bad[i].fs_block, &ins) && ins)
			lost++;
	}
	blockmap_free(&seen);
	return lost;
}

/* Verification by two threads, where it is safe (may_share): the newest
 * copy of each home block first, since the writes wait for them, then the
 * rest, which the thread goes on with beside the writes and the caller's
 * flush, and the caller helps with from replay_settle on.  Each thread
 * takes the next SHARE_COPIES copies until none are left. */
#define SHARE_COPIES 256

struct replay_pending {
	pthread_t thread;
	int running;
	const struct journal *j;
	const struct log_reader *rd;	/* mapped: blocks come without I/O */
	struct copies c;
	struct blockmap newest;
	uint32_t *first;		/* the newest copies, in log order */
	size_t nfirst;
	atomic_size_t next_first, next;	/* first copy no thread has taken */
	size_t done_first;		/* newest copies verified, under lock */
	pthread_mutex_t lock;
	pthread_cond_t first_done;
	atomic_int stop;		/* a block the mapping does not show */
	atomic_uint failed_block;
};

static void free_copies(struct copies *c)
{
	free(c->tag);
	free(c->tid);
	free(c->older);
	free(c->state);
	memset(c, 0, sizeof(*c));
}

/* Verify copy i from the mapping: only pure reads of the mapped log and
 * of the journal, and the copy's state written by the one thread that
 * took it, so that no lock is needed. */
static void verify_mapped(struct replay_pending *p, size_t i)
{
	struct copies *c = &p->c;
	const struct jtag *g = c->tag[i];
	const uint8_t *data = log_reader_kept(p->rd, g->log_block);
	int ok;

	if (!data) {
		atomic_store(&p->failed_block, g->log_block);
		atomic_store(&p->stop, 1);
		return;
	}
	ok = journal_tag_csum_ok(p->j, g->raw, c->tid[i], data);
	c->state[i] = (uint8_t)((c->state[i] & COPY_NEWEST) | (ok ? COPY_OK : COPY_BAD_CSUM));
}

static void verify_first(struct replay_pending *p)
{
	size_t from, to;

	while ((from = atomic_fetch_add(&p->next_first, SHARE_COPIES)) < p->nfirst) {
		to = p->nfirst - from < SHARE_COPIES ? p->nfirst : from + SHARE_COPIES;
		for (size_t k = from; k < to && !atomic_load(&p->stop); k++)
			verify_mapped(p, p->first[k]);
		pthread_mutex_lock(&p->lock);
		p->done_first += to - from;
		if (p->done_first == p->nfirst)
			pthread_cond_broadcast(&p->first_done);
		pthread_mutex_unlock(&p->lock);
	}
}

/* The position in first (sorted) of the first newest copy at or after i. */
static size_t first_from(const struct replay_pending *p, size_t i)
{
	size_t lo = 0, hi = p->nfirst;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->first[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The superseded copies.  The newest ones are skipped by their place in
 * first, not by their state, which another thread may still be writing. */
static void verify_rest(struct replay_pending *p)
{
	struct copies *c = &p->c;
	size_t from, to;

	while (!atomic_load(&p->stop) &&
	       (from = atomic_fetch_add(&p->next, SHARE_COPIES)) < c->n) {
		size_t f = first_from(p, from);

		to = c->n - from < SHARE_COPIES ? c->n : from + SHARE_COPIES;
		for (size_t i = from; i < to; i++) {
			if (f < p->nfirst && p->first[f] == i) {
				f++;
				continue;
			}
			if (c->state[i] == COPY_UNCHECKED)
				verify_mapped(p, i);
		}
	}
}

static void *verify_apart(void *arg)
{
	verify_first(arg);
	verify_rest(arg);
	return NULL;
}

/* Share the verification of c with a thread; NULL (c untouched) if no
 * thread could be had.  On success c and newest belong to the result. */
static struct replay_pending *start_sharing(struct journal *j, const struct log_reader *rd,
					    struct copies *c, struct blockmap *newest)
{
	struct replay_pending *p = calloc(1, sizeof(*p));
	sigset_t all, old;
	int rc;

	if (!p || !(p->first = malloc((newest->len + 1) * sizeof(*p->first)))) {
		free(p);
		return NULL;
	}
	for (uint32_t i = 0; i < c->n; i++)
		if (c->state[i] & COPY_NEWEST)
			p->first[p->nfirst++] = i;
	p->j = j;
	p->rd = rd;
	atomic_init(&p->next_first, 0);
	atomic_init(&p->next, 0);
	atomic_init(&p->stop, 0);
	atomic_init(&p->failed_block, 0);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->first_done, NULL);
	p->c = *c;
	p->newest = *newest;
	/* Signals stay with the main thread, where cancel.h expects them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->thread, NULL, verify_apart, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->first_done);
		free(p->first);
		free(p);
		return NULL;
	}
	p->running = 1;
	memset(c, 0, sizeof(*c));
	memset(newest, 0, sizeof(*newest));
	return p;
}

/* Help with the newest copies and wait until they are all verified. */
static void share_first(struct replay_pending *p)
{
	verify_first(p);
	pthread_mutex_lock(&p->lock);
	while (p->done_first < p->nfirst)
		pthread_cond_wait(&p->first_done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

/* Help with the rest and wait for the thread: everything is verified. */
static void finish_sharing(struct replay_pending *p)
{
	if (!p->running)
		return;
	verify_rest(p);
	pthread_join(p->thread, NULL);
	p->running = 0;
}

/* Stop sharing: finish, and hand c and newest back. */
static void end_sharing(struct replay_pending *p, struct copies *c, struct blockmap *newest)
{
	finish_sharing(p);
	*c = p->c;
	*newest = p->newest;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->first_done);
	free(p->first);
	free(p);
}

/* What the copies' states leave in r: the skipped copies and the home
 * blocks that lost their newest copy. */
static int settle_copies(const struct copies *c, const struct blockmap *newest,
			 struct replay_result *r, struct err *e)
{
	if (note_skipped(c, r, e))
		return -1;
	r->blocks_lost = count_lost(r, c, newest);
	return 0;
}

/* Drop the work shared with a thread (a failure, or a result freed). */
static void drop_pending(struct replay_pending *p)
{
	struct copies c;
	struct blockmap newest;

	atomic_store(&p->stop, 1);
	end_sharing(p, &c, &newest);
	free_copies(&c);
	blockmap_free(&newest);
}

static int mapping_failed(struct replay_pending *p, struct err *e)
{
	return fail(e, EXIT_OPERATIONAL, "journal block %u is past the journal's end (%u)",
		    atomic_load(&p->failed_block), p->j->maxlen);
}

int replay_settle(struct replay_result *r, struct err *e)
{
	struct replay_pending *p = r->pending;
	struct copies c;
	struct blockmap newest;
	int rc;

	if (!p)
		return 0;
	r->pending = NULL;
	finish_sharing(p);
	rc = atomic_load(&p->stop) ? mapping_failed(p, e) : 0;
	end_sharing(p, &c, &newest);
	if (rc == 0)
		rc = settle_copies(&c, &newest, r, e);
	free_copies(&c);
	blockmap_free(&newest);
	return rc;
}

/* May the verification be shared with a thread?  Where the copies all
 * come from the mapping (no I/O through the channels the caller uses),
 * and no home block lies in the log, so that nothing written changes
 * what the thread reads. */
static int may_share(const struct journal *j, const struct jlog *log, const struct log_reader *rd,
		     const struct replay_opts *opts, const struct blockmap *newest)
{
	if (!opts || !opts->defer_superseded || opts->vcache || !j->csum_v2or3 || j->external ||
	    rd != log->data || !rd->map)
		return 0;
	for (size_t i = 0; i < newest->cap; i++)
		if (newest->used[i] && log_reader_maps(rd, newest->keys[i]))
			return 0;
	return 1;
}

/* Did every newest copy pass?  Then each is its home block's winner. */
static int newest_all_good(const struct replay_pending *p)
{
	for (size_t k = 0; k < p->nfirst; k++)
		if (COPY_STATE(p->c.state[p->first[k]]) != COPY_OK)
			return 0;
	return 1;
}

int replay_into(struct journal *j, const struct jlog *log, const struct replay_opts *opts,
		struct replay_sink *sink, struct replay_result *r, struct err *e)
{
	struct blockmap rev = { 0 }, newest = { 0 }, *nw;
	struct copies c = { 0 }, *cp;
	struct log_reader own, *rd = log->data;
	struct verify_cache *vc = opts ? opts->vcache : NULL;
	struct replay_pending *p = NULL;
	struct winner *win = NULL;
	uint32_t end = log->end_tid;
	size_t total = 0, nwin;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->first_tid = log->start_tid;
	if (opts && opts->has_upto) {
		if (replay_check_upto(log, opts->upto, e))
			return -1;
		end = opts->upto + 1;
	} else {
		r->failed_commit = log->failed_commit;
		r->corrupt_commit = log->corrupt_commit;
	}
	r->end_tid = end;
	r->new_sequence = end + 1;
	if (log->fatal) {
		/* The kernel's next tid is s_sequence + 1; when a corrupt block
		 * stopped the scan, transactions after it are still in the log
		 * and that tid must pass theirs.  (e2fsck keeps the old s_sequence
		 * here; the kernel would refuse to mount.) */
		if (tid_gt(log->last_tid, r->new_sequence))
			r->new_sequence = log->last_tid;
		r->fatal = 1;
		r->end_tid = log->start_tid;
		return 0;
	}
	for (size_t i = 0; i < log->ntxns; i++)
		total += log->txns[i].ntags;
	if (!rd) {
		rd = &own;
		if (log_reader_init(rd, j, j->start, LOG_READER_BUDGET, e))
			return -1;
	}
	/* The scan may have read through another open of the same journal. */
	log_reader_bind(rd, j);
	c.tag = malloc((total + 1) * sizeof(*c.tag));
	c.tid = malloc((total + 1) * sizeof(*c.tid));
	c.older = malloc((total + 1) * sizeof(*c.older));
	c.state = malloc(total + 1);
	if (!c.tag || !c.tid || !c.older || !c.state || blockmap_init(&rev, 64) ||
	    blockmap_init(&newest, total) || build_revokes(log, end, &rev)) {
		fail(e, EXIT_OPERATIONAL, "out of memory");
		goto out;
	}
	if (collect_copies(j, log, end, opts && opts->progress ? opts : NULL, total,
			   opts ? opts->fs_blocks : 0, &rev, &c, &newest, r, e))
		goto out;
	mark_newest(&c, &newest);
	if (may_share(j, log, rd, opts, &newest) && (p = start_sharing(j, rd, &c, &newest))) {
		share_first(p);
		if (atomic_load(&p->stop)) {
			rc = mapping_failed(p, e);
			goto out;
		}
		/* A newest copy failed (a damaged log): its home block's
		 * winner is an older copy, which the thread may be verifying.
		 * Finish everything first, as without the thread. */
		if (!newest_all_good(p)) {
			end_sharing(p, &c, &newest);
			p = NULL;
		}
	}
	cp = p ? &p->c : &c;
	nw = p ? &p->newest : &newest;
	/* With a thread, every winner is verified: this only reads them. */
	if (pick_winners(j, rd, vc, cp, nw, p ? p->first : NULL, p ? p->nfirst : 0, e))
		goto out;
	/* Without one, everything is verified before the first write, as
	 * it was read: nothing written can change it. */
	if (!p && check_superseded(j, rd, vc, &c, e))
		goto out;
	win = sorted_winners(nw, &nwin);
	if (!win) {
		fail(e, EXIT_OPERATIONAL, "out of memory");
		goto out;
	}
	if (write_winners(j, cp, win, nwin, rd, sink, r, e))
		goto out;
	if (p) {
		/* The thread goes on with the superseded copies beside the
		 * caller's flush; replay_settle waits for it. */
		r->pending = p;
		p = NULL;
		rc = 0;
		goto out;
	}
	rc = settle_copies(&c, &newest, r, e);
out:
	if (p)
		drop_pending(p);	/* a failure: its work is of no use */
	free(win);
	blockmap_free(&rev);
	blockmap_free(&newest);
	free_copies(&c);
	if (rd == &own)
		log_reader_free(rd);
	return rc;
}

int replay_incomplete(const struct replay_result *r)
{
	return r->fatal || r->nbad > 0 || r->failed_commit != 0 || r->corrupt_commit != 0 ||
	       r->fc.failed;
}

void replay_result_free(struct replay_result *r)
{
	if (r->pending)
		drop_pending(r->pending);
	free(r->bad);
	memset(r, 0, sizeof(*r));
}
