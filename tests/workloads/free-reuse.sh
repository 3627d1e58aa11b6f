#!/bin/sh
# free-reuse [ROUNDS [FILES [KB [PAUSE]]]]: blocks freed (unlink, truncate)
# and at once other files written, while writeback is eager and journal
# commits are rare.  It separates data=writeback from data=ordered with
# delayed allocation and unwritten extents on both sides.
#
# With data=writeback, ext4_free_blocks() (fs/ext4/mballoc.c) gives freed
# data blocks back to the allocator at once instead of after the freeing
# transaction commits (ext4_mb_free_metadata(), which data=ordered and
# metadata use).  A new file's delalloc writeback can then get them, and
# its data reaches them while the unlink or truncate that freed them is
# still uncommitted: a crash then shows the new file's stamps inside the
# old file (STALE, another inode's stamp).  data=ordered keeps freed blocks
# out of the buddy until the commit: no reuse before it, no window.
#
# The workload:
# - eager writeback and rare commits: the flusher wakes every 0.5 s and
#   writes pages dirty for more than 1 s (vm.dirty_writeback_centisecs,
#   vm.dirty_expire_centisecs), and the filesystem is remounted with
#   commit=60, so no timer commit falls inside the workload;
# - FILES files of seeded sizes (16 KiB .. KB KiB) are written, fsynced and
#   synced: their blocks are committed to them;
# - each of ROUNDS rounds frees the previous generation's blocks (the odd
#   files unlinked, the even ones truncated to one block), writes FILES new
#   files of seeded sizes without fsync at once (the next generation),
#   sleeps PAUSE seconds (default 2: the flusher writes them back, into the
#   freed blocks if the allocator hands them out), puts a plain mark (an
#   O_DSYNC write to the mark area: a device flush that commits nothing,
#   so a crash point inside the window), then writes a keeper file with
#   fsync and marks it: that fsync commits the frees and the allocations,
#   and its flush before the commit block is another crash point where the
#   new data is on disk and the frees are not committed;
# - the last round has no keeper: its frees and new files stay uncommitted
#   until the crash (the power-off's sync).
# Old files are never marked (they are unlinked or truncated); keepers are
# marked once, after their fsync, and never touched again.
# Prints EXT4DA-DATA-BYTES.
set -e
rounds=${1:-6}
files=${2:-6}
kb=${3:-256}
pause=${4:-2}
seed=${EXT4DA_SEED:-1}
rnd=$seed
rand() {
	rnd=$(((rnd * 1103515245 + 12345) % 2147483648))
	R=$(((rnd / 65536) % $1))
}
# size: set S to a seeded size, 16 KiB to KB KiB in 16 KiB steps.
size() {
	rand $((kb / 16))
	S=$(((R + 1) * 16384))
}

if [ -w /proc/sys/vm/dirty_expire_centisecs ]; then
	echo 100 >/proc/sys/vm/dirty_expire_centisecs
	echo 50 >/proc/sys/vm/dirty_writeback_centisecs
fi
mount -o remount,commit=60 /mnt
echo "free-reuse: $(grep ' /mnt ' /proc/mounts)"

mkdir -p fr
data=0
gen=$((seed * 1000000))
i=1
while [ "$i" -le "$files" ]; do
	size
	ext4da-stamp -q --gen "$gen" --fsync create "fr/g0.$i" "$S"
	gen=$((gen + 1)) data=$((data + S))
	i=$((i + 1))
done
sync
r=1
while [ "$r" -le "$rounds" ]; do
	prev=$((r - 1))
	# Free the previous generation: odd files unlinked, even ones cut to
	# one block.
	i=1
	while [ "$i" -le "$files" ]; do
		if [ $((i % 2)) -eq 1 ]; then
			rm -f "fr/g$prev.$i"
		else
			ext4da-stamp -q truncate "fr/g$prev.$i" 4096
		fi
		i=$((i + 1))
	done
	# At once, the next generation, without fsync.
	i=1
	while [ "$i" -le "$files" ]; do
		size
		ext4da-stamp -q --gen "$gen" create "fr/g$r.$i" "$S"
		gen=$((gen + 1)) data=$((data + S))
		i=$((i + 1))
	done
	echo "free-reuse: round $r: generation $prev freed, generation $r written"
	sleep "$pause"
	# A device flush that commits nothing (an O_DSYNC write to the mark
	# area, as another user of the disk would make): a crash point with
	# the new data written back and the frees still uncommitted.
	ext4da-mark -q "fr-round$r-written"
	if [ "$r" -lt "$rounds" ]; then
		size
		ext4da-stamp -q --gen "$gen" --fsync create "fr/keep$r" "$S"
		gen=$((gen + 1)) data=$((data + S))
		ext4da-mark -q "fr-keep$r" --durable "fr/keep$r"
	fi
	r=$((r + 1))
done
echo "free-reuse: $rounds rounds of $files files; the last round's frees and files are uncommitted"
echo "EXT4DA-DATA-BYTES $data"
sleep "$pause"
