#!/bin/sh
# write-error [KB [rewrite]]: one file's data writes fail.  ext4da-record
# --fail-writes names the blocks that tests/crash/write-error learned from a
# clean run of this same workload (allocation is deterministic on one CPU).
# A small file is written and fsynced first as a control; then we/victim
# (KB KiB, default 64) is written and fsynced, which must fail, and its
# st_blocks printed: what the kernel still holds for it after the error.
# With "rewrite", a writer then dirties the victim's pages again and again
# while sync writes them, so that failed completions find pages dirtied
# under writeback.  Then sync, and a sleep past the 5 s commit before the
# crash, so that whatever the completions did to the extent map is
# committed.
# Prints EXT4DA-FSYNC-VICTIM ok|failed, EXT4DA-VICTIM-BLOCKS N and
# EXT4DA-DATA-BYTES.
kb=${1:-64}
mode=${2:-}
mkdir -p we
ext4da-stamp -q --gen 11 --fsync create we/control 16K || exit 1
ext4da-mark -q we-control --durable we/control || exit 1
if ext4da-stamp -q --gen 12 --fsync create we/victim "$((kb * 1024))" 2>/dev/null; then
	echo "EXT4DA-FSYNC-VICTIM ok"
else
	echo "EXT4DA-FSYNC-VICTIM failed"
fi
echo "EXT4DA-VICTIM-BLOCKS $(stat -c %b we/victim)"
if [ "$mode" = rewrite ]; then
	(
		for _ in $(seq 1 40); do
			dd if=/dev/zero of=we/victim bs=4096 count=$((kb / 4)) \
				conv=notrunc 2>/dev/null
		done
	) &
	for _ in $(seq 1 40); do
		sync
	done
	wait
fi
sync
echo "EXT4DA-DATA-BYTES $((16384 + kb * 1024))"
sleep 7
