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
	return c == FAIL_UNREADABLE ? "UNREADABLE" : c == FAIL_FSCK ? "FSCK" : "DURABILITY";
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
	if (crash_plan_build(&c->idx, &cmd->plan, &c->plan, e))
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

static void run_fsck(struct campaign *c, struct view *v, struct state_result *r)
{
	char tmp[] = "/tmp/ext4da-crash-fsck.XXXXXX", *cmdline;
	struct err e = { 0 };
	size_t len;
	int fd, status;

	fd = mkstemp(tmp);
	if (fd < 0)
		return;
	close(fd);
	unlink(tmp);
	settle_totals(v->fs);
	ext2fs_mark_super_dirty(v->fs);
	v->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	ext2fs_flush(v->fs);	/* into the overlay, never the base */
	if (write_image(c, v->ov, tmp, &e)) {
		snprintf(r->note, sizeof(r->note), "fsck: %s", e.msg);
		r->fsck_exit = 8;
		return;
	}
	len = strlen(c->cmd->fsck_cmd) + strlen(tmp) + 32;
	cmdline = malloc(len);
	if (cmdline) {
		const char *p = strstr(c->cmd->fsck_cmd, "%s");

		if (p)
			snprintf(cmdline, len, "%.*s%s%s", (int)(p - c->cmd->fsck_cmd),
				 c->cmd->fsck_cmd, tmp, p + 2);
		else
			snprintf(cmdline, len, "%s %s", c->cmd->fsck_cmd, tmp);
		strcat(cmdline, " >/dev/null 2>&1");
		status = system(cmdline);
		r->fsck_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 8;
		free(cmdline);
	}
	unlink(tmp);
}

/* A recorded device was poisoned before mkfs, and most of its free space
 * still is: sample sectors across it. */
static int data_wanted(struct campaign *c)
{
	uint8_t buf[SECTOR_SIZE];
	uint64_t sectors = c->base_size / SECTOR_SIZE, n;

	if (c->cmd->data >= 0)
		return c->cmd->data;
	for (uint64_t k = 1; k <= 256 && sectors; k++) {
		uint64_t at = sectors * k / 257;

		if (pread(c->base_fd, buf, sizeof(buf), (off_t)(at * SECTOR_SIZE)) == SECTOR_SIZE &&
		    poison_sector_check(buf, &n))
			return 1;
	}
	return 0;
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
	/* classes may already hold UNREADABLE or DURABILITY */
	r->failed = r->classes != 0;
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
		if (durability_check(v.fs, &c->marks, s->entry, r->note, sizeof(r->note)) == 1)
			r->classes |= 1U << FAIL_DURABILITY;
		if (c->cmd->fsck_cmd)
			run_fsck(c, &v, r);
	}
	free(st.dirs_per_group);
	judge(c, &v, &f, r);
	findings_free(&f);
	view_close(&v);
}

/* Evaluate states [from, to) in order; results go to out[] or to fd. */
static int evaluate_range(struct campaign *c, size_t from, size_t to, struct state_result *out,
			  int fd, struct progress *prog, struct err *e)
{
	struct crash_cursor cur;
	int data = data_wanted(c);

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
			if (prog)
				progress_update(prog, i - from + 1);
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
	size_t n = to - from, done = 0;
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
		pids[w] = fork();
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
			progress_update(prog, ++done);
		}
		if (fds[w] >= 0)
			close(fds[w]);
		if (pids[w] > 0)
			waitpid(pids[w], NULL, 0);
	}
	free(pids);
	free(fds);
	return rc;
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
	}
}

int run_campaign(struct crash_cmd *cmd, struct err *e)
{
	struct campaign c;
	struct state_result *res;
	struct progress prog;
	size_t from = 0, to, first_bad = SIZE_MAX, last_good = SIZE_MAX;
	int rc;

	if (open_campaign(&c, cmd, e)) {
		close_campaign(&c);
		return -1;
	}
	if (c.idx.nr_extra)
		cli_warn(&cmd->cli, cmd->log,
			 "the log's super counts %llu entries; %llu more valid entries follow and are used",
			 (unsigned long long)c.idx.nr_super, (unsigned long long)c.idx.nr_extra);
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
			if (res[i].failed && first_bad == SIZE_MAX)
				first_bad = i;
			if (!res[i].failed && first_bad == SIZE_MAX)
				last_good = i;
		}
		print_summary(cmd, &c.plan, res, to - from, first_bad, last_good);
		if (cmd->save_dir)
			save_failures(&c, res, to - from);
		rc = first_bad != SIZE_MAX ? EXIT_PROBLEMS : EXIT_CLEAN;
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
	close_campaign(&c);
	return rc;
}
