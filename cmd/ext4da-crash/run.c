/* run.c: evaluate the crash states of a plan: incremental overlays, journal
 * replay and the audit in-process, optional fsck on a materialised copy;
 * workers (-j) take contiguous runs of states so each stays incremental. */
#include "config.h"

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
#include "lib/crash/campaign.h"
#include "lib/process/outfile.h"
#include "lib/process/interrupt.h"
#include "lib/core/stamp.h"

int open_run(struct run *r, struct crash_cmd *cmd, struct err *e)
{
	struct campaign_opts o = { .base = cmd->base, .log = cmd->log, .plan = cmd->plan,
				   .mark_names = cmd->mark_names,
				   .start_mark = cmd->start_mark, .end_mark = cmd->end_mark };

	r->cmd = cmd;
	return campaign_open(&o, &r->c, e);
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
	const char *name;	/* for notes and saved files: "fsck", "check" */
	const char *cmd;
	int *exit;
	char *output;
	size_t output_len;
	int out_fd;		/* all it printed, for --save; -1 if it did not run */
};

/* Write the recovered state to a scratch image (unlinked from the start,
 * so that not even SIGKILL leaves it behind), run the hook's command on
 * it, keep its exit status and, when it fails, the end of its output. */
static void run_hook(struct run *rn, struct view *v, struct hook *h, struct state_result *r)
{
	const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char img[64], out[900];
	struct err e = { 0 };
	char *line = NULL;
	int fd;

	settle_totals(v->fs);
	ext2fs_mark_super_dirty(v->fs);
	v->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	ext2fs_flush(v->fs);	/* into the view's overlay, never the state or the base */
	fd = campaign_scratch_image(&rn->c, v->ov, dir, img, sizeof(img), &e);
	if (fd < 0) {
		snprintf(r->note, sizeof(r->note), "%s: %.460s", h->name, e.msg);
		*h->exit = 8;
		return;
	}
	snprintf(out, sizeof(out), "%.850s/ext4da-crash-out.XXXXXX", dir);
	h->out_fd = mkstemp(out);
	if (h->out_fd >= 0)
		unlink(out);	/* only the descriptor is needed */
	line = fsck_cmdline(h->cmd, img);
	if (!line || h->out_fd < 0) {
		snprintf(r->note, sizeof(r->note), "%s: %s", h->name, strerror(errno));
		*h->exit = 8;
	} else {
		*h->exit = run_shell(line, h->out_fd);
		if (*h->exit > 0)
			keep_output(h->out_fd, h->output, h->output_len);
	}
	free(line);
	close(fd);
}

/* A recorded device was poisoned before mkfs, and most of its free space
 * still is: sample sectors across the base, once per campaign. */
void sample_base(struct run *rn)
{
	uint8_t buf[SECTOR_SIZE];
	uint64_t sectors = rn->c.base_size / SECTOR_SIZE;

	if (rn->cmd->data.forced == 0 || rn->cmd->data.sampled)
		return;
	for (uint64_t k = 1; k <= 256 && sectors; k++) {
		uint64_t at = sectors * k / 257;

		/* pread, not the base's mapping: a page fault there costs
		 * more than the call, and maps pages that exit must unmap. */
		if (pread(rn->c.base_fd, buf, sizeof(buf), (off_t)(at * SECTOR_SIZE)) == SECTOR_SIZE)
			datascan_sample(&rn->cmd->data, buf, at);
	}
}

static void judge(struct run *rn, const struct view *v, const struct findings *f,
		  struct state_result *r)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];

		if (x->severity != SEV_ERROR)
			continue;
		r->count[x->code]++;
		if (rn->cmd->fail_mask & (1U << x->code))
			r->classes |= 1U << x->code;
	}
	if (v && v->replayed && replay_incomplete(&v->result) &&
	    (rn->cmd->fail_mask & (1U << F_JOURNAL))) {
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
 * extent is one line, not one per block), with the files' paths. */
static void keep_findings(const struct run *rn, const struct findings *f,
			  struct state_result *r)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];
		struct state_finding *last = r->nfindings ? &r->findings[r->nfindings - 1] : NULL;

		if (x->severity != SEV_ERROR || !(rn->cmd->fail_mask & (1U << x->code)))
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
		snprintf(last->detail, sizeof(last->detail), "%.111s", x->detail);
		snprintf(last->path, sizeof(last->path), "%.95s", x->path ? x->path : "");
	}
}

