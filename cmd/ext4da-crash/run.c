/* run.c: evaluate the crash states of a plan: incremental overlays, journal
 * replay and the audit in-process, optional fsck on a materialised copy;
 * workers (-j) take contiguous runs of states so each stays incremental. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>

#include "cmd/ext4da-crash/crash.h"
#include "lib/durability.h"
#include "lib/image.h"
#include "lib/interrupt.h"
#include "lib/stamp.h"
#include "lib/view.h"

struct campaign {
	struct crash_cmd *cmd;
	int base_fd;
	uint64_t base_size;
	struct writelog *wl;
	struct wl_index idx;
	struct crash_plan plan;
	struct log_marks marks;
	uint64_t *mark_entries;
};

const char *fail_class_name(int c)
{
	if (c < F_NCODES)
		return finding_code_name((enum finding_code)c);
	return c == FAIL_UNREADABLE ? "UNREADABLE" : c == FAIL_FSCK ? "FSCK" :
	       c == FAIL_CHECK ? "CHECK" : "DURABILITY";
}

/* Is entry i a mark called name: a dm-log-writes MARK with that text, or
 * a write of an ext4da-mark record with that name? */
static int is_mark(const struct campaign *c, uint64_t i, const char *name)
{
	const struct wl_entry *en = &c->idx.entries[i];

	if ((en->flags & WL_MARK) && en->mark && !strcmp(en->mark, name))
		return 1;
	for (size_t k = 0; k < c->marks.n; k++)
		if (c->marks.v[k].entry == i && !strcmp(c->marks.v[k].rec.name, name))
			return 1;
	return 0;
}

/* The first entry that is the mark name. */
static int find_mark(const struct campaign *c, const char *opt, const char *name, uint64_t *out,
		     struct err *e)
{
	for (uint64_t i = 0; i < c->idx.nr; i++)
		if (is_mark(c, i, name)) {
			*out = i;
			return 0;
		}
	return fail(e, EXIT_USAGE, "%s %s: the log has no mark of that name", opt, name);
}

/* --points mark:NAME,...: every entry that is one of the marks. */
static int resolve_mark_points(struct campaign *c, struct err *e)
{
	struct crash_cmd *cmd = c->cmd;
	char *names = strdup(cmd->mark_names), *save = NULL;
	int rc = 0;

	if (!names)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	for (char *n = strtok_r(names, ",", &save); n && rc == 0; n = strtok_r(NULL, ",", &save)) {
		size_t before = cmd->npoints;

		for (uint64_t i = 0; i < c->idx.nr && rc == 0; i++) {
			uint64_t *p;

			if (!is_mark(c, i, n))
				continue;
			p = realloc(cmd->points, (cmd->npoints + 1) * sizeof(*p));
			if (!p)
				rc = fail(e, EXIT_OPERATIONAL, "out of memory");
			else
				(cmd->points = p)[cmd->npoints++] = i;
		}
		if (rc == 0 && cmd->npoints == before)
			rc = fail(e, EXIT_USAGE, "--points mark:%s: the log has no mark of that name", n);
	}
	free(names);
	cmd->plan.list = cmd->points;
	cmd->plan.nlist = cmd->npoints;
	return rc;
}

/* --start-mark and --end-mark: drop the states outside the range; a
 * reordered state stays only if its writes are inside it too. */
static int bound_by_marks(struct campaign *c, struct err *e)
{
	uint64_t from = 0, to = UINT64_MAX;
	size_t kept = 0;

	if (c->cmd->start_mark && find_mark(c, "--start-mark", c->cmd->start_mark, &from, e))
		return -1;
	if (c->cmd->end_mark && find_mark(c, "--end-mark", c->cmd->end_mark, &to, e))
		return -1;
	for (size_t i = 0; i < c->plan.n; i++) {
		struct crash_state *s = &c->plan.states[i];
		int in = s->entry != NO_ENTRY ? s->entry >= from && s->entry <= to : from == 0;

		for (uint32_t k = 0; k < s->nsubset && in; k++)
			in = s->subset[k] <= to;
		if (in)
			c->plan.states[kept++] = *s;
		else
			free(s->subset);
	}
	c->plan.n = kept;
	return 0;
}

