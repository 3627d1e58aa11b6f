/* stale.c: the data scan.  A written block inside i_size must hold what
 * the file wrote; a sector that still carries the device's poison was never
 * written, so the extent map points at stale data (SPEC section 7). */
#include <stdio.h>
#include <string.h>

#include "lib/audit_ctx.h"

#define SECTOR 512
static const char poison_magic[8] = { 'E', '4', 'D', 'A', 'P', 'O', 'I', 'S' };

static void stale_finding(struct audit_ctx *a, uint32_t ino, uint64_t lblk, uint64_t pblk,
			  const char *why)
{
	struct finding f = { .code = F_STALE, .severity = SEV_ERROR, .ino = ino,
			     .has_logical = 1, .lblk = lblk, .lblocks = 1, .block = pblk,
			     .blocks = 1 };

	f.group = (int64_t)ext2fs_group_of_blk2(a->fs, pblk);
	snprintf(f.detail, sizeof(f.detail), "%s", why);
	add_finding(a, &f);
	a->st->stale_blocks++;
}

static int block_is_poisoned(const uint8_t *blk, size_t bs)
{
	for (size_t off = 0; off < bs; off += SECTOR)
		if (memcmp(blk + off, poison_magic, sizeof(poison_magic)) == 0)
			return 1;
	return 0;
}

int scan_extent_data(struct audit_ctx *a, uint32_t ino, uint32_t gen, uint64_t lblk,
		     uint64_t pblk, uint64_t n)
{
	ext2_filsys fs = a->fs;
	uint8_t *buf = a->block_buf;
	uint64_t per = AUDIT_BUF_BYTES / fs->blocksize;

	(void)gen;
	if (per == 0)
		per = 1;
	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < per ? n - done : per;
		errcode_t rc = io_channel_read_blk64(fs->io, pblk + done, (int)k, buf);

		if (rc)
			return 0;	/* beyond the device: reported by ownership */
		for (uint64_t i = 0; i < k; i++)
			if (block_is_poisoned(buf + i * fs->blocksize, fs->blocksize))
				stale_finding(a, ino, lblk + done + i, pblk + done + i,
					      "never written: still holds the device's poison");
		a->st->data_blocks_scanned += k;
		done += k;
	}
	return 0;
}
