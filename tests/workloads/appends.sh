#!/bin/sh
# appends [N [fsync|background]]: N appends of 64 KiB to 1 MiB (4 KiB
# multiples, sizes from a seeded generator) spread over four files.
#
# fsync (the default): each append is followed by an fsync, as a log
# writer does.  Each fsync commits its append's allocation, so an extent
# costs one transaction however many updates it took (stage 1's unwritten
# extent and its conversion land in the same commit).
#
# background: no fsync until the end, as a download manager does; the
# guest's writeback runs while the appends go on (dirty data written back
# from 1 MiB, expired after 0.5 s) and the journal commits every second.
# Run it on a slow disk (ext4da-record --throttle) and an extent's data is
# still in flight when a commit passes: an unwritten extent then costs two
# transactions (allocation, then conversion), an extent mapped after its
# data costs one.
#
# Ends with a durability mark naming the four files.  Prints
# EXT4DA-DATA-BYTES.
set -e
n=${1:-48}
mode=${2:-fsync}
seed=${EXT4DA_SEED:-1}
case $mode in
fsync) sync_each=--fsync ;;
background)
	sync_each=
	if [ -w /proc/sys/vm/dirty_background_bytes ]; then
		echo $((1 << 20)) >/proc/sys/vm/dirty_background_bytes
		echo $((16 << 20)) >/proc/sys/vm/dirty_bytes
		echo 50 >/proc/sys/vm/dirty_expire_centisecs
		echo 20 >/proc/sys/vm/dirty_writeback_centisecs
	fi
	mount -o remount,commit=1 /mnt
	;;
*) echo "appends: unknown mode '$mode' (fsync or background)" >&2; exit 2 ;;
esac
mkdir -p appends
for f in 0 1 2 3; do
	ext4da-stamp -q --gen "$((seed * 1000 + f))" create "appends/log$f" 0
done
data=0
r=$seed
i=1
while [ "$i" -le "$n" ]; do
	r=$(((r * 1103515245 + 12345) % 2147483648))
	kb=$((64 + 4 * ((r / 65536) % 241)))
	# shellcheck disable=SC2086
	ext4da-stamp -q --gen "$((seed * 1000 + 10 + i))" $sync_each append "appends/log$((i % 4))" "${kb}K"
	data=$((data + kb * 1024))
	i=$((i + 1))
done
[ -n "$sync_each" ] || sync
ext4da-mark -q appends-end --durable appends/log0 --durable appends/log1 \
	--durable appends/log2 --durable appends/log3
echo "appends: $n appends ($mode), $((data / 1024)) KiB"
echo "EXT4DA-DATA-BYTES $data"