static int open_campaign(struct campaign *c, struct crash_cmd *cmd, struct err *e)
{
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	c->base_fd = -1;
	if (image_check_path(cmd->base, e))
		return fail(e, EXIT_OPERATIONAL, "--base %s: %s", cmd->base, e->msg);
	c->base_fd = open(cmd->base, O_RDONLY);
	if (c->base_fd < 0 || fstat(c->base_fd, &st) != 0 ||
	    (S_ISBLK(st.st_mode) && ioctl(c->base_fd, BLKGETSIZE64, &c->base_size) != 0))
		return fail(e, EXIT_OPERATIONAL, "--base %s: %s", cmd->base, strerror(errno));
	if (S_ISREG(st.st_mode))
		c->base_size = (uint64_t)st.st_size;
	if (writelog_open(cmd->log, &c->wl, e) || writelog_scan(c->wl, &c->idx, e))
		return fail(e, EXIT_OPERATIONAL, "--log %s: %s", cmd->log, e->msg);
	if (writelog_check_device(&c->idx, c->base_size, e))
		return fail(e, EXIT_OPERATIONAL, "--log %s: %s (--base %s has %llu bytes)",
			    cmd->log, e->msg, cmd->base, (unsigned long long)c->base_size);
	if (log_marks_collect(c->wl, &c->idx, c->base_size, &c->marks, e))
		return fail(e, EXIT_OPERATIONAL, "--log %s: %s", cmd->log, e->msg);
	c->mark_entries = malloc((c->marks.n + 1) * sizeof(uint64_t));
	if (!c->mark_entries)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	for (size_t i = 0; i < c->marks.n; i++)
		c->mark_entries[i] = c->marks.v[i].entry;
	cmd->plan.mark_entries = c->mark_entries;
	cmd->plan.nmark_entries = c->marks.n;
	if (cmd->mark_names && !cmd->npoints && resolve_mark_points(c, e))
		return -1;
	if (crash_plan_build(&c->idx, &cmd->plan, &c->plan, e))
		return -1;
	if ((cmd->start_mark || cmd->end_mark) && bound_by_marks(c, e))
		return -1;
	return 0;
}

static void close_campaign(struct campaign *c)
{
	crash_plan_free(&c->plan);
	log_marks_free(&c->marks);
	free(c->mark_entries);
	wl_index_free(&c->idx);
	if (c->wl)
		writelog_close(c->wl);
	if (c->base_fd >= 0)
		close(c->base_fd);
}

/* Superblock totals as the kernel recomputes them at mount, so that fsck
 * judges the state rather than the lazily written counters. */
static void settle_totals(ext2_filsys fs)
{
	uint64_t fb = 0, fi = 0;

	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		fb += ext2fs_bg_free_blocks_count(fs, g);
		fi += ext2fs_bg_free_inodes_count(fs, g);
	}
	ext2fs_free_blocks_count_set(fs->super, EXT2FS_C2B(fs, fb));
	fs->super->s_free_inodes_count = (uint32_t)fi;
}

static int write_image(struct campaign *c, struct overlay *top, const char *file, struct err *e)
{
	int fd;

	if (image_copy(c->cmd->base, file, file, e))
		return -1;
	fd = open(file, O_WRONLY);
	if (fd < 0 || overlay_materialize(top, fd) || fsync(fd) || close(fd)) {
		if (fd >= 0)
			close(fd);
		return fail(e, EXIT_OPERATIONAL, "%s: %s", file, strerror(errno));
	}
	return 0;
}

/* CMD with %s replaced by file (or file appended), for sh -c. */
static char *fsck_cmdline(const char *cmd, const char *file)
{
	size_t len = strlen(cmd) + strlen(file) + 2;
	const char *p = strstr(cmd, "%s");
	char *line = malloc(len);

	if (!line)
		return NULL;
	if (p)
		snprintf(line, len, "%.*s%s%s", (int)(p - cmd), cmd, file, p + 2);
	else
		snprintf(line, len, "%s %s", cmd, file);
	return line;
}

/* Run line under sh with stdout and stderr into out_fd; its exit status,
 * 8 if it could not run or died of a signal. */
