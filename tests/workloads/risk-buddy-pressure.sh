#!/bin/sh
# risk-buddy-pressure [FILES [WRITERS]]: buddy regeneration with deferred
# extents in flight.  Stage 2 of deferred_map marks blocks used in
# mballoc's buddy cache only (the on-disk bitmap changes when the map
# transaction runs), and records them in the group's deferred list; when
# memory pressure drops the buddy cache pages, ext4_mb_init_cache() rebuilds
# them from the on-disk bitmap and must mark every recorded deferred range
# used again, or the allocator hands the same blocks to another file.
# WRITERS loops (each in its own directory, so in different block groups)
# write FILES files of 64-256 KiB each without fsync and unlink every
# third file two files later (frees land in the same groups), with eager
# writeback (dirty_expire 1 s, flusher every 0.5 s) and a sync loop; at
# the same time a dropper writes 3 to drop_caches every 0.2 s and a memory
# hog fills a tmpfs of its own (no swap: its pages cannot be reclaimed) to
# within 128 MiB of what is available, frees it and starts again, so
# reclaim and drop_caches keep evicting the buddy cache while reservations
# are in flight.  A block handed out twice shows as one file's data inside
# another: every kept file must read back as its own stamps with no zero
# sector after a final sync and drop_caches, and e2fsck of every crash
# state finds duplicates.
# Prints EXT4DA-DATA-BYTES.
set -e
files=${1:-60}
writers=${2:-2}
if [ -w /proc/sys/vm/dirty_expire_centisecs ]; then
	echo 100 >/proc/sys/vm/dirty_expire_centisecs
	echo 50 >/proc/sys/vm/dirty_writeback_centisecs
fi
avail_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
hog_mb=$((avail_mb - 128))
[ "$hog_mb" -gt 0 ] || hog_mb=0
echo "risk-buddy-pressure: ${avail_mb} MiB available, hog ${hog_mb} MiB"

writer() {	# writer W: files bp/wW/J, the kept ones listed in /tmp/bp-keep-W
	mkdir -p "bp/w$1"
	: >"/tmp/bp-keep-$1"
	j=1
	while [ "$j" -le "$files" ]; do
		ext4da-stamp -q --gen $(($1 * 1000 + j)) create "bp/w$1/$j" $(((j % 4 + 1) * 64))K
		if [ $((j % 3)) = 0 ] && [ "$j" -gt 2 ]; then
			rm "bp/w$1/$((j - 2))"
		fi
		j=$((j + 1))
	done
	j=1
	while [ "$j" -le "$files" ]; do
		[ -e "bp/w$1/$j" ] && echo "bp/w$1/$j" >>"/tmp/bp-keep-$1"
		j=$((j + 1))
	done
}

mkdir -p bp
( while [ ! -e /tmp/bp-done ]; do echo 3 >/proc/sys/vm/drop_caches; usleep 200000; done ) &
dropper=$!
( while [ ! -e /tmp/bp-done ]; do sync; usleep 300000; done ) &
syncer=$!
# The hog's own tmpfs: no swap, so its pages cannot be reclaimed, and
# filling it leaves the guest's /tmp (the writers' lists) alone.
mkdir -p /tmp/bp-hog
[ "$hog_mb" = 0 ] || mount -t tmpfs -o size="${hog_mb}m" bp-hog /tmp/bp-hog
( n=0
  while [ ! -e /tmp/bp-done ] && [ "$hog_mb" -gt 0 ]; do
	dd if=/dev/zero of=/tmp/bp-hog/fill bs=1M count="$hog_mb" 2>/dev/null || true
	rm -f /tmp/bp-hog/fill
	n=$((n + 1))
  done
  echo "$n" >/tmp/bp-hog-rounds ) &
hog=$!
w=1 pids=''
while [ "$w" -le "$writers" ]; do
	writer "$w" &
	pids="$pids $!"
	w=$((w + 1))
done
for p in $pids; do wait "$p" || { touch /tmp/bp-done; echo "EXT4DA-RISK-FAIL buddy-pressure: a writer failed"; exit 1; }; done
touch /tmp/bp-done
wait "$dropper" "$syncer" "$hog"
[ "$hog_mb" = 0 ] || umount /tmp/bp-hog
echo "risk-buddy-pressure: the hog filled memory $(cat /tmp/bp-hog-rounds 2>/dev/null || echo 0) times"
sync
echo 3 >/proc/sys/vm/drop_caches

bytes=0 kept=0
for f in $(cat /tmp/bp-keep-*); do
	out=$(ext4da-stamp verify "$f") || { echo "EXT4DA-RISK-FAIL buddy-pressure: $out"; exit 1; }
	case $out in
	*" zero=0 "*) ;;
	*) echo "EXT4DA-RISK-FAIL buddy-pressure: $f lost data: $out"; exit 1 ;;
	esac
	ext4da-mark -q "bp-$(echo "$f" | tr / -)" --durable "$f"
	bytes=$((bytes + $(stat -c %s "$f")))
	kept=$((kept + 1))
done
echo "risk-buddy-pressure: $kept files kept and verified"
echo "EXT4DA-DATA-BYTES $bytes"
