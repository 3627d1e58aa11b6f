#!/bin/sh
# rename-over [NAMES [ROUNDS [MAX_KB [SLEEP]]]]: the auto_da_alloc pattern.
# NAMES files are replaced ROUNDS times each by writing a whole new file and
# renaming it over the old one (ext4da-stamp rename-over), half of the
# replacements with fsync (the new file before the rename, the directory
# after it, as a careful application does) and half without (relying on
# auto_da_alloc, which starts writeback of the new file at the rename).
# Sizes are seeded (EXT4DA_SEED), 4 KiB to MAX_KB KiB.
#
# Durability marks only where fsync guaranteed something: after the last,
# fsynced, replacement of the odd-numbered names.  A mark pins an inode, and
# a rename-over unlinks the old inode, so names are marked only once they
# are replaced for the last time.  The even-numbered names end with a
# replacement without fsync, and then the workload sleeps SLEEP seconds
# (default 7: more than the 5 s journal commit interval, so those renames
# commit) before the crash: after the crash each name must hold its old or
# its new content, never stale blocks.  Prints EXT4DA-DATA-BYTES.
set -e
names=${1:-8}
rounds=${2:-4}
maxkb=${3:-256}
pause=${4:-7}
seed=${EXT4DA_SEED:-1}
rnd=$seed
rand() {
	rnd=$(((rnd * 1103515245 + 12345) % 2147483648))
	R=$(((rnd / 65536) % $1))
}
size() {
	rand $((maxkb / 4))
	S=$(((R + 1) * 4096))
}

mkdir -p ro
data=0
gen=$((seed * 100000))
i=1
while [ "$i" -le "$names" ]; do
	size
	ext4da-stamp -q --gen "$gen" --fsync create "ro/c$i" "$S"
	gen=$((gen + 1)) data=$((data + S))
	i=$((i + 1))
done
r=1
while [ "$r" -le "$rounds" ]; do
	i=1
	while [ "$i" -le "$names" ]; do
		size
		if [ "$r" -eq "$rounds" ]; then
			sync_opt=
			[ $((i % 2)) -eq 0 ] || sync_opt=--fsync
		elif [ $(((i + r) % 2)) -eq 0 ]; then
			sync_opt=--fsync
		else
			sync_opt=
		fi
		ext4da-stamp -q --gen "$gen" $sync_opt rename-over "ro/c$i.new" "ro/c$i" "$S"
		gen=$((gen + 1)) data=$((data + S))
		if [ "$r" -eq "$rounds" ] && [ -n "$sync_opt" ]; then
			ext4da-mark -q "ro-c$i-final" --durable "ro/c$i"
		fi
		i=$((i + 1))
	done
	r=$((r + 1))
done
echo "rename-over: $names names, $rounds rounds; sleeping ${pause}s before the crash"
echo "EXT4DA-DATA-BYTES $data"
sleep "$pause"
