#!/bin/sh
# risk-storm [FILES [FREEZES]]: a small-file storm while the filesystem is
# frozen and thawed again and again.  Freezing waits for every reserved
# journal credit to drain (jbd2_journal_lock_updates()); with deferred_map
# those reservations live across data IO, so a leaked reservation or a
# writeback thread that blocks on the freeze while holding one would hang
# here.  Run it with a 4 MiB journal (--mkfs '-J size=4') and two CPUs;
# the hung-task detector of the debug kernel is the oracle.
# Prints EXT4DA-DATA-BYTES.
set -e
files=${1:-300}
freezes=${2:-8}
mkdir -p rs
(
	i=1
	while [ "$i" -le "$files" ]; do
		ext4da-stamp -q --gen "$i" create "rs/f$i" $(((i % 4 + 1) * 4096))
		[ $((i % 50)) = 0 ] && sync
		i=$((i + 1))
	done
) &
storm=$!
j=0
while [ "$j" -lt "$freezes" ]; do
	sleep 1
	fsfreeze -f /mnt
	usleep 200000
	fsfreeze -u /mnt
	j=$((j + 1))
done
wait "$storm"
sync
echo "EXT4DA-DATA-BYTES $((files * 10240))"
