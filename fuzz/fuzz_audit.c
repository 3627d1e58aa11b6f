/* fuzz_audit: ext4da-check's work on a mutated small image: open the view
 * (overlay, journal replayed in memory, damage kept), then the audit with
 * the data scan.  Input: a sparse image (fuzz_input.h). */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/fuzz_input.h"
#include "lib/audit/audit.h"
#include "lib/audit/findings.h"
#include "lib/audit/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct view_opts vo = { .replay = 1, .keep_damage = 1 };
	struct audit_opts ao = { .data_scan = 1, .keep_owner_map = 1 };
	struct audit_stats st = { 0 };
	struct findings fnd = { 0 };
	struct fuzz_file f;
	struct err e = { 0 };
	struct view v;

	if (fuzz_file_image(&f, data, len))
		return 0;
	if (view_open(f.path, &vo, &v, &e) == 0) {
		ao.desc_damage = v.desc_damage;
		audit_run(v.fs, &ao, &fnd, &st, &e);
		if (st.owner_map)
			ext2fs_free_block_bitmap(st.owner_map);
		free(st.dirs_per_group);
		findings_free(&fnd);
		view_close(&v);
	}
	fuzz_file_close(&f);
	return 0;
}
