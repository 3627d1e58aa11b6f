/* fuzz_crashplan: the crash-state planner over a raw write log, with
 * --reorder (subsets of each epoch's unflushed writes, sampled when an
 * epoch is large), for each way of choosing crash points. */
#include <stdint.h>

#include "fuzz/fuzz_input.h"
#include "lib/crash/crash.h"
#include "lib/crash/writelog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void plan(const struct wl_index *idx, enum points_mode mode, const uint8_t *data,
		 size_t len)
{
	uint64_t list[3] = { 0, 1, idx->nr ? idx->nr - 1 : 0 };
	struct plan_opts o = { .mode = mode, .reorder = 1, .max_states = 64,
			       .seed = len ? data[0] : 0, .list = list, .nlist = 3,
			       .mark_entries = list, .nmark_entries = idx->nr ? 1 : 0 };
	struct crash_plan p = { 0 };
	struct err e = { 0 };

	if (crash_plan_build(idx, &o, &p, &e) == 0)
		crash_plan_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct writelog *wl;
	struct wl_index idx;
	struct fuzz_file f;
	struct err e = { 0 };

	if (fuzz_file_raw(&f, data, len))
		return 0;
	if (writelog_open(f.path, &wl, &e) == 0) {
		if (writelog_scan(wl, &idx, &e) == 0) {
			plan(&idx, POINTS_FLUSH, data, len);
			plan(&idx, POINTS_MARK, data, len);
			plan(&idx, POINTS_EVERY, data, len);
			plan(&idx, POINTS_LIST, data, len);
			wl_index_free(&idx);
		}
		writelog_close(wl);
	}
	fuzz_file_close(&f);
	return 0;
}
