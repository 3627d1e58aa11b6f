/* campaign.c: see campaign.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/crash/campaign.h"
#include "lib/blockdev/image.h"
#include "lib/core/fdio.h"
#include "lib/process/outfile.h"
#include "lib/audit/paths.h"

int campaign_is_mark(const struct campaign *c, uint64_t i, const char *name)
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
		if (campaign_is_mark(c, i, name)) {
			*out = i;
			return 0;
		}
	return fail(e, EXIT_USAGE, "%s %s: the log has no mark of that name", opt, name);
}

/* --points mark:NAME,...: every entry that is one of the marks. */
static int resolve_mark_points(struct campaign *c, const char *mark_names, struct err *e)
{
	char *names = strdup(mark_names), *save = NULL;
	int rc = 0;

	if (!names)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	for (char *n = strtok_r(names, ",", &save); n && rc == 0; n = strtok_r(NULL, ",", &save)) {
		size_t before = c->npoints;

		for (uint64_t i = 0; i < c->idx.nr && rc == 0; i++) {
			uint64_t *p;

			if (!campaign_is_mark(c, i, n))
				continue;
			p = realloc(c->points, (c->npoints + 1) * sizeof(*p));
			if (!p)
				rc = fail(e, EXIT_OPERATIONAL, "out of memory");
			else
				(c->points = p)[c->npoints++] = i;
		}
		if (rc == 0 && c->npoints == before)
			rc = fail(e, EXIT_USAGE, "--points mark:%s: the log has no mark of that name", n);
	}
	free(names);
	return rc;
}

/* --start-mark and --end-mark: drop the states outside the range; a
 * reordered state stays only if its writes are inside it too. */