static int run_shell(const char *line, int out_fd)
{
	int status;
	pid_t pid = interrupt_fork_group();

	if (pid < 0)
		return 8;
	if (pid == 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 8 << 8;
			break;
		}
	interrupt_forget_child(pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 8;
}

/* The end of what the command printed, kept for a failing state. */
static void keep_output(int fd, char *buf, size_t len)
{
	off_t end = lseek(fd, 0, SEEK_END), from;
	ssize_t n;

	if (end <= 0)
		return;
	from = end > (off_t)len - 1 ? end - (off_t)len + 1 : 0;
	n = pread(fd, buf, len - 1, from);
	buf[n > 0 ? n : 0] = 0;
}

/* One hook on the recovered state: --fsck-cmd or --check-cmd. */
struct hook {
	const char *name;	/* for notes: "fsck", "check" */
	const char *cmd;
	int *exit;
	char *output;
	size_t output_len;
};

/* Write the recovered state to a temporary image, run the hook's command
 * on it, keep its exit status and, when it fails, the end of its output. */
static void run_hook(struct campaign *c, struct view *v, const struct hook *h,
		     struct state_result *r)
{
	const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char img[900], out[900];
	struct err e = { 0 };
	char *line;
	int fd, out_fd;

	snprintf(img, sizeof(img), "%.850s/ext4da-crash-%s.XXXXXX", dir, h->name);
	snprintf(out, sizeof(out), "%.850s/ext4da-crash-out.XXXXXX", dir);
	fd = mkstemp(img);
	if (fd < 0)
		return;
	interrupt_track_file(img);
	close(fd);
	unlink(img);	/* image_copy creates it anew */
	settle_totals(v->fs);
	ext2fs_mark_super_dirty(v->fs);
	v->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	ext2fs_flush(v->fs);	/* into the overlay, never the base */
	out_fd = mkstemp(out);
	if (out_fd >= 0) {
		interrupt_track_file(out);
		unlink(out);	/* only the descriptor is needed */
		interrupt_forget_file(out);
	}
	line = fsck_cmdline(h->cmd, img);
	if (write_image(c, v->ov, img, &e)) {
		snprintf(r->note, sizeof(r->note), "%s: %s", h->name, e.msg);
		*h->exit = 8;
	} else if (!line || out_fd < 0) {
		snprintf(r->note, sizeof(r->note), "%s: %s", h->name, strerror(errno));
		*h->exit = 8;
	} else {
		*h->exit = run_shell(line, out_fd);
		if (*h->exit > 0)
			keep_output(out_fd, h->output, h->output_len);
	}
	free(line);
	if (out_fd >= 0)
		close(out_fd);
	unlink(img);
	interrupt_forget_file(img);
}

static void run_hooks(struct campaign *c, struct view *v, struct state_result *r)
{
	struct hook fsck = { "fsck", c->cmd->fsck_cmd, &r->fsck_exit, r->fsck_output,
			     sizeof(r->fsck_output) };
	struct hook check = { "check", c->cmd->check_cmd, &r->check_exit, r->check_output,
			      sizeof(r->check_output) };

	if (fsck.cmd)
		run_hook(c, v, &fsck, r);
	if (check.cmd)
		run_hook(c, v, &check, r);
}

/* A recorded device was poisoned before mkfs, and most of its free space
 * still is: sample sectors across the base, once per campaign. */
static void sample_base(struct campaign *c)
{
	uint8_t buf[SECTOR_SIZE];
	uint64_t sectors = c->base_size / SECTOR_SIZE;

	if (c->cmd->data.forced == 0 || c->cmd->data.sampled)
		return;
	for (uint64_t k = 1; k <= 256 && sectors; k++) {
		uint64_t at = sectors * k / 257;

		if (pread(c->base_fd, buf, sizeof(buf), (off_t)(at * SECTOR_SIZE)) == SECTOR_SIZE)
			datascan_sample(&c->cmd->data, buf, at);
	}
}

static void judge(struct campaign *c, struct view *v, const struct findings *f,
		  struct state_result *r)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];

		if (x->severity != SEV_ERROR)
			continue;
		r->count[x->code]++;
		if (c->cmd->fail_mask & (1U << x->code))
			r->classes |= 1U << x->code;
	}
	if (v->replayed && replay_incomplete(&v->result) && (c->cmd->fail_mask & (1U << F_JOURNAL))) {
		r->classes |= 1U << F_JOURNAL;
		r->count[F_JOURNAL]++;
	}
	if (r->fsck_exit > 0)
		r->classes |= 1U << FAIL_FSCK;
	if (r->check_exit > 0)
		r->classes |= 1U << FAIL_CHECK;
	/* classes may already hold UNREADABLE or DURABILITY */
	r->failed = r->classes != 0;
}