/* ext4da-check beside this program (the build tree, or the bindir). */
static const char *check_tool(void)
{
	static char path[4096];
	ssize_t n;
	char *slash;

	if (path[0])
		return path;
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n <= 0 || !(slash = memchr(path, '/', (size_t)n))) {
		snprintf(path, sizeof(path), "ext4da-check");
		return path;
	}
	path[n] = 0;
	slash = strrchr(path, '/');
	strcpy(slash + 1, "ext4da-check");
	if (access(path, X_OK) != 0)
		snprintf(path, sizeof(path), "ext4da-check");
	return path;
}

/* DIR/state-N.ext4da-check.json: ext4da-check --json on the saved image. */
static void save_check_json(struct run *rn, const char *img, const char *file)
{
	const char *data = datascan_on(&rn->cmd->data) ? "--data" : "--no-data";
	char tmp[4200];
	struct err e = { 0 };
	int fd = outfile_temp(file, tmp, sizeof(tmp), &e), status = 0;
	pid_t pid;

	if (fd < 0) {
		cli_warn(&rn->cmd->cli, file, "%s", e.msg);
		return;
	}
	pid = interrupt_fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fd, STDOUT_FILENO);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execlp(check_tool(), "ext4da-check", "--json", "--no-progress", data, img,
		       (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid > 0)
		interrupt_forget_child(pid);
	/* ext4da-check exits 4 for the findings it is there to show. */
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) > 4) {
		outfile_discard(fd, tmp);
		cli_warn(&rn->cmd->cli, file, "ext4da-check did not run on %s", img);
		return;
	}
	if (outfile_publish(fd, tmp, file, 1, &e))
		cli_warn(&rn->cmd->cli, file, "%s", e.msg);
}

/* DIR/state-N.WHAT.txt: everything a hook printed. */
static void save_hook_output(struct run *rn, size_t state, const struct hook *h)
{
	char file[4200], tmp[4200], buf[65536];
	struct err e = { 0 };
	off_t at = 0;
	ssize_t n;
	int fd;

	if (h->out_fd < 0)
		return;
	snprintf(file, sizeof(file), "%s/state-%zu.%s.txt", rn->cmd->save_dir, state, h->name);
	fd = outfile_temp(file, tmp, sizeof(tmp), &e);
	if (fd < 0) {
		cli_warn(&rn->cmd->cli, file, "%s", e.msg);
		return;
	}
	while ((n = pread(h->out_fd, buf, sizeof(buf), at)) > 0) {
		if (write(fd, buf, (size_t)n) != n) {
			outfile_discard(fd, tmp);
			cli_warn(&rn->cmd->cli, file, "%s", strerror(errno));
			return;
		}
		at += n;
	}
	if (outfile_publish(fd, tmp, file, 1, &e))
		cli_warn(&rn->cmd->cli, file, "%s", e.msg);
}

/* --save: a failing state, written from where the cursor stands: its image
 * (before journal replay), the command that rebuilds it, ext4da-check's
 * JSON of it and what the hooks printed.  Each file appears whole. */
static void save_state(struct run *rn, const struct campaign_state *st,
		       const struct state_result *r, const struct hook *hooks, size_t nhooks)
{
	const char *dir = rn->cmd->save_dir;
	char img[4200], file[4200], *text = NULL;
	struct err e = { 0 };
	int len;

	snprintf(img, sizeof(img), "%s/state-%zu.img", dir, r->state);
	if (campaign_write_image(&rn->c, st->top, img, 1, &e)) {
		cli_warn(&rn->cmd->cli, img, "%s", e.msg);
		return;
	}
	snprintf(file, sizeof(file), "%s/state-%zu.cmd", dir, r->state);
	len = asprintf(&text, "# rebuild crash state %zu (before journal replay):\n"
		       "ext4da-crash %s --materialize %zu state-%zu.img\n",
		       r->state, rn->cmd->plan_args, r->state, r->state);
	if (len < 0 || outfile_write_text(file, text, (size_t)len, 1, &e))
		cli_warn(&rn->cmd->cli, file, "%s", len < 0 ? "out of memory" : e.msg);
	free(text);
	snprintf(file, sizeof(file), "%s/state-%zu.ext4da-check.json", dir, r->state);
	save_check_json(rn, img, file);
	for (size_t k = 0; k < nhooks; k++)
		save_hook_output(rn, r->state, &hooks[k]);
}

