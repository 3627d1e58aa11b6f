/* fuzz_decoders: the decoders of what ext4da-stamp and ext4da-mark write
 * into data blocks: stamps, poison, sector verdicts over a block, mark
 * records, and the scan of a logged write for mark records. */
#include <stdint.h>
#include <string.h>

#include "lib/core/mark.h"
#include "lib/core/stamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static int count_mark(void *ctx, uint32_t slot, const struct mark_record *r)
{
	(void)slot, (void)r;
	(*(int *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t sector[512], rec[MARK_RECORD_SIZE];
	struct sector_detail d;
	struct block_scan bs;
	struct mark_record r;
	struct mark_area a;
	struct stamp s;
	uint64_t no, ino = 0, off = 0;
	int visited = 0;

	memset(sector, 0, sizeof(sector));
	memcpy(sector, data, len < sizeof(sector) ? len : sizeof(sector));
	if (len >= 16) {
		memcpy(&ino, data + len - 16, 8);
		memcpy(&off, data + len - 8, 8);
	}
	stamp_parse(sector, &s);
	poison_sector_check(sector, &no);
	sector_classify(sector, ino, (uint32_t)ino, off, &d);
	/* Whole blocks of whatever size the input makes, sector by sector. */
	sector_scan_block(data, len & ~(size_t)511, ino, (uint32_t)off, off, &bs);
	memset(rec, 0, sizeof(rec));
	memcpy(rec, data, len < sizeof(rec) ? len : sizeof(rec));
	if (mark_record_decode(rec, &r) == MARK_OK)
		mark_record_encode(&r, rec);
	if (mark_area_locate((off & 0xffffffffffULL) | MARK_MIN_DEVICE, &a) == 0)
		mark_scan_write(&a, a.start + (ino % (a.end - a.start + 1)), data, len, count_mark,
				&visited);
	return 0;
}
