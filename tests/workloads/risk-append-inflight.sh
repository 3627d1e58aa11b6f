#!/bin/sh
# risk-append-inflight [ROUNDS]: append into a page whose writeback is in
# flight (the deferred_map review's B3).  Each round appends a sector
# without fsync, starts writeback of it in the background (sync), appends
# another sector at once, waits, and puts a durability mark on the file:
# every later crash state must hold the whole marked prefix, so i_disksize
# may never fall behind what fsync made durable.
# Prints EXT4DA-DATA-BYTES.
set -e
rounds=${1:-40}
mkdir -p ra
ext4da-stamp -q --gen 1 create ra/log 512
i=1
while [ "$i" -le "$rounds" ]; do
	ext4da-stamp -q --gen $((i * 2)) append ra/log 512
	sync &
	ext4da-stamp -q --gen $((i * 2 + 1)) append ra/log 512
	wait
	ext4da-mark -q "ra-$i" --durable ra/log
	i=$((i + 1))
done
echo "EXT4DA-DATA-BYTES $((512 + rounds * 1024))"