/* Does x continue r: same code, inode and kind of detail, physical and
 * logical ranges both adjacent? */
static int continues(const struct state_finding *r, const struct finding *x)
{
	return r->code == x->code && r->ino == x->ino && r->blocks && x->blocks &&
	       r->block + r->blocks == x->block && r->has_logical == x->has_logical &&
	       (!x->has_logical || r->lblk + r->lblocks == x->lblk) &&
	       !strncmp(r->detail, x->detail, 14);
}

/* Keep the findings that fail the state, merged into ranges (a stale
 * extent is one line, not one per block), the first of them in full. */
static void keep_findings(const struct campaign *c, const struct findings *f,
			  struct state_result *r)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];
		struct state_finding *last = r->nfindings ? &r->findings[r->nfindings - 1] : NULL;

		if (x->severity != SEV_ERROR || !(c->cmd->fail_mask & (1U << x->code)))
			continue;
		if (last && continues(last, x)) {
			last->blocks += x->blocks;
			last->lblocks += x->lblocks;
			continue;
		}
		if (r->nfindings == STATE_FINDINGS) {
			r->findings_omitted++;
			continue;
		}
		last = &r->findings[r->nfindings++];
		last->code = (uint8_t)x->code;
		last->ino = x->ino;
		last->block = x->block;
		last->blocks = x->blocks;
		last->has_logical = x->has_logical;
		last->lblk = x->lblk;
		last->lblocks = x->lblocks;
		snprintf(last->detail, sizeof(last->detail), "%.119s", x->detail);
	}
}

static void evaluate(struct campaign *c, struct crash_cursor *cur, size_t i, int data,
		     struct state_result *r)
{
	const struct crash_state *s = &c->plan.states[i];
	struct view_opts vo = { .replay = 1 };
	struct audit_opts ao = { .data_scan = data };
	struct findings f = { 0 };
	struct audit_stats st;
	struct overlay *top;
	struct err e = { 0 };
	struct view v;

	memset(r, 0, sizeof(*r));
	r->state = i;
	r->entry = s->entry;
	r->nsubset = s->nsubset;
	r->fsck_exit = -1;
	r->check_exit = -1;
	/* Verified checksums hold for the durable overlay, not a reordered one. */
	vo.vcache = s->nsubset ? NULL : &cur->vcache;
	if (crash_cursor_seek(cur, s, &top, &e) || view_open_on(top, &vo, &v, &e)) {
		r->classes = 1U << FAIL_UNREADABLE;
		r->failed = 1;
		snprintf(r->note, sizeof(r->note), "%s", e.msg);
		return;
	}
	if (audit_run(v.fs, &ao, &f, &st, &e)) {
		r->classes = 1U << FAIL_UNREADABLE;
		snprintf(r->note, sizeof(r->note), "%s", e.msg);
	} else {
		r->unconverted_files = (uint32_t)st.unconverted_files;
		r->unconverted_blocks = st.unconverted_blocks;
		if (durability_check(v.fs, &c->marks, s->entry, r->note, sizeof(r->note)) == 1)
			r->classes |= 1U << FAIL_DURABILITY;
		run_hooks(c, &v, r);
	}
	free(st.dirs_per_group);
	judge(c, &v, &f, r);
	if (r->failed)
		keep_findings(c, &f, r);
	findings_free(&f);
	view_close(&v);
}

/* Evaluate states [from, to) in order; results go to out[] or to fd. */
static int evaluate_range(struct campaign *c, size_t from, size_t to, struct state_result *out,
			  int fd, struct progress *prog, struct err *e)
{
	struct crash_cursor cur;
	int data = datascan_on(&c->cmd->data);
	uint64_t failed = 0;

	if (crash_cursor_init(&cur, c->wl, &c->idx, c->base_fd, c->base_size, e))
		return -1;
	for (size_t i = from; i < to; i++) {
		struct state_result r;

		evaluate(c, &cur, i, data, &r);
		if (fd >= 0) {
			if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
				break;
		} else {
			out[i - from] = r;
			if (prog) {
				failed += r.failed;
				progress_failed(prog, failed);
				progress_update(prog, i - from + 1);
			}
		}
	}
	crash_cursor_free(&cur);
	return 0;
}

