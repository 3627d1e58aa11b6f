/* datascan.h: whether a tool scans file data for stale blocks, and why.
 * The scan is on with --data, off with --no-data, and otherwise on when
 * the device carries poison.  Poison is recognised the way ext4da(7)
 * documents it: the magic, then the sector number of the sector's own
 * position.  The fill words are not needed for that; poison whose fill
 * differs from ext4da's generator is still poison, and worth one warning
 * (another generator, or a different version of this one). */
#ifndef EXT4DA_DATASCAN_H
#define EXT4DA_DATASCAN_H

#include <stddef.h>
#include <stdint.h>

enum poison_match {
	POISON_NONE,		/* no magic, or a sector number from elsewhere */
	POISON_EXACT,		/* magic, own sector number, ext4da's fill */
	POISON_OTHER_FILL,	/* magic, own sector number, another fill */
};

/* Is the sector read at device sector `position` poison? */
enum poison_match poison_at(const void *sector, uint64_t position);

enum datascan_reason {
	DATASCAN_FORCED_ON,	/* --data */
	DATASCAN_FORCED_OFF,	/* --no-data */
	DATASCAN_POISON,	/* the device carries poison */
	DATASCAN_NO_POISON,	/* no sampled sector was poison */
	DATASCAN_UNSAMPLED,	/* nothing could be sampled */
};

struct datascan {
	int forced;			/* 1 --data, 0 --no-data, -1 decide by sampling */
	uint64_t sampled, poisoned, other_fill;
	uint64_t first_other_fill;	/* a sector with another fill, for the warning */
};

/* Count one sampled sector read at device sector `position`. */
void datascan_sample(struct datascan *d, const void *sector, uint64_t position);
/* The decision after sampling. */
int datascan_on(const struct datascan *d);
enum datascan_reason datascan_reason(const struct datascan *d);
/* Short machine name ("forced-on", "poison", ...) and a sentence for the
 * summary ("on: the base carries poison (12 of 256 sampled sectors)"). */
const char *datascan_reason_name(enum datascan_reason r);
void datascan_describe(const struct datascan *d, const char *device_word, char *buf, size_t len);
/* The warning about another fill, or "" when there is none to give. */
void datascan_fill_warning(const struct datascan *d, char *buf, size_t len);

#endif
