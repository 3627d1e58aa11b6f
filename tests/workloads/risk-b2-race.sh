#!/bin/sh
# risk-b2-race [ROUNDS]: fallocate, O_DIRECT writes and buffered pwrite()
# into a range that writeback holds deferred (blocks reserved in memory,
# nothing mapped on disk yet).  Stage 2 of deferred_map keeps such blocks
# in the extent status tree as WRITTEN|DEFERRED only, so every CREATE path
# of ext4_map_blocks() must re-check it under i_data_sem and find the
# range mapped (the review's B2): if one of them allocated again, the file
# would get a second block for the same offset and the reserved one would
# be mapped later as well (a duplicate or leaked block in e2fsck and the
# audit, or the data of one write lost).
# Each round writes a 128 KiB file (32 pages) without fsync, starts its
# writeback in the background (sync_file_range; tests/crash/risk throttles
# the disk to 1 MB/s, so the IO is in flight for a while) and 50 ms later,
# by round:
#   0  fallocate(mode 0) over the whole file (busybox fallocate; it does
#      not wait for writeback);
#   1  an O_DIRECT overwrite of pages 8-15;
#   2  a buffered overwrite of pages 4-19 (pages under writeback dirtied
#      again), fallocate(KEEP_SIZE) over the whole file, then writeback of
#      the file again;
#   3  all three at once: O_DIRECT pages 0-7, buffered pages 16-23,
#      fallocate(KEEP_SIZE) of pages 0-31, with a sync running.
# Writeback is eager (dirty_expire 1 s, flusher every 0.5 s).  Then the
# file must read back as its own stamps with no zero sector, each page
# holding the generation of the last write to it, and again after sync and
# drop_caches; then it is marked durable.
# Prints EXT4DA-DATA-BYTES.
set -e
rounds=${1:-24}
if [ -w /proc/sys/vm/dirty_expire_centisecs ]; then
	echo 100 >/proc/sys/vm/dirty_expire_centisecs
	echo 50 >/proc/sys/vm/dirty_writeback_centisecs
fi
mkdir -p rb

fail() {
	echo "EXT4DA-RISK-FAIL b2-race: $*"
	exit 1
}

gens() {	# gens FILE: the write generation of each page's first stamp
	od -An -tu8 -v -w4096 -j28 "$1" | awk '{ printf "%s ", $1 }'
}

want() {	# want ROUND: the generation each of the 32 pages must hold
	awk -v n="$1" 'BEGIN {
		for (p = 0; p < 32; p++) {
			g = n
			if (n % 4 == 1 && p >= 8 && p <= 15) g = n + 1000
			if (n % 4 == 2 && p >= 4 && p <= 19) g = n + 1000
			if (n % 4 == 3 && p <= 7) g = n + 1000
			if (n % 4 == 3 && p >= 16 && p <= 23) g = n + 2000
			printf "%s ", g
		}
	}'
}

check() {	# check FILE ROUND: own stamps, no zeros, the right generations
	out=$(ext4da-stamp verify "$1") || fail "$out"
	case $out in
	*" zero=0 "*) ;;
	*) fail "$1 lost data: $out" ;;
	esac
	got=$(gens "$1")
	[ "$got" = "$(want "$2")" ] || fail "$1: page generations $got, want $(want "$2")"
}

bytes=0
i=1
while [ "$i" -le "$rounds" ]; do
	f=rb/f$i
	ext4da-stamp -q --gen "$i" create "$f" 128K
	# Writeback in the background (sync_file_range waits for it there);
	# 50 ms later it has reserved the range, and on the throttled disk
	# its IO is still in flight: the range is deferred.
	ext4da-stamp -q --sync-range overwrite "$f" 0 0 &
	wb=$!
	usleep 50000
	case $((i % 4)) in
	0) fallocate -o 0 -l 131072 "$f" ;;
	1) ext4da-stamp -q --direct --gen $((i + 1000)) overwrite "$f" 32K 32K ;;
	2) ext4da-stamp -q --gen $((i + 1000)) overwrite "$f" 16K 64K
	   ext4da-stamp -q --fallocate keep-size overwrite "$f" 0 128K
	   ext4da-stamp -q --sync-range overwrite "$f" 0 0 ;;
	3) sync &
	   ext4da-stamp -q --direct --gen $((i + 1000)) overwrite "$f" 0 32K &
	   ext4da-stamp -q --gen $((i + 2000)) --sync-range overwrite "$f" 64K 32K &
	   ext4da-stamp -q --fallocate keep-size overwrite "$f" 0 128K &
	   wait ;;
	esac
	wait "$wb" || true
	check "$f" "$i"
	bytes=$((bytes + 131072))
	i=$((i + 1))
done
sync
echo 3 >/proc/sys/vm/drop_caches
i=1
while [ "$i" -le "$rounds" ]; do
	check "rb/f$i" "$i"
	ext4da-mark -q "rb-$i" --durable "rb/f$i"
	i=$((i + 1))
done
echo "EXT4DA-DATA-BYTES $bytes"