/* Fork one worker per contiguous slice; collect their results in order. */
static int evaluate_parallel(struct campaign *c, size_t from, size_t to,
			     struct state_result *out, struct progress *prog, struct err *e)
{
	unsigned jobs = c->cmd->jobs;
	size_t n = to - from, done = 0, failed = 0;
	pid_t *pids = calloc(jobs, sizeof(pid_t));
	int *fds = calloc(jobs, sizeof(int));
	int rc = 0;

	if (!pids || !fds) {
		free(pids);
		free(fds);
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	for (unsigned w = 0; w < jobs; w++) {
		size_t a = from + n * w / jobs, b = from + n * (w + 1) / jobs;
		int p[2];

		fds[w] = -1;
		if (a == b || pipe(p))
			continue;
		pids[w] = interrupt_fork();
		if (pids[w] == 0) {
			close(p[0]);
			evaluate_range(c, a, b, NULL, p[1], NULL, e);
			_exit(0);
		}
		close(p[1]);
		fds[w] = p[0];
	}
	for (unsigned w = 0; w < jobs; w++) {
		size_t a = from + n * w / jobs, b = from + n * (w + 1) / jobs;

		for (size_t i = a; i < b && fds[w] >= 0; i++) {
			if (read(fds[w], &out[i - from], sizeof(*out)) != (ssize_t)sizeof(*out)) {
				rc = fail(e, EXIT_OPERATIONAL, "worker %u died at state %zu", w, i);
				break;
			}
			failed += out[i - from].failed;
			progress_failed(prog, failed);
			progress_update(prog, ++done);
		}
		if (fds[w] >= 0)
			close(fds[w]);
		if (pids[w] > 0) {
			waitpid(pids[w], NULL, 0);
			interrupt_forget_child(pids[w]);
		}
	}
	free(pids);
	free(fds);
	return rc;
}

/* DIR/state-N.WHAT.txt: what a failing hook printed. */
static void save_output(struct campaign *c, size_t state, const char *what, const char *text)
{
	char file[4096];
	FILE *f;

	if (!text[0])
		return;
	snprintf(file, sizeof(file), "%s/state-%zu.%s.txt", c->cmd->save_dir, state, what);
	f = fopen(file, "w");
	if (f) {
		fprintf(f, "%s", text);
		fclose(f);
	}
}

static void save_failures(struct campaign *c, const struct state_result *res, size_t n)
{
	char file[4096];
	struct err e = { 0 };

	if (mkdir(c->cmd->save_dir, 0755) != 0 && errno != EEXIST) {
		cli_warn(&c->cmd->cli, c->cmd->save_dir, "%s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		FILE *f;

		if (!res[i].failed)
			continue;
		snprintf(file, sizeof(file), "%s/state-%zu.img", c->cmd->save_dir, res[i].state);
		unlink(file);
		if (materialize_state(c->cmd, res[i].state, file, 0, &e)) {
			cli_warn(&c->cmd->cli, file, "%s", e.msg);
			continue;
		}
		snprintf(file, sizeof(file), "%s/state-%zu.cmd", c->cmd->save_dir, res[i].state);
		f = fopen(file, "w");
		if (!f)
			continue;
		fprintf(f, "# rebuild crash state %zu (before journal replay):\n", res[i].state);
		fprintf(f, "ext4da-crash %s --materialize %zu state-%zu.img\n", c->cmd->plan_args,
			res[i].state, res[i].state);
		fclose(f);
		save_output(c, res[i].state, "fsck", res[i].fsck_output);
		save_output(c, res[i].state, "check", res[i].check_output);
	}
}

/* Why no state was checked, or "" when some were. */
static void why_empty(const struct campaign *c, size_t from, size_t to, char *buf, size_t len)
{
	const struct crash_cmd *cmd = c->cmd;

	*buf = 0;
	if (to > from)
		return;
	if (c->plan.n && cmd->shard_n)
		snprintf(buf, len, "shard %u/%u of %zu states is empty", cmd->shard_k, cmd->shard_n,
			 c->plan.n);
	else if (cmd->plan.mode == POINTS_MARK)
		snprintf(buf, len, "--points mark: the log has no marks");
	else if (cmd->plan.mode == POINTS_FLUSH)
		snprintf(buf, len, "--points flush: the log has no FLUSH or FUA entry");
	else
		snprintf(buf, len, "the log has no crash point of that kind");
}

static void warn_data(struct campaign *c)
{
	char msg[300];

	datascan_fill_warning(&c->cmd->data, msg, sizeof(msg));
	if (msg[0] && !c->cmd->cli.quiet)
		cli_warn(&c->cmd->cli, c->cmd->base, "%s", msg);
}

int run_campaign(struct crash_cmd *cmd, struct err *e)
{
	struct campaign c;
	struct state_result *res;
	struct progress prog;
	struct campaign_summary sum = { .first_bad = SIZE_MAX, .last_good = SIZE_MAX };
	size_t from = 0, to;
	int rc;

	if (open_campaign(&c, cmd, e)) {
		close_campaign(&c);
		return -1;
	}
	if (c.idx.nr_extra)
		cli_warn(&cmd->cli, cmd->log,
			 "the log's super counts %llu entries; %llu more valid entries follow and are used",
			 (unsigned long long)c.idx.nr_super, (unsigned long long)c.idx.nr_extra);
	sample_base(&c);
	warn_data(&c);
	to = c.plan.n;
	if (cmd->shard_n) {
		from = c.plan.n * (cmd->shard_k - 1) / cmd->shard_n;
		to = c.plan.n * cmd->shard_k / cmd->shard_n;
	}
	res = calloc(to - from + 1, sizeof(*res));
	if (!res) {
		close_campaign(&c);
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	if (cmd->plan.reorder && !cmd->cli.quiet && !cmd->cli.json)
		fprintf(stderr, "ext4da-crash: reorder seed %llu\n", (unsigned long long)cmd->plan.seed);
	progress_start(&prog, &cmd->cli, "states", to - from);
	if (cmd->jobs > 1)
		rc = evaluate_parallel(&c, from, to, res, &prog, e);
	else
		rc = evaluate_range(&c, from, to, res, -1, &prog, e);
	progress_end(&prog);
	if (rc == 0) {
		for (size_t i = 0; i < to - from; i++) {
			if (cmd->cli.json)
				state_json(stdout, cmd, &c.plan, &res[i]);
			if (res[i].failed && sum.first_bad == SIZE_MAX)
				sum.first_bad = i;
			if (!res[i].failed && sum.first_bad == SIZE_MAX)
				sum.last_good = i;
		}
		why_empty(&c, from, to, sum.empty, sizeof(sum.empty));
		print_summary(cmd, &c.plan, res, to - from, &sum);
		if (cmd->save_dir)
			save_failures(&c, res, to - from);
		rc = sum.first_bad != SIZE_MAX ? EXIT_PROBLEMS : EXIT_CLEAN;
		if (sum.empty[0] && !cmd->allow_empty) {
			cli_warn(&cmd->cli, cmd->log, "no crash state checked (%s); --allow-empty "
				 "accepts that", sum.empty);
			rc = EXIT_PROBLEMS;
		}
	}
	free(res);
	close_campaign(&c);
	return rc;
}

int materialize_state(struct crash_cmd *cmd, uint64_t state, const char *file, int recovered,
		      struct err *e)
{
	struct campaign c;
	struct crash_cursor cur;
	struct overlay *top;
	int rc = -1;

	(void)recovered;
	if (access(file, F_OK) == 0)
		return fail(e, EXIT_OPERATIONAL, "%s already exists; remove it first", file);
	interrupt_track_file(file);	/* no half-written image if interrupted */
	if (open_campaign(&c, cmd, e)) {
		close_campaign(&c);
		return -1;
	}
	if (state >= c.plan.n) {
		fail(e, EXIT_USAGE, "--materialize %llu: the plan has %zu states (0 to %zu)",
		     (unsigned long long)state, c.plan.n, c.plan.n ? c.plan.n - 1 : 0);
	} else if (crash_cursor_init(&cur, c.wl, &c.idx, c.base_fd, c.base_size, e) == 0) {
		if (crash_cursor_seek(&cur, &c.plan.states[state], &top, e) == 0)
			rc = write_image(&c, top, file, e);
		crash_cursor_free(&cur);
	}
	if (rc)
		unlink(file);
	interrupt_forget_file(file);
	close_campaign(&c);
	return rc;
}
