/* fc_extents.h: one inode's block mapping as a flat list of extents, the
 * form fast-commit replay edits it in: ADD_RANGE maps a range (replacing
 * whatever mapped it before), DEL_RANGE unmaps one.  Kept sorted by
 * logical block, with logically and physically adjacent extents of the
 * same kind merged, so rewriting the tree from it is deterministic. */
#ifndef EXT4DA_FC_EXTENTS_H
#define EXT4DA_FC_EXTENTS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/journal/fc.h"

struct fc_extent_list {
	uint32_t ino;		/* 0: holds nothing */
	struct fc_extent *ex;
	size_t n, cap;
};

/* Called for each physical range a change stops mapping. */
typedef void (*fc_unmap_fn)(void *ctx, uint64_t pblk, uint64_t len);

/* Append an extent as read from the tree (in logical order), merging it
 * with the last one when they are contiguous.  -1: out of memory. */
int fc_extents_append(struct fc_extent_list *l, const struct fc_extent *ex);
/* Map ex, unmapping what it overlaps.  -1: out of memory. */
int fc_extents_add(struct fc_extent_list *l, const struct fc_extent *ex, fc_unmap_fn fn,
		   void *ctx);
/* Unmap [lblk, lblk + len).  -1: out of memory. */
int fc_extents_del(struct fc_extent_list *l, uint32_t lblk, uint32_t len, fc_unmap_fn fn,
		   void *ctx);
void fc_extents_reset(struct fc_extent_list *l);

#endif
