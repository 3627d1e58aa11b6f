/* replay.c: revoke table, newest-valid-copy selection and the write pass. */
#include <stdlib.h>
#include <string.h>

#include "lib/process/cancel.h"
#include "lib/journal/replay.h"

/* Home blocks are written in runs of adjacent blocks of at most this size. */
#define RUN_BYTES ((size_t)4 << 20)

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

/* Flat view of all copies: index -> (tag, tid). */
struct copies {
	const struct jtag **tag;
	uint32_t *tid;
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

/* Pick, per home block, the newest copy that is not revoked and whose tag
 * checksum holds.  Every candidate copy is verified, as the kernel does, so
 * that a bad copy is reported even when a newer one hides it. */
static int choose_copies(struct journal *j, const struct jlog *log, uint32_t end,
			 const struct replay_opts *prog, size_t total, uint64_t fs_blocks,
			 struct verify_cache *vc, const struct blockmap *rev, struct copies *c, struct blockmap *newest,
			 struct log_reader *rd, struct replay_result *r, struct err *e)
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
			if (fs_blocks && g->fs_block >= fs_blocks) {
				if (note_bad(r, BAD_BEYOND_FS, t->tid, g))
					return fail(e, EXIT_OPERATIONAL, "out of memory");
				continue;
			}
			if (j->csum_v2or3) {
				int ok = copy_checksum_ok(j, rd, vc, g, t->tid, e);

				if (ok < 0)
					return -1;
				if (!ok) {
					if (note_bad(r, BAD_CHECKSUM, t->tid, g))
						return fail(e, EXIT_OPERATIONAL, "out of memory");
					continue;
				}
			}
			c->tag[c->n] = g;
			c->tid[c->n] = t->tid;
			slot = blockmap_slot(newest, g->fs_block, &ins);
			if (!slot)
				return fail(e, EXIT_OPERATIONAL, "out of memory");
			*slot = (uint32_t)c->n++;
		}
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
		     const struct winner *win, size_t n, uint8_t *buf, struct replay_sink *sink,
		     struct replay_result *r, struct err *e)
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
		if (copy_run(j, rd, c, win + from, k - from, buf, e) ||
		    sink->write(sink, win[from].fs_block, (uint32_t)(k - from), buf, e))
			return -1;
		r->blocks_written += k - from;
	}
	return 0;
}

/* Write each home block once, in block order, adjacent blocks as one run:
 * the sink sees as few and as large writes as the log allows. */
static int write_winners(struct journal *j, struct copies *c, const struct blockmap *newest,
			 struct log_reader *rd, struct replay_sink *sink, struct replay_result *r,
			 struct err *e)
{
	struct winner *win = malloc((newest->len + 1) * sizeof(*win));
	size_t run_max = RUN_BYTES / j->blocksize ? RUN_BYTES / j->blocksize : 1;
	uint8_t *run = malloc(run_max * j->blocksize);
	size_t n = 0;
	int rc = 0;

	if (!win || !run) {
		free(win);
		free(run);
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	for (size_t i = 0; i < newest->cap; i++)
		if (newest->used[i])
			win[n++] = (struct winner){ newest->keys[i], newest->vals[i] };
	qsort(win, n, sizeof(*win), by_fs_block);
	/* A home block inside the journal (only a damaged log names one)
	 * would change what a mapped log shows before a later run is taken
	 * from it: read the log into memory first, as it was. */
	for (size_t i = 0; i < n && rd->map && !j->external; i++)
		if (log_reader_maps(rd, win[i].fs_block) && log_reader_unmap(rd, e)) {
			rc = -1;
			break;
		}
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
		rc = write_run(j, rd, c, win + i, len, run, sink, r, e);
	}
	free(win);
	free(run);
	return rc;
}

/* Home blocks whose newest usable copy is older than a copy we had to skip. */
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

		if ((!v || tid_gt(r->bad[i].tid, c->tid[*v])) &&
		    blockmap_slot(&seen, r->bad[i].fs_block, &ins) && ins)
			lost++;
	}
	blockmap_free(&seen);
	return lost;
}

int replay_into(struct journal *j, const struct jlog *log, const struct replay_opts *opts,
		struct replay_sink *sink, struct replay_result *r, struct err *e)
{
	struct blockmap rev = { 0 }, newest = { 0 };
	struct copies c = { 0 };
	struct log_reader own, *rd = log->data;
	uint32_t end = log->end_tid;
	size_t total = 0;
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
	if (!c.tag || !c.tid || blockmap_init(&rev, 64) ||
	    blockmap_init(&newest, total) || build_revokes(log, end, &rev)) {
		fail(e, EXIT_OPERATIONAL, "out of memory");
		goto out;
	}
	if (choose_copies(j, log, end, opts && opts->progress ? opts : NULL, total,
			  opts ? opts->fs_blocks : 0, opts ? opts->vcache : NULL, &rev, &c, &newest,
			  rd, r, e))
		goto out;
	if (write_winners(j, &c, &newest, rd, sink, r, e))
		goto out;
	r->blocks_lost = count_lost(r, &c, &newest);
	rc = 0;
out:
	blockmap_free(&rev);
	blockmap_free(&newest);
	free(c.tag);
	free(c.tid);
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
	free(r->bad);
	memset(r, 0, sizeof(*r));
}
