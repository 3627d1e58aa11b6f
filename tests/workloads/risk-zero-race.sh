#!/bin/sh
# risk-zero-race [ROUNDS]: FALLOC_FL_ZERO_RANGE racing writeback of the
# same pages.  Stage 2 writeback reserves blocks in memory (extent status
# WRITTEN|DEFERRED) before it locks the pages; zero range drops the pages
# of its block-aligned part and converts that part to unwritten.  If it
# drops a page whose block is only reserved, the reservation outlives the
# page and the next read maps the page to a block nobody wrote (found by
# risk-punch-race on 2026-12-06, fixed by kernel patch 0009).  Each round
# writes a 64 KiB file (16 pages) without fsync, starts sync in the
# background and at once zeroes pages 1-2, then reads the file back in the
# guest: every sector must be zeros or the file's own stamp.  Writeback is
# made eager (dirty_expire 1 s, flusher every 0.5 s).
# Prints EXT4DA-DATA-BYTES.
set -e
rounds=${1:-150}
if [ -w /proc/sys/vm/dirty_expire_centisecs ]; then
	echo 100 >/proc/sys/vm/dirty_expire_centisecs
	echo 50 >/proc/sys/vm/dirty_writeback_centisecs
fi
mkdir -p zr
bytes=0
i=1
while [ "$i" -le "$rounds" ]; do
	f=zr/f$i
	ext4da-stamp -q --gen "$i" create "$f" 64K
	sync &
	ext4da-stamp -q --fallocate zero overwrite "$f" 4K 8K
	wait
	if ! ext4da-stamp -q verify "$f"; then
		echo "EXT4DA-RISK-FAIL zero-race: $f holds data it never wrote"
		exit 1
	fi
	ext4da-mark -q "zr-$i" --durable "$f"
	bytes=$((bytes + 65536))
	i=$((i + 1))
done
echo "EXT4DA-DATA-BYTES $bytes"
