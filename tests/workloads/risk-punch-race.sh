#!/bin/sh
# risk-punch-race [ROUNDS]: punch holes, zero ranges and truncate while
# writeback of the same file runs.  deferred_map allocates a delalloc range
# before it locks the pages and must re-check the extent status under
# i_data_sem, since a punch or truncate can remove part of the range in
# between (the review's M1, by the fallocate road as well as truncate).
# Writeback is made eager (dirty_expire 1 s, flusher every 0.5 s), and
# each round writes a 64 KiB file (16 pages) without fsync, starts
# writeback of everything in the background (sync) and at once, by round:
#   0  punches pages 2-5;
#   1  zeroes pages 1-2 (FALLOC_FL_ZERO_RANGE) and punches pages 12-13;
#   2  punches the whole file, then writes pages 4-5 again;
#   3  truncates to 3 pages, punches page 1, then appends 13 pages again.
# Then it waits, checks in the guest that every sector is zeros or the
# file's own stamp (a block mapped but never written, or written for
# another file, fails), and marks the file durable.
# Prints EXT4DA-DATA-BYTES.
set -e
rounds=${1:-24}
if [ -w /proc/sys/vm/dirty_expire_centisecs ]; then
	echo 100 >/proc/sys/vm/dirty_expire_centisecs
	echo 50 >/proc/sys/vm/dirty_writeback_centisecs
fi
mkdir -p rp
bytes=0
i=1
while [ "$i" -le "$rounds" ]; do
	f=rp/f$i
	ext4da-stamp -q --gen "$i" create "$f" 64K
	sync &
	case $((i % 4)) in
	0) ext4da-stamp -q --fallocate punch overwrite "$f" 8K 16K ;;
	1) ext4da-stamp -q --fallocate zero overwrite "$f" 4K 8K
	   ext4da-stamp -q --fallocate punch overwrite "$f" 48K 8K ;;
	2) ext4da-stamp -q --fallocate punch overwrite "$f" 0 64K
	   ext4da-stamp -q --gen $((i + 1000)) overwrite "$f" 16K 8K ;;
	3) truncate -s 12288 "$f"
	   ext4da-stamp -q --fallocate punch overwrite "$f" 4K 4K
	   ext4da-stamp -q --gen $((i + 1000)) append "$f" 52K ;;
	esac
	wait
	if ! ext4da-stamp -q verify "$f"; then
		echo "EXT4DA-RISK-FAIL punch-race: $f holds data it never wrote"
		exit 1
	fi
	ext4da-mark -q "rp-$i" --durable "$f"
	bytes=$((bytes + 65536))
	i=$((i + 1))
done
echo "EXT4DA-DATA-BYTES $bytes"
