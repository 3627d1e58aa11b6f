/* overlay.h: a copy-on-write view of an image.  Reads fall through to the
 * image file (or to a lower overlay); writes stay in memory.  The overlay is
 * also an io_manager, so libext2fs, journal replay and the audit run on it
 * unchanged: ext4da-check replays a journal into one without touching the
 * image, and crash states are overlays over a write log. */
#ifndef EXT4DA_OVERLAY_H
#define EXT4DA_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include <ext2fs/ext2fs.h>

#include "lib/core/error.h"

#define OVERLAY_CHUNK 4096

struct overlay;

/* Over an open read-only file descriptor of size bytes (not owned), or over
 * a lower overlay (fd < 0). */
struct overlay *overlay_new(int fd, uint64_t size, struct overlay *lower);
/* Over a read-only mapping of the whole image (not owned): reads are
 * copies, not system calls, and processes forked later share it. */
struct overlay *overlay_new_mapped(const void *base, uint64_t size);
void overlay_free(struct overlay *ov);
/* Forget every write, keeping the memory for reuse. */
void overlay_reset(struct overlay *ov);

uint64_t overlay_size(const struct overlay *ov);
size_t overlay_chunks(const struct overlay *ov);	/* chunks held in memory */

int overlay_read(struct overlay *ov, uint64_t off, void *buf, size_t len);
int overlay_write(struct overlay *ov, uint64_t off, const void *buf, size_t len);
int overlay_zero(struct overlay *ov, uint64_t off, uint64_t len);
/* The same as overlay_write, but whole chunks of buf are borrowed, not
 * copied: buf must stay valid and unchanged while ov holds them (a
 * read-only mapping of the write log that outlives the overlay).  A later
 * write to such a chunk copies it first.  With EXT4DA_NO_STATE_CACHE set
 * it copies everything (a test switch). */
int overlay_write_shared(struct overlay *ov, uint64_t off, const void *buf, size_t len);

/* Is EXT4DA_NO_STATE_CACHE set (and not "0")?  Then nothing computed for
 * one crash state is reused by the next: a test switch, to compare. */
int state_cache_disabled(void);

/* The generation of [off, off + len) as seen through ov: the newest write
 * any overlay of the stack made to a chunk of it, 0 if none ever did (the
 * image's own bytes).  Every write takes a new generation, and a reset
 * drops the chunk, so equal generations mean equal bytes: caches of
 * anything computed from the bytes compare it instead of being told. */
uint64_t overlay_generation(const struct overlay *ov, uint64_t off, uint64_t len);

/* The bytes of the chunk at off (a multiple of OVERLAY_CHUNK, inside the
 * image) as ov sees them, without a copy: from the top-most overlay of the
 * stack that holds the chunk, else from the base's mapping.  NULL when the
 * stack ends in a file descriptor (overlay_new) and no overlay holds it.
 * The pointer stays valid while no overlay of the stack writes that chunk
 * or is reset or freed. */
const uint8_t *overlay_peek(const struct overlay *ov, uint64_t off);
/* Does the stack end in a mapping of the base (overlay_new_mapped), so that
 * overlay_peek answers for every chunk? */
int overlay_peekable(const struct overlay *ov);
/* The overlay below ov (NULL for the bottom one). */
struct overlay *overlay_lower(const struct overlay *ov);

/* Keep a list of the chunks ov writes from now on (until it is reset or
 * freed), so that what changed since a stamp can be told without looking
 * at every chunk: the crash cursor's overlays do. */
void overlay_track_writes(struct overlay *ov);

/* What a stack had written when a stamp was taken: for each overlay of it
 * that held chunks, its identity (new on each reset) and how many writes
 * it had made.  ok is 0 when that cannot be told (an overlay holding
 * chunks that does not track its writes, or too deep a stack). */
#define OVERLAY_STAMP_DEPTH 4
struct overlay_stamp {
	int ok;
	size_t n;
	struct {
		uint64_t id;
		size_t writes;
	} level[OVERLAY_STAMP_DEPTH];
};
void overlay_stamp(const struct overlay *ov, struct overlay_stamp *s);
/* Call fn with the number of each chunk whose bytes, as ov shows them, may
 * differ from when stamp s was taken of the same stack (possibly with
 * empty overlays on top): every chunk written since, including by
 * overlays that were empty then.  -1 if that cannot be told (an overlay
 * that held chunks then was reset or is gone, or s is not ok), or what fn
 * returned if not 0. */
int overlay_changed_since(const struct overlay *ov, const struct overlay_stamp *s,
			  int (*fn)(void *ctx, uint64_t chunk), void *ctx);

/* Write every chunk this overlay (and those below it) holds into fd, at
 * its offset: fd holding a copy of the base becomes the overlay's image. */
int overlay_materialize(struct overlay *ov, int fd);

/* Call fn on each chunk this overlay itself holds (not those below it). */
int overlay_each(struct overlay *ov, int (*fn)(void *ctx, uint64_t off, const void *data,
						size_t len), void *ctx);

/* The io_manager, and the name to open an overlay with through it. */
extern io_manager overlay_io_manager;
void overlay_io_name(struct overlay *ov, char *buf, size_t len);

#endif