void evaluate_state(struct run *rn, struct crash_cursor *cur, size_t i, int data,
		    struct state_result *r, struct campaign_state *keep, int *hook_out)
{
	const struct crash_state *s = &rn->c.plan.states[i];
	struct campaign_state st;
	struct hook hooks[2] = {
		{ "fsck", rn->cmd->fsck_cmd, &r->fsck_exit, r->fsck_output, sizeof(r->fsck_output), -1 },
		{ "check", rn->cmd->check_cmd, &r->check_exit, r->check_output,
		  sizeof(r->check_output), -1 },
	};

	memset(r, 0, sizeof(*r));
	r->state = i;
	r->entry = s->entry;
	r->nsubset = s->nsubset;
	r->fsck_exit = -1;
	r->check_exit = -1;
	campaign_state_open(&rn->c, cur, i, data, &st);
	snprintf(r->note, sizeof(r->note), "%.479s", st.note);
	if (st.unreadable) {
		r->classes = 1U << FAIL_UNREADABLE;
	} else {
		r->unconverted_files = (uint32_t)st.stats.unconverted_files;
		r->unconverted_blocks = st.stats.unconverted_blocks;
		if (st.durability_broken)
			r->classes |= 1U << FAIL_DURABILITY;
		for (size_t k = 0; k < 2; k++)
			if (hooks[k].cmd)
				run_hook(rn, &st.view, &hooks[k], r);
	}
	judge(rn, st.opened ? &st.view : NULL, &st.findings, r);
	if (r->failed) {
		keep_findings(rn, &st.findings, r);
		if (rn->cmd->save_dir && st.top)
			save_state(rn, &st, r, hooks, 2);
	}
	for (size_t k = 0; k < 2; k++)
		if (hook_out)
			hook_out[k] = hooks[k].out_fd;
		else if (hooks[k].out_fd >= 0)
			close(hooks[k].out_fd);
	if (keep)
		*keep = st;
	else
		campaign_state_close(&st);
}

