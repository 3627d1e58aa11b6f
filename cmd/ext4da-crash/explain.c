/* explain.c: ext4da-crash --explain N, the whole story of one crash state:
 * the log entries since the last flush before it and which of them the
 * state holds, the journal transactions its recovery replays, the
 * findings in full, the durability claims, the hooks' output, and the
 * verdict, in the same plan (and with the same options) as the campaign. */
#include <string.h>
#include <unistd.h>

#include "cmd/ext4da-crash/crash.h"
#include "lib/core/datascan.h"

/* Does state s hold entry i (durable, or one of its reordered writes)? */
static int holds(const struct crash_state *s, uint64_t i)
{
	if (s->entry != NO_ENTRY && i <= s->entry)
		return 1;
	for (uint32_t k = 0; k < s->nsubset; k++)
		if (s->subset[k] == i)
			return 1;
	return 0;
}

/* Entries from the one after the last flush before the state's durable
 * point to the next flush after it (or the end of the log). */
static void print_entries(struct run *rn, const struct crash_state *s)
{
	const struct wl_index *idx = &rn->c.idx;
	struct fs_layout l = { 0 };
	uint64_t from = 0, to = idx->nr;

	if (s->entry != NO_ENTRY) {
		for (uint64_t i = s->entry; i-- > 0;)
			if (entry_is_flush(&idx->entries[i])) {
				from = i + 1;
				break;
			}
		for (uint64_t i = s->entry + 1; i < idx->nr; i++)
			if (entry_is_flush(&idx->entries[i])) {
				to = i + 1;
				break;
			}
	} else {
		for (uint64_t i = 0; i < idx->nr; i++)
			if (entry_is_flush(&idx->entries[i])) {
				to = i + 1;
				break;
			}
	}
	log_layout(&rn->c, &l);
	printf("log entries %llu to %llu (since the last flush before the state, up to the next):\n",
	       (unsigned long long)from, (unsigned long long)(to ? to - 1 : 0));
	printf("  %-7s %8s %12s %8s  %-16s %s\n", "state", "entry", "sector", "sectors", "flags", "what");
	for (uint64_t i = from; i < to; i++) {
		const struct wl_entry *en = &idx->entries[i];
		const char *rec = entry_mark_record(&rn->c, i);
		char flags[128], what[256];
		unsigned kinds;
		int writes = !(en->flags & WL_MARK) && en->nr_sectors;

		entry_hits(&rn->c, &l, en, &kinds, what, sizeof(what));
		wl_flag_names(en->flags, flags, sizeof(flags));
		if (en->flags & WL_MARK)
			printf("  %-7s %8llu %12s %8s  %-16s mark \"%s\"\n", "", (unsigned long long)i,
			       "-", "-", flags, en->mark ? en->mark : "");
		else
			printf("  %-7s %8llu %12llu %8llu  %-16s %s%s%s\n",
			       !writes ? "" : holds(s, i) ? "held" : "dropped", (unsigned long long)i,
			       (unsigned long long)en->sector, (unsigned long long)en->nr_sectors,
			       flags[0] ? flags : "-", what, rec ? "; mark record " : "", rec ? rec : "");
	}
	fs_layout_free(&l);
}

static void print_journal(const struct view *v)
{
	const struct jlog *log = &v->log;

	if (!v->has_journal) {
		printf("journal: none\n");
		return;
	}
	if (!v->needed_recovery) {
		printf("journal: clean, nothing to replay%s\n",
		       v->stale_log ? " (a stale log, discarded as a mount does)" : "");
		return;
	}
	printf("journal: needed recovery; replayed %zu transaction(s)", v->result.transactions);
	if (v->result.transactions)
		printf(", tid %u to %u, %zu home block(s) written", v->result.first_tid,
		       v->result.end_tid - 1, v->result.blocks_written);
	printf("%s\n", v->result.fatal ? " (recovery refused: the kernel would not mount)" : "");
	for (size_t i = 0; i < log->ntxns; i++) {
		const struct jtxn *t = &log->txns[i];
		int replayed = tid_geq(t->tid, v->result.first_tid) && tid_gt(v->result.end_tid, t->tid);

		printf("  tid %-8u %-9s %zu block(s), %zu revoke(s), journal blocks %u-%u%s\n", t->tid,
		       replayed ? "replayed" : "not", t->ntags, t->nrevokes, t->first_block,
		       t->last_block, t->has_commit ? "" : ", no commit");
	}
	if (v->result.nbad)
		printf("  %zu logged copy(ies) skipped: bad checksum or beyond the filesystem\n",
		       v->result.nbad);
	if (v->log.fc.present)
		printf("  fast commit: %s\n", v->result.fc_dropped ? "dropped" : "replayed");
}

