/* datascan.c: the data scan decision (datascan.h). */
#include <stdio.h>
#include <string.h>

#include "lib/core/datascan.h"
#include "lib/core/endian.h"
#include "lib/core/stamp.h"

enum poison_match poison_at(const void *sector, uint64_t position)
{
	const uint8_t *p = sector;

	if (memcmp(p + POISON_OFF_MAGIC, POISON_MAGIC, FORMAT_MAGIC_LEN) ||
	    le64_get(p + POISON_OFF_SECTOR) != position)
		return POISON_NONE;
	return poison_sector_check(sector, NULL) ? POISON_EXACT : POISON_OTHER_FILL;
}

void datascan_sample(struct datascan *d, const void *sector, uint64_t position)
{
	enum poison_match m = poison_at(sector, position);

	d->sampled++;
	if (m == POISON_NONE)
		return;
	d->poisoned++;
	if (m == POISON_OTHER_FILL && d->other_fill++ == 0)
		d->first_other_fill = position;
}

enum datascan_reason datascan_reason(const struct datascan *d)
{
	if (d->forced >= 0)
		return d->forced ? DATASCAN_FORCED_ON : DATASCAN_FORCED_OFF;
	if (d->poisoned)
		return DATASCAN_POISON;
	return d->sampled ? DATASCAN_NO_POISON : DATASCAN_UNSAMPLED;
}

int datascan_on(const struct datascan *d)
{
	enum datascan_reason r = datascan_reason(d);

	return r == DATASCAN_FORCED_ON || r == DATASCAN_POISON;
}

const char *datascan_reason_name(enum datascan_reason r)
{
	static const char *const names[] = {
		[DATASCAN_FORCED_ON] = "forced-on",
		[DATASCAN_FORCED_OFF] = "forced-off",
		[DATASCAN_POISON] = "poison",
		[DATASCAN_NO_POISON] = "no-poison",
		[DATASCAN_UNSAMPLED] = "unsampled",
	};

	return names[r];
}

void datascan_describe(const struct datascan *d, const char *device_word, char *buf, size_t len)
{
	switch (datascan_reason(d)) {
	case DATASCAN_FORCED_ON:
		snprintf(buf, len, "on (--data)");
		break;
	case DATASCAN_FORCED_OFF:
		snprintf(buf, len, "off (--no-data)");
		break;
	case DATASCAN_POISON:
		snprintf(buf, len, "on: the %s carries poison (%llu of %llu sampled sectors)",
			 device_word, (unsigned long long)d->poisoned,
			 (unsigned long long)d->sampled);
		break;
	case DATASCAN_NO_POISON:
		snprintf(buf, len, "off: no poison in %llu sampled sectors of the %s (--data forces it)",
			 (unsigned long long)d->sampled, device_word);
		break;
	case DATASCAN_UNSAMPLED:
		snprintf(buf, len, "off: the %s could not be sampled for poison (--data forces it)",
			 device_word);
		break;
	}
}

void datascan_fill_warning(const struct datascan *d, char *buf, size_t len)
{
	if (!d->other_fill || datascan_reason(d) == DATASCAN_FORCED_OFF) {
		*buf = 0;
		return;
	}
	snprintf(buf, len, "%llu sampled poison sector(s), the first at sector %llu, have the "
		 "magic and their own sector number but fill words that differ from ext4da's; "
		 "taken as poison", (unsigned long long)d->other_fill,
		 (unsigned long long)d->first_other_fill);
}