static int bound_by_marks(struct campaign *c, const struct campaign_opts *o, struct err *e)
{
	uint64_t from = 0, to = UINT64_MAX;
	size_t kept = 0;

	if (o->start_mark && find_mark(c, "--start-mark", o->start_mark, &from, e))
		return -1;
	if (o->end_mark && find_mark(c, "--end-mark", o->end_mark, &to, e))
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

static int open_base(struct campaign *c, struct err *e)
{
	if (image_check_path(c->base_path, e))
		return fail(e, EXIT_OPERATIONAL, "--base %s: %s", c->base_path, e->msg);
	c->base_fd = open(c->base_path, O_RDONLY);
	if (c->base_fd < 0 || fd_size_bytes(c->base_fd, &c->base_size))
		return fail(e, EXIT_OPERATIONAL, "--base %s: %s", c->base_path, strerror(errno));
	/* Read once for the whole campaign: every state, every worker. */
	if (c->base_size && c->base_size <= SIZE_MAX) {
		void *m = mmap(NULL, (size_t)c->base_size, PROT_READ, MAP_SHARED, c->base_fd, 0);

		if (m != MAP_FAILED)
			c->base_map = m;
	}
	return 0;
}

int campaign_open(const struct campaign_opts *o, struct campaign *c, struct err *e)
{
	struct plan_opts po = o->plan;

	memset(c, 0, sizeof(*c));
	c->base_path = o->base;
	c->log_path = o->log;
	c->base_fd = -1;
	if (open_base(c, e))
		return -1;
	if (writelog_open(o->log, &c->wl, e) || writelog_scan(c->wl, &c->idx, e))
		return fail(e, EXIT_OPERATIONAL, "--log %s: %s", o->log, e->msg);
	if (writelog_check_device(&c->idx, c->base_size, e))
		return fail(e, EXIT_OPERATIONAL, "--log %s: %s (--base %s has %llu bytes)",
			    o->log, e->msg, o->base, (unsigned long long)c->base_size);
	if (log_marks_collect(c->wl, &c->idx, c->base_size, &c->marks, e))
		return fail(e, EXIT_OPERATIONAL, "--log %s: %s", o->log, e->msg);
	c->mark_entries = malloc((c->marks.n + 1) * sizeof(uint64_t));
	if (!c->mark_entries)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	for (size_t i = 0; i < c->marks.n; i++)
		c->mark_entries[i] = c->marks.v[i].entry;
	po.mark_entries = c->mark_entries;
	po.nmark_entries = c->marks.n;
	if (o->mark_names) {
		if (resolve_mark_points(c, o->mark_names, e))
			return -1;
		po.mode = POINTS_LIST;
		po.list = c->points;
		po.nlist = c->npoints;
	}
	if (crash_plan_build(&c->idx, &po, &c->plan, e))
		return -1;
	if ((o->start_mark || o->end_mark) && bound_by_marks(c, o, e))
		return -1;
	return 0;
}

void campaign_close(struct campaign *c)
{
	crash_plan_free(&c->plan);
	log_marks_free(&c->marks);
	free(c->mark_entries);
	free(c->points);
	wl_index_free(&c->idx);
	if (c->wl)
		writelog_close(c->wl);
	if (c->base_map)
		munmap((void *)c->base_map, (size_t)c->base_size);
	if (c->base_fd >= 0)
		close(c->base_fd);
	memset(c, 0, sizeof(*c));
	c->base_fd = -1;
}

int campaign_cursor(const struct campaign *c, struct crash_cursor *cur, struct err *e)
{
	return crash_cursor_init(cur, c->wl, &c->idx, c->base_fd, c->base_map, c->base_size, e);
}

int campaign_seek(const struct campaign *c, struct crash_cursor *cur, size_t i,
		  struct overlay **top, struct err *e)
{
	if (i >= c->plan.n)
		return fail(e, EXIT_USAGE, "state %zu: the plan has %zu states (0 to %zu)", i,
			    c->plan.n, c->plan.n ? c->plan.n - 1 : 0);
	return crash_cursor_seek(cur, &c->plan.states[i], top, e);
}

int campaign_state_open(const struct campaign *c, struct crash_cursor *cur, size_t i,
			int data_scan, struct campaign_state *st)
{
	struct view_opts vo = { .replay = 1, .vcache = &cur->vcache, .resume = &cur->resume };
	struct audit_opts ao = { .data_scan = data_scan };
	struct err e = { 0 };

	memset(st, 0, sizeof(*st));
	st->index = i;
	st->s = i < c->plan.n ? &c->plan.states[i] : NULL;
	if (campaign_seek(c, cur, i, &st->top, &e) || view_open_on(st->top, &vo, &st->view, &e)) {
		st->unreadable = 1;
		snprintf(st->note, sizeof(st->note), "%s", e.msg);
		return -1;
	}
	st->opened = 1;
	if (audit_run(st->view.fs, &ao, &st->findings, &st->stats, &e)) {
		st->unreadable = 1;
		snprintf(st->note, sizeof(st->note), "%s", e.msg);
		return 0;
	}
	if (durability_check(st->view.fs, &c->marks, st->s->entry, st->note,
			     sizeof(st->note)) == 1)
		st->durability_broken = 1;
	/* Paths for the failing findings, as ext4da-check names them. */
	if (findings_errors(&st->findings))
		findings_name_paths(st->view.fs, &st->findings);
	return 0;
}

void campaign_state_close(struct campaign_state *st)
{
	free(st->stats.dirs_per_group);
	findings_free(&st->findings);
	if (st->opened)
		view_close(&st->view);
	memset(st, 0, sizeof(*st));
}

int campaign_write_image(const struct campaign *c, struct overlay *ov, const char *path,
			 int replace, struct err *e)
{
	char tmp[4200];
	int fd = outfile_temp(path, tmp, sizeof(tmp), e);

	if (fd < 0)
		return -1;
	close(fd);
	unlink(tmp);	/* image_copy makes it anew, sparse like the base */
	if (image_copy(c->base_path, tmp, path, e)) {
		outfile_discard(-1, tmp);
		return -1;
	}
	fd = open(tmp, O_WRONLY);
	if (fd < 0 || overlay_materialize(ov, fd)) {
		fail(e, EXIT_OPERATIONAL, "%s: %s", path, strerror(errno));
		outfile_discard(fd, tmp);
		return -1;
	}
	return outfile_publish(fd, tmp, path, replace, e);
}

int campaign_scratch_image(const struct campaign *c, struct overlay *ov, const char *dir,
			   char *name, size_t len, struct err *e)
{
	char tmp[4200];
	int fd;

	snprintf(tmp, sizeof(tmp), "%.4000s/ext4da-scratch.XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0)
		return fail(e, EXIT_OPERATIONAL, "%s: %s", dir, strerror(errno));
	unlink(tmp);
	if (image_copy_into(c->base_path, fd, "scratch image", e) ||
	    overlay_materialize(ov, fd)) {
		if (!e->exit_code)
			fail(e, EXIT_OPERATIONAL, "scratch image in %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(name, len, "/proc/%ld/fd/%d", (long)getpid(), fd);
	return fd;
}
