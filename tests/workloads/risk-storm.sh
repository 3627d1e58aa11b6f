#!/bin/sh
# risk-storm [FILES [ROUNDS]]: a small-file storm while the journal is
# drained again and again: each round freezes and thaws the filesystem
# (fsfreeze), empties the journal (EXT4_IOC_CHECKPOINT) and switches data
# journalling on or off for a file that is being appended to (chattr +j,
# which flushes the file and locks journal updates).  All three wait in
# jbd2_journal_lock_updates() for every running handle and reserved
# credit to drain; with deferred_map those reservations live across data
# IO, so a leaked reservation, or an IO completion that waits for the
# barrier while holding one, hangs here.  Run it with a 4 MiB journal
# (--mkfs '-J size=4') and two CPUs; the hung-task detector of the debug
# kernel is the oracle, and at the end every file must hold zeros or its
# own stamps.  Prints EXT4DA-DATA-BYTES.
set -e
files=${1:-300}
rounds=${2:-8}
mkdir -p rs
ext4da-stamp -q --gen 1 create rs/jd 4096
rm -f /tmp/rs-done
(
	i=1
	while [ "$i" -le "$files" ]; do
		ext4da-stamp -q --gen "$((i + 1))" create "rs/f$i" $(((i % 4 + 1) * 4096))
		[ $((i % 50)) = 0 ] && sync
		i=$((i + 1))
	done
) &
storm=$!
(
	n=0
	while [ ! -e /tmp/rs-done ] && [ "$n" -lt 400 ]; do
		ext4da-stamp -q --gen $((n + 100000)) append rs/jd 4096
		n=$((n + 1))
	done
) &
appender=$!
j=0
while [ "$j" -lt "$rounds" ]; do
	usleep 500000
	fsfreeze --freeze /mnt
	usleep 200000
	fsfreeze --unfreeze /mnt
	ext4da-stamp -q checkpoint /mnt
	if [ $((j % 2)) = 0 ]; then
		ext4da-stamp -q journal-data rs/jd on
	else
		ext4da-stamp -q journal-data rs/jd off
	fi
	j=$((j + 1))
done
wait "$storm"
touch /tmp/rs-done
wait "$appender"
sync
for f in rs/*; do
	ext4da-stamp -q verify "$f" || {
		echo "EXT4DA-RISK-FAIL storm: $f holds data it never wrote"
		exit 1
	}
done
echo "EXT4DA-DATA-BYTES $((files * 10240 + $(wc -c <rs/jd)))"
