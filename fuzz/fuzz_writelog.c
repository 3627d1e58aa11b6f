/* fuzz_writelog: the dm-log-writes reader on a raw log: the super, every
 * entry and its payload, the index, and the device-bounds check. */
#include <stdint.h>

#include "fuzz/fuzz_input.h"
#include "lib/crash/writelog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct writelog *wl;
	struct wl_entry ent;
	struct wl_index idx;
	struct fuzz_file f;
	struct err e = { 0 };
	uint8_t buf[512];
	char names[64];

	if (fuzz_file_raw(&f, data, len))
		return 0;
	if (writelog_open(f.path, &wl, &e) == 0) {
		while (writelog_next(wl, &ent, &e) == 1) {
			wl_flag_names(ent.flags, names, sizeof(names));
			if (ent.payload_len)
				writelog_read_data(wl, &ent, ent.payload_len - 1, buf, 1, &e);
		}
		writelog_end_reason(wl);
		if (writelog_scan(wl, &idx, &e) == 0) {
			writelog_check_device(&idx, 1 << 20, &e);
			wl_index_free(&idx);
		}
		writelog_close(wl);
	}
	fuzz_file_close(&f);
	return 0;
}
