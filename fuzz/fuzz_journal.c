/* fuzz_journal: open an in-memory image through the overlay io manager,
 * find and validate its journal, scan the log and replay it into the
 * overlay, as ext4da-check does.  Input: a sparse image (fuzz_input.h). */
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz_input.h"
#include "lib/blockdev/image.h"
#include "lib/blockdev/overlay.h"
#include "lib/journal/recovery.h"
#include "lib/journal/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void replay_journal(ext2_filsys fs)
{
	struct replay_sink sink;
	struct recovery rs;
	struct err e = { 0 };

	if (recovery_open(&rs, fs, NULL, &e))
		return;
	io_sink_init(&sink, fs->io);
	if (recovery_replay(&rs, &sink, &e) == 0)
		recovery_finish_fs_only(&rs, &e);
	recovery_close(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct image_open_opts io = { .writable = 1, .manager = overlay_io_manager };
	struct fuzz_file f;
	struct overlay *ov;
	struct err e = { 0 };
	ext2_filsys fs;
	char name[64];

	if (fuzz_file_image(&f, data, len))
		return 0;
	ov = overlay_new(f.fd, f.size, NULL);
	if (ov) {
		overlay_io_name(ov, name, sizeof(name));
		/* Writes land in the overlay; the image must hold the filesystem,
		 * as image_open checks for a file. */
		if (image_open(name, &io, &fs, &e) == 0) {
			if (image_check_size(fs, f.size, &e) == 0)
				replay_journal(fs);
			image_close(fs, NULL);
		}
		overlay_free(ov);
	}
	fuzz_file_close(&f);
	return 0;
}
