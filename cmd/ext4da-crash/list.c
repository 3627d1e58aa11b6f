/* list.c: ext4da-crash --list, the log one entry a line, like replay-log
 * -v: index, sector, length, flags, mark text, and for writes what they
 * hit in the filesystem (lib/crash/layout.c), judged by the layout the log ends
 * with (mkfs may be in the log), else the base's. */
#include <string.h>

#include <json-c/json.h>

#include "cmd/ext4da-crash/crash.h"
#include "lib/crash/campaign.h"
#include "lib/blockdev/image.h"
#include "lib/crash/layout.h"

/* The layout of the filesystem after the whole log (or, failing that, of
 * the base); 0 if there is one. */
int log_layout(struct campaign *c, struct fs_layout *l)
{
	struct crash_state last = { .entry = c->idx.nr ? c->idx.nr - 1 : NO_ENTRY };
	struct crash_state none = { .entry = NO_ENTRY };
	const struct crash_state *try[2] = { &last, &none };
	struct crash_cursor cur;
	struct err e = { 0 };
	int rc = -1;

	if (campaign_cursor(c, &cur, &e))
		return -1;
	for (int k = 0; k < 2 && rc; k++) {
		struct image_open_opts io = { .manager = overlay_io_manager };
		struct overlay *top;
		ext2_filsys fs = NULL;
		char name[64];

		if (crash_cursor_seek(&cur, try[k], &top, &e))
			continue;
		overlay_io_name(top, name, sizeof(name));
		if (image_open(name, &io, &fs, &e) == 0) {
			rc = fs_layout_build(fs, l, &e);
			ext2fs_close_free(&fs);
		}
	}
	crash_cursor_free(&cur);
	return rc;
}

/* The names of what entry en hit, joined by ", ". */
void entry_hits(const struct campaign *c, const struct fs_layout *l, const struct wl_entry *en,
		unsigned *kinds, char *buf, size_t len)
{
	uint64_t ss = c->idx.sector_size;
	size_t n = 0;

	buf[0] = 0;
	*kinds = 0;
	if ((en->flags & WL_MARK) || !en->nr_sectors || !l->blocksize)
		return;
	*kinds = fs_layout_classify(l, en->sector * ss, en->nr_sectors * ss);
	for (int k = 0; k < LK_NKINDS; k++)
		if (*kinds & (1U << k) && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
					      layout_kind_name((enum layout_kind)k));
}

/* The ext4da-mark record entry i wrote, or NULL. */
const char *entry_mark_record(const struct campaign *c, uint64_t i)
{
	for (size_t k = 0; k < c->marks.n; k++)
		if (c->marks.v[k].entry == i)
			return c->marks.v[k].rec.name;
	return NULL;
}

static void entry_json(const struct campaign *c, const struct wl_entry *en, unsigned kinds,
		       const char *record)
{
	json_object *o = json_object_new_object(), *fl = json_object_new_array(), *h = NULL;
	char names[128];

	wl_flag_names(en->flags, names, sizeof(names));
	for (char *save = NULL, *t = strtok_r(names, "|", &save); t; t = strtok_r(NULL, "|", &save))
		json_object_array_add(fl, json_object_new_string(t));
	if (!(en->flags & WL_MARK) && en->nr_sectors && kinds) {
		h = json_object_new_array();
		for (int k = 0; k < LK_NKINDS; k++)
			if (kinds & (1U << k))
				json_object_array_add(h, json_object_new_string(
							 layout_kind_name((enum layout_kind)k)));
	}
	json_object_object_add(o, "schema", json_object_new_string("ext4da-crash/1"));
	json_object_object_add(o, "type", json_object_new_string("entry"));
	json_object_object_add(o, "entry", json_object_new_int64((int64_t)en->index));
	json_object_object_add(o, "sector", json_object_new_int64((int64_t)en->sector));
	json_object_object_add(o, "sectors", json_object_new_int64((int64_t)en->nr_sectors));
	json_object_object_add(o, "sector_size", json_object_new_int64(c->idx.sector_size));
	json_object_object_add(o, "flags", fl);
	json_object_object_add(o, "mark", en->mark ? json_object_new_string(en->mark) : NULL);
	json_object_object_add(o, "mark_record", record ? json_object_new_string(record) : NULL);
	json_object_object_add(o, "hits", h);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int list_log(struct crash_cmd *cmd, struct err *e)
{
	struct campaign_opts o = { .base = cmd->base, .log = cmd->log, .plan = cmd->plan };
	struct fs_layout l = { 0 };
	struct campaign c;

	o.plan.reorder = 0;
	if (campaign_open(&o, &c, e)) {
		campaign_close(&c);
		return -1;
	}
	if (log_layout(&c, &l) && !cmd->cli.quiet)
		cli_warn(&cmd->cli, cmd->log, "no ext4 filesystem after the log or in the base: "
			 "writes are not classified");
	if (!cmd->cli.json)
		printf("%8s %12s %8s  %-16s %s\n", "entry", "sector", "sectors", "flags", "what");
	for (uint64_t i = 0; i < c.idx.nr; i++) {
		const struct wl_entry *en = &c.idx.entries[i];
		const char *record = entry_mark_record(&c, i);
		char flags[128], what[256];
		unsigned kinds;

		entry_hits(&c, &l, en, &kinds, what, sizeof(what));
		if (cmd->cli.json) {
			entry_json(&c, en, kinds, record);
			continue;
		}
		wl_flag_names(en->flags, flags, sizeof(flags));
		if (en->flags & WL_MARK)
			printf("%8llu %12s %8s  %-16s mark \"%s\"\n", (unsigned long long)i, "-", "-",
			       flags, en->mark ? en->mark : "");
		else
			printf("%8llu %12llu %8llu  %-16s %s%s%s%s\n", (unsigned long long)i,
			       (unsigned long long)en->sector, (unsigned long long)en->nr_sectors,
			       flags[0] ? flags : "-", what, record ? (what[0] ? "; " : "") : "",
			       record ? "mark record " : "", record ? record : "");
	}
	fs_layout_free(&l);
	campaign_close(&c);
	return EXIT_CLEAN;
}
