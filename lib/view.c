/* view.c: see view.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "lib/image.h"
#include "lib/recovery.h"
#include "lib/view.h"

static int device_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int open_on_overlay(struct view *v, struct err *e)
{
	struct image_open_opts io = { .writable = 1, .manager = overlay_io_manager };
	char name[64];

	overlay_io_name(v->ov, name, sizeof(name));
	if (image_open(name, &io, &v->fs, e))
		return -1;
	/* Red-black tree bitmaps keep runs, not bits: owner maps of large,
	 * mostly contiguous filesystems stay small (e2fsck does the same). */
	v->fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	return 0;
}

/* Replay into the overlay, then reopen so libext2fs sees the recovered
 * superblock and descriptors. */
static int replay_into_overlay(struct view *v, const struct view_opts *opts, struct err *e)
{
	struct journal_open_opts jo = { .external_path = opts->journal_path };
	struct replay_opts ro = { 0 };
	struct replay_sink sink;
	struct journal *j;

	if (journal_open(v->fs, &jo, &j, e))
		return -1;
	v->journal_blocks = j->maxlen;
	if (journal_scan(j, &v->log, e)) {
		journal_close(j);
		return -1;
	}
	/* As the kernel at mount: a log without needs_recovery is discarded,
	 * not replayed (e2fsck -y would ask to replay it; ext4da-replay does). */
	v->needed_recovery = ext2fs_has_feature_journal_needs_recovery(v->fs->super);
	v->stale_log = j->start != 0 && !v->needed_recovery;
	if (v->needed_recovery && opts->replay) {
		if (v->log.fc.present) {
			journal_close(j);
			return fail(e, EXIT_OPERATIONAL,
				    "the fast-commit area holds transaction %u, which needs logical "
				    "replay; use --no-replay, or replay with e2fsck first",
				    v->log.end_tid);
		}
		io_sink_init(&sink, v->fs->io);
		ro.fs_blocks = ext2fs_blocks_count(v->fs->super);
		ro.vcache = opts->vcache;
		if (replay_into(j, &v->log, &ro, &sink, &v->result, e) ||
		    recovery_finish_fs_only(v->fs, &v->result, e)) {
			journal_close(j);
			return -1;
		}
		v->replayed = 1;
	}
	journal_close(j);
	if (!v->replayed)
		return 0;
	ext2fs_free(v->fs);
	v->fs = NULL;
	return open_on_overlay(v, e);
}

/* Descriptors pointing outside the filesystem would derail every later
 * read (and make libext2fs print on its own): refuse them, as e2fsck does. */
static int check_descriptors(struct view *v, struct err *e)
{
	errcode_t rc = ext2fs_check_desc(v->fs);

	if (rc)
		return fail(e, EXIT_OPERATIONAL, "corrupt group descriptors: %s", errcode_text(rc));
	return 0;
}

static int open_view(struct view *v, const struct view_opts *opts, uint64_t device_bytes,
		     struct err *e)
{
	if (open_on_overlay(v, e) ||
	    (device_bytes && image_check_size(v->fs, device_bytes, e)) ||
	    (fs_has_journal(v->fs) && (v->has_journal = 1) && replay_into_overlay(v, opts, e)) ||
	    check_descriptors(v, e)) {
		view_close(v);
		return -1;
	}
	return 0;
}

int view_open_on(struct overlay *lower, const struct view_opts *opts, struct view *v,
		 struct err *e)
{
	memset(v, 0, sizeof(*v));
	v->fd = -1;
	v->ov = overlay_new(-1, 0, lower);
	if (!v->ov)
		return fail(e, EXIT_OPERATIONAL, "out of memory");
	return open_view(v, opts, 0, e);
}

int view_open(const char *path, const struct view_opts *opts, struct view *v, struct err *e)
{
	uint64_t size;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	if (image_check_path(path, e))
		return -1;
	v->fd = open(path, O_RDONLY);
	if (v->fd < 0)
		return fail(e, EXIT_OPERATIONAL, "%s", strerror(errno));
	if (device_size(v->fd, &size) || !(v->ov = overlay_new(v->fd, size, NULL))) {
		view_close(v);
		return fail(e, EXIT_OPERATIONAL, "cannot size or map the image");
	}
	return open_view(v, opts, size, e);
}

void view_close(struct view *v)
{
	if (v->fs)
		ext2fs_free(v->fs);
	overlay_free(v->ov);
	if (v->fd >= 0)
		close(v->fd);
	jlog_free(&v->log);
	replay_result_free(&v->result);
	memset(v, 0, sizeof(*v));
	v->fd = -1;
}