/* Evaluate states [from, to) in order; results go to out[] or to fd. */
static int evaluate_range(struct run *rn, size_t from, size_t to, struct state_result *out,
			  int fd, struct progress *prog, struct err *e)
{
	struct crash_cursor cur;
	int data = datascan_on(&rn->cmd->data);
	uint64_t failed = 0;

	if (campaign_cursor(&rn->c, &cur, e))
		return -1;
	for (size_t i = from; i < to; i++) {
		struct state_result r;

		evaluate_state(rn, &cur, i, data, &r, NULL, NULL);
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
static int evaluate_parallel(struct run *rn, size_t from, size_t to,
			     struct state_result *out, struct progress *prog, struct err *e)
{
	unsigned jobs = rn->cmd->jobs;
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
			evaluate_range(rn, a, b, NULL, p[1], NULL, e);
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

/* Why no state was checked, or "" when some were. */
static void why_empty(const struct run *rn, size_t from, size_t to, char *buf, size_t len)
{
	const struct crash_cmd *cmd = rn->cmd;

	*buf = 0;
	if (to > from)
		return;
	if (rn->c.plan.n && cmd->shard_n)
		snprintf(buf, len, "shard %u/%u of %zu states is empty", cmd->shard_k, cmd->shard_n,
			 rn->c.plan.n);
	else if (cmd->plan.mode == POINTS_MARK)
		snprintf(buf, len, "--points mark: the log has no marks");
	else if (cmd->plan.mode == POINTS_FLUSH)
		snprintf(buf, len, "--points flush: the log has no FLUSH or FUA entry");
	else
		snprintf(buf, len, "the log has no crash point of that kind");
}

static void warn_data(struct run *rn)
{
	char msg[300];

	datascan_fill_warning(&rn->cmd->data, msg, sizeof(msg));
	if (msg[0] && !rn->cmd->cli.quiet)
		cli_warn(&rn->cmd->cli, rn->cmd->base, "%s", msg);
}

int run_campaign(struct crash_cmd *cmd, struct err *e)
{
	struct run rn;
	struct state_result *res;
	struct progress prog;
	struct campaign_summary sum = { .first_bad = SIZE_MAX, .last_good = SIZE_MAX };
	size_t from = 0, to;
	int rc;

	if (open_run(&rn, cmd, e)) {
		campaign_close(&rn.c);
		return -1;
	}
	if (rn.c.idx.nr_extra)
		cli_warn(&cmd->cli, cmd->log,
			 "the log's super counts %llu entries; %llu more valid entries follow and are used",
			 (unsigned long long)rn.c.idx.nr_super, (unsigned long long)rn.c.idx.nr_extra);
	if (cmd->save_dir && mkdir(cmd->save_dir, 0755) != 0 && errno != EEXIST) {
		campaign_close(&rn.c);
		return fail(e, EXIT_OPERATIONAL, "--save %s: %s", cmd->save_dir, strerror(errno));
	}
	sample_base(&rn);
	warn_data(&rn);
	to = rn.c.plan.n;
	if (cmd->shard_n) {
		from = rn.c.plan.n * (cmd->shard_k - 1) / cmd->shard_n;
		to = rn.c.plan.n * cmd->shard_k / cmd->shard_n;
	}
	res = calloc(to - from + 1, sizeof(*res));
	if (!res) {
		campaign_close(&rn.c);
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	}
	if (cmd->plan.reorder && !cmd->cli.quiet && !cmd->cli.json)
		fprintf(stderr, "ext4da-crash: reorder seed %llu\n", (unsigned long long)cmd->plan.seed);
	progress_start(&prog, &cmd->cli, "states", to - from);
	if (cmd->jobs > 1)
		rc = evaluate_parallel(&rn, from, to, res, &prog, e);
	else
		rc = evaluate_range(&rn, from, to, res, -1, &prog, e);
	progress_end(&prog);
	if (rc == 0) {
		for (size_t i = 0; i < to - from; i++) {
			if (cmd->cli.json)
				state_json(stdout, cmd, &rn.c.plan, &res[i]);
			if (res[i].failed && sum.first_bad == SIZE_MAX)
				sum.first_bad = i;
			if (!res[i].failed && sum.first_bad == SIZE_MAX)
				sum.last_good = i;
		}
		why_empty(&rn, from, to, sum.empty, sizeof(sum.empty));
		print_summary(cmd, &rn.c.plan, res, to - from, &sum);
		rc = sum.first_bad != SIZE_MAX ? EXIT_PROBLEMS : EXIT_CLEAN;
		if (sum.empty[0] && !cmd->allow_empty) {
			cli_warn(&cmd->cli, cmd->log, "no crash state checked (%s); --allow-empty "
				 "accepts that", sum.empty);
			rc = EXIT_PROBLEMS;
		}
	}
	free(res);
	campaign_close(&rn.c);
	return rc;
}

int materialize_state(struct crash_cmd *cmd, uint64_t state, const char *file, struct err *e)
{
	struct run rn;
	struct crash_cursor cur;
	struct overlay *top;
	int rc = -1;

	if (access(file, F_OK) == 0)
		return fail(e, EXIT_OPERATIONAL, "%s already exists; remove it first", file);
	if (open_run(&rn, cmd, e)) {
		campaign_close(&rn.c);
		return -1;
	}
	if (state >= rn.c.plan.n) {
		fail(e, EXIT_USAGE, "--materialize %llu: the plan has %zu states (0 to %zu)",
		     (unsigned long long)state, rn.c.plan.n, rn.c.plan.n ? rn.c.plan.n - 1 : 0);
	} else if (campaign_cursor(&rn.c, &cur, e) == 0) {
		if (campaign_seek(&rn.c, &cur, (size_t)state, &top, e) == 0)
			rc = campaign_write_image(&rn.c, top, file, 0, e);
		crash_cursor_free(&cur);
	}
	campaign_close(&rn.c);
	return rc;
}
