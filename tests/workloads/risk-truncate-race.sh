#!/bin/sh
# risk-truncate-race [ROUNDS]: a page-aligned truncate racing writeback (the
# deferred_map review's M1).  Each round writes a two-page file, starts its
# writeback in the background (sync), truncates it to one page (or to zero
# on odd rounds) while that runs, truncates it back up to two pages, and
# checks that every sector is zeros or the file's own stamp: a block that
# writeback mapped but never wrote must not come back with stale data.
# The file is then marked durable.  Prints EXT4DA-DATA-BYTES.
set -e
rounds=${1:-30}
mkdir -p rt
i=1
while [ "$i" -le "$rounds" ]; do
	f=rt/f$i
	ext4da-stamp -q --gen "$i" create "$f" 8192
	sync &
	if [ $((i % 2)) = 1 ]; then truncate -s 0 "$f"; else truncate -s 4096 "$f"; fi
	wait
	truncate -s 8192 "$f"
	if ! ext4da-stamp -q verify "$f"; then
		echo "EXT4DA-RISK-FAIL truncate-race: $f holds data it never wrote"
		exit 1
	fi
	ext4da-mark -q "rt-$i" --durable "$f"
	i=$((i + 1))
done
echo "EXT4DA-DATA-BYTES $((rounds * 8192))"
