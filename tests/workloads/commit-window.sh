#!/bin/sh
# commit-window [FILES [KB [SLEEP]]]: data written without fsync, then a
# journal commit, then the crash.  First four small files are written,
# fsynced and durability-marked; then FILES files of KB KiB each are written
# (seeded sizes, EXT4DA_SEED) and never synced; then the workload sleeps
# SLEEP seconds (default 7) and the guest powers off.
#
# The sleep is longer than the journal's 5 s commit interval and shorter
# than the 30 s after which the flusher writes dirty pages back, so the
# crash comes after a commit and before any writeback.  What that commit
# holds decides the verdict:
# - data=writeback,nodelalloc allocates blocks at write() and the commit
#   links them into the files while the data is still in the page cache:
#   STALE (the blocks hold the device's poison);
# - delalloc (the default) has allocated nothing yet: the commit holds at
#   most the new inodes, empty on disk: clean;
# - data=ordered writes the data of the allocated blocks before the commit.
# Prints EXT4DA-DATA-BYTES.
set -e
files=${1:-8}
kb=${2:-64}
pause=${3:-7}
seed=${EXT4DA_SEED:-1}
rnd=$seed
rand() {
	rnd=$(((rnd * 1103515245 + 12345) % 2147483648))
	R=$(((rnd / 65536) % $1))
}

mkdir -p cw
data=0
i=1
while [ "$i" -le 4 ]; do
	ext4da-stamp -q --gen "$((seed * 1000 + i))" --fsync create "cw/synced$i" $((i * 4096))
	ext4da-mark -q "cw-synced$i" --durable "cw/synced$i"
	data=$((data + i * 4096))
	i=$((i + 1))
done
i=1
while [ "$i" -le "$files" ]; do
	rand $((kb / 4))
	s=$(((R + 1) * 4096))
	ext4da-stamp -q --gen "$((seed * 1000 + 100 + i))" create "cw/unsynced$i" "$s"
	data=$((data + s))
	i=$((i + 1))
done
echo "commit-window: $files files written without fsync; sleeping ${pause}s before the crash"
echo "EXT4DA-DATA-BYTES $data"
sleep "$pause"
