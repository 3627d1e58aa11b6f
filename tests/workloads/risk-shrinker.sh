#!/bin/sh
# risk-shrinker [FILES]: the extent status shrinker under pressure while
# many files have deferred ranges.  Stage 2 of deferred_map keeps blocks
# that writeback reserved in memory (nothing on disk maps them until the
# map transaction after the data) only in the extent status tree, as
# WRITTEN|DEFERRED; the shrinker and EXT4_IOC_CLEAR_ES_CACHE must never
# drop such an entry, or a reader, fiemap or SEEK_DATA would find a hole
# (the on-disk tree has none of it) and a writer could allocate the range
# again.  FILES files of 64 KiB are written without fsync, then a sync
# starts writing them all back (tests/crash/risk throttles the disk to
# 1 MB/s, so most ranges stay deferred for seconds); while it runs, the
# files are checked in turn, over and over, with ext4da-stamp mapped
# (SEEK_DATA/SEEK_HOLE and FIEMAP must report all of each file as data),
# every fourth one after clearing its extent status cache, and 2 is
# written to drop_caches (every slab shrinker, the extent status one
# included) before every tenth.  Then all are checked once more, and
# after the sync every file must read back as its own stamps with no zero
# sector; it is then marked durable.
# Prints EXT4DA-DATA-BYTES and how many checks ran while the sync did.
set -e
files=${1:-200}
mkdir -p rs
es_info() {	# the extent status tree's counters, for the console
	cat /proc/fs/ext4/*/es_shrinker_info 2>/dev/null | awk '/objects|inodes on list/ { $1 = $1; printf "%s; ", $0 }'
}
i=1
while [ "$i" -le "$files" ]; do
	ext4da-stamp -q --gen "$i" create "rs/f$i" 64K
	i=$((i + 1))
done
echo "risk-shrinker: before writeback: $(es_info)"
sync &
syncer=$!
check_one() {	# check_one I: file I as SEEK_DATA and FIEMAP see it
	if [ $(($1 % 4)) = 0 ]; then
		out=$(ext4da-stamp --clear-es mapped "rs/f$1") || {
			echo "EXT4DA-RISK-FAIL shrinker: after clearing its extent cache: $out"; exit 1; }
	else
		out=$(ext4da-stamp mapped "rs/f$1") || { echo "EXT4DA-RISK-FAIL shrinker: $out"; exit 1; }
	fi
}
# Every file in turn, with drop_caches 2 before every tenth, for as long
# as the sync runs (and once through at least).
i=1 checks=0 during=0 round=0
while [ "$round" = 0 ] || kill -0 "$syncer" 2>/dev/null; do
	[ $((i % 10)) != 1 ] || echo 2 >/proc/sys/vm/drop_caches
	check_one "$i"
	checks=$((checks + 1))
	! kill -0 "$syncer" 2>/dev/null || during=$((during + 1))
	i=$((i + 1))
	[ "$i" -le "$files" ] || { i=1; round=$((round + 1)); }
done
wait "$syncer"
echo "risk-shrinker: $checks checks, $during of them while the sync ran; after: $(es_info)"
[ "$during" -gt 0 ] || echo "risk-shrinker: note: the sync ended before the first check"
echo 2 >/proc/sys/vm/drop_caches
i=1
while [ "$i" -le "$files" ]; do check_one "$i"; i=$((i + 1)); done
echo 3 >/proc/sys/vm/drop_caches
i=1
while [ "$i" -le "$files" ]; do
	out=$(ext4da-stamp verify "rs/f$i") || { echo "EXT4DA-RISK-FAIL shrinker: $out"; exit 1; }
	case $out in
	*" zero=0 "*) ;;
	*) echo "EXT4DA-RISK-FAIL shrinker: rs/f$i lost data: $out"; exit 1 ;;
	esac
	ext4da-mark -q "rs-$i" --durable "rs/f$i"
	i=$((i + 1))
done
echo "EXT4DA-DATA-BYTES $((files * 65536))"
