/* stale.c: the data scan.  A written block inside i_size must hold what
 * the file wrote: zeros, data that is not ours, or this inode's own stamps
 * at this offset.  The device's poison (never written) or another file's
 * stamp means the extent map points at stale data (doc/design.md §2, ext4da(7)). */
#include <stdio.h>
#include <string.h>

#include "lib/audit/audit_ctx.h"
#include "lib/core/stamp.h"

static void stale_finding(struct audit_ctx *a, uint32_t ino, uint64_t lblk, uint64_t pblk,
			  const struct block_scan *bs)
{
	struct finding f = { .code = F_STALE, .severity = SEV_ERROR, .ino = ino,
			     .has_logical = 1, .lblk = lblk, .lblocks = 1, .block = pblk,
			     .blocks = 1 };
	const struct sector_detail *d = &bs->first_bad_detail;

	f.group = (int64_t)ext2fs_group_of_blk2(a->fs, pblk);
	switch (bs->first_bad_verdict) {
	case SECTOR_POISON:
		snprintf(f.detail, sizeof(f.detail),
			 "never written: holds the device's poison (sector %llu)",
			 (unsigned long long)d->sector_no);
		break;
	case SECTOR_FOREIGN_STAMP:
		snprintf(f.detail, sizeof(f.detail),
			 "holds data written for inode %llu generation %u at offset %llu",
			 (unsigned long long)d->stamp.ino, d->stamp.gen,
			 (unsigned long long)d->stamp.file_offset);
		break;
	default:
		/* Poison from another generator: the magic and this very sector's
		 * number, other fill words.  Still never written. */
		if (d->poison && d->sector_no == pblk * (a->fs->blocksize / SECTOR_SIZE) + bs->first_bad)
			snprintf(f.detail, sizeof(f.detail),
				 "never written: holds poison (sector %llu) whose fill words differ "
				 "from ext4da's", (unsigned long long)d->sector_no);
		else
			snprintf(f.detail, sizeof(f.detail), "holds a damaged stamp or torn poison");
		break;
	}
	add_finding(a, &f);
	a->st->stale_blocks++;
}

int scan_extent_data(struct audit_ctx *a, uint32_t ino, uint32_t gen, uint64_t lblk,
		     uint64_t pblk, uint64_t n)
{
	ext2_filsys fs = a->fs;
	uint8_t *buf = a->block_buf;
	uint64_t per = AUDIT_BUF_BYTES / fs->blocksize;

	if (per == 0)
		per = 1;
	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < per ? n - done : per;
		errcode_t rc = io_channel_read_blk64(fs->io, pblk + done, (int)k, buf);

		if (rc)
			return 0;	/* beyond the device: reported by ownership */
		for (uint64_t i = 0; i < k; i++) {
			struct block_scan bs;
			uint64_t l = lblk + done + i;

			if (sector_scan_block(buf + i * fs->blocksize, fs->blocksize, ino, gen,
					      l * fs->blocksize, &bs))
				stale_finding(a, ino, l, pblk + done + i, &bs);
		}
		a->st->data_blocks_scanned += k;
		done += k;
	}
	return 0;
}
