#!/bin/sh
# overwrite [FILES [ROUNDS]]: overwrites in place.  FILES files of 64 KiB
# are created and fsynced, then overwritten ROUNDS times each, a seeded
# (EXT4DA_SEED) 4-16 KiB range at a time, most rounds with fsync and some
# without.  Each file is fsynced and durability-marked after its last
# overwrite, and never touched again: a mark pins the content fsync saw
# until a later mark names the same inode, so a file overwritten after its
# mark would read as lost data in the crash states between the overwrite
# reaching the disk and the next mark.  Files finish at different rounds,
# so marks and overwrites of other files interleave.
# Prints EXT4DA-DATA-BYTES (bytes of file data written).
set -e
files=${1:-12}
rounds=${2:-8}
seed=${EXT4DA_SEED:-1}
rnd=$seed
# rand N: set R to a pseudo-random number in [0, N) (an LCG, 31 bits).
rand() {
	rnd=$(((rnd * 1103515245 + 12345) % 2147483648))
	R=$(((rnd / 65536) % $1))
}

mkdir -p ow
data=0
i=1
while [ "$i" -le "$files" ]; do
	ext4da-stamp -q --gen "$((seed * 100000 + i))" --fsync create "ow/f$i" 64K
	data=$((data + 65536))
	i=$((i + 1))
done
gen=$((seed * 100000 + 1000))
r=1
while [ "$r" -le "$rounds" ]; do
	i=1
	while [ "$i" -le "$files" ]; do
		last=$((rounds - i % 3))	# this file's last round
		if [ "$r" -le "$last" ]; then
			rand 13; off=$((R * 4096))
			rand 4; len=$(((R + 1) * 4096))
			sync_opt=--fsync
			rand 4; [ "$R" -ne 0 ] || [ "$r" -eq "$last" ] || sync_opt=
			ext4da-stamp -q --gen "$gen" $sync_opt overwrite "ow/f$i" "$off" "$len"
			gen=$((gen + 1))
			data=$((data + len))
			if [ "$r" -eq "$last" ]; then
				ext4da-mark -q "ow-f$i-final" --durable "ow/f$i"
			fi
		fi
		i=$((i + 1))
	done
	r=$((r + 1))
done
echo "overwrite: $files files, $rounds rounds"
echo "EXT4DA-DATA-BYTES $data"