/* Does x continue the range m: same code, inode and kind of detail, both
 * ranges adjacent?  (Stale blocks differ only in the sector they name.) */
static int continues(const struct finding *m, const struct finding *x)
{
	return m->code == x->code && m->ino == x->ino && m->blocks && x->blocks &&
	       m->block + m->blocks == x->block && m->has_logical == x->has_logical &&
	       (!x->has_logical || m->lblk + m->lblocks == x->lblk) &&
	       !strncmp(m->detail, x->detail, 14);
}

/* The failing findings in full, merged into ranges. */
static void print_findings(const struct findings *f)
{
	struct finding m;
	size_t errors = 0;
	int have = 0;

	for (size_t i = 0; i < f->n; i++)
		errors += f->v[i].severity == SEV_ERROR;
	printf("findings: %zu error(s)%s\n", errors, errors ? ", merged into ranges:" : "");
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];

		if (x->severity != SEV_ERROR)
			continue;
		if (have && continues(&m, x)) {
			m.blocks += x->blocks;
			m.lblocks += x->lblocks;
			continue;
		}
		if (have)
			print_finding("  ", &m);
		m = *x;
		have = 1;
	}
	if (have)
		print_finding("  ", &m);
}

/* A hook's exit status and all it printed, indented. */
static void print_hook(const char *name, int status, int fd)
{
	char buf[4096];
	off_t at = 0;
	ssize_t n;
	int bol = 1;

	if (status >= 0)
		printf("%s exit %d%s\n", name, status, fd >= 0 ? ", it printed:" : "");
	if (fd < 0)
		return;
	while ((n = pread(fd, buf, sizeof(buf), at)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (bol)
				fputs("  | ", stdout);
			putchar(buf[i]);
			bol = buf[i] == '\n';
		}
		at += n;
	}
	if (!bol)
		putchar('\n');
	close(fd);
}

int explain_state(struct crash_cmd *cmd, uint64_t state, struct err *e)
{
	struct run rn;
	struct crash_cursor cur;
	struct campaign_state st;
	struct state_result r;
	char what[160], why[300];
	int hook_out[2] = { -1, -1 };

	if (open_run(&rn, cmd, e)) {
		campaign_close(&rn.c);
		return -1;
	}
	if (state >= rn.c.plan.n) {
		fail(e, EXIT_USAGE, "--explain %llu: the plan has %zu states (0 to %zu)",
		     (unsigned long long)state, rn.c.plan.n, rn.c.plan.n ? rn.c.plan.n - 1 : 0);
		campaign_close(&rn.c);
		return -1;
	}
	if (campaign_cursor(&rn.c, &cur, e)) {
		campaign_close(&rn.c);
		return -1;
	}
	sample_base(&rn);
	evaluate_state(&rn, &cur, (size_t)state, datascan_on(&cmd->data), &r, &st, hook_out);
	describe_state(&rn.c.plan, (size_t)state, what, sizeof(what));
	printf("%s: %s\n", cmd->log, what);
	if (st.s->entry == NO_ENTRY)
		printf("durable: no entry (the base image)\n");
	else
		printf("durable: entries 0 to %llu\n", (unsigned long long)st.s->entry);
	if (st.s->nsubset)
		printf("reordered: %u write(s) in flight after it reached the disk, the rest did not\n",
		       st.s->nsubset);
	print_entries(&rn, st.s);
	if (st.opened)
		print_journal(&st.view);
	datascan_describe(&cmd->data, "base image", why, sizeof(why));
	printf("data scan %s\n", why);
	print_findings(&st.findings);
	if (st.durability_broken || st.unreadable)
		printf("%s: %s\n", st.unreadable ? "unreadable" : "durability", st.note);
	print_hook("fsck", r.fsck_exit, hook_out[0]);
	print_hook("check", r.check_exit, hook_out[1]);
	printf("verdict: %s", r.failed ? "fail (" : "pass\n");
	for (int c = 0, first = 1; r.failed && c < FAIL_NCLASSES; c++)
		if (r.classes & (1U << c)) {
			printf("%s%s", first ? "" : ", ", fail_class_name(c));
			first = 0;
		}
	if (r.failed)
		printf(")\n");
	campaign_state_close(&st);
	crash_cursor_free(&cur);
	campaign_close(&rn.c);
	return r.failed ? EXIT_PROBLEMS : EXIT_CLEAN;
}
