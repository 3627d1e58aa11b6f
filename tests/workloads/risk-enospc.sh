#!/bin/sh
# risk-enospc [FILES [WRITERS]]: exhaust the delalloc reservations.  WRITERS
# background loops write files of 16-64 KiB without fsync (delayed
# allocation: every successful write() reserved its blocks) until two of
# their writes have failed with ENOSPC, or FILES files each; at the same
# time a filler writes more than the free space into one file and a sync
# loop keeps writeback running, so the filesystem fills with reserved,
# unmapped data in flight.  A write() that succeeded may not lose its data:
# writeback must find the blocks it reserved (ext4 logs "Delayed block
# allocation failed" when it does not, which tests/crash/risk looks for on
# the console).  After a final sync, with the page cache dropped, every
# file whose writes all succeeded must read back as its own stamps from
# end to end (no zeros), every other file as zeros or its own stamps.
# Then the filler is removed, the complete files are marked durable and
# one more file is written and fsynced: the space comes back.  Run it on
# a small device (tests/crash/risk uses 32 MiB).
# Prints EXT4DA-DATA-BYTES.
set -e
files=${1:-400}
writers=${2:-2}
mkdir -p re
free_kb=$(df -k /mnt | awk 'NR == 2 { print $4 }')
echo "risk-enospc: ${free_kb} KiB free before the fill"

writer() {	# writer W: files re/wW-J; a list of the complete ones in /tmp
	j=1 fails=0
	: >"/tmp/re-ok-$1"
	while [ "$j" -le "$files" ] && [ "$fails" -lt 2 ]; do
		if ext4da-stamp -q --gen $(($1 * 1000 + j)) create "re/w$1-$j" $(((j % 4 + 1) * 16))K \
			2>/dev/null; then
			echo "re/w$1-$j" >>"/tmp/re-ok-$1"
		else
			fails=$((fails + 1))
		fi
		j=$((j + 1))
	done
}

w=1 pids=''
while [ "$w" -le "$writers" ]; do
	writer "$w" &
	pids="$pids $!"
	w=$((w + 1))
done
( while [ ! -e /tmp/re-done ]; do sync; usleep 200000; done ) &
syncer=$!
if ext4da-stamp -q --gen 1 create re/fill $(((free_kb + 8192) * 1024)) 2>/tmp/re-fill.err; then
	echo "EXT4DA-RISK-FAIL enospc: the filler wrote more than the free space"
	exit 1
fi
grep -q 'No space left' /tmp/re-fill.err || {
	echo "EXT4DA-RISK-FAIL enospc: the filler failed, but not with ENOSPC: $(cat /tmp/re-fill.err)"
	exit 1
}
for p in $pids; do wait "$p"; done
touch /tmp/re-done
wait "$syncer"
sync
echo 3 >/proc/sys/vm/drop_caches
echo "risk-enospc: $(df -k /mnt | awk 'NR == 2 { print $4 }') KiB free after the fill"

ok=0 partial=0
for f in re/w*; do
	out=$(ext4da-stamp verify "$f") || {
		echo "EXT4DA-RISK-FAIL enospc: $out"
		exit 1
	}
	if grep -qx "$f" /tmp/re-ok-*; then
		case $out in
		*" zero=0 "*) ok=$((ok + 1)) ;;
		*) echo "EXT4DA-RISK-FAIL enospc: $f was written without error but lost data: $out"
		   exit 1 ;;
		esac
	else
		partial=$((partial + 1))
	fi
done
echo "risk-enospc: $ok files complete, $partial cut short by ENOSPC"
[ "$partial" -gt 0 ] || echo "risk-enospc: note: no writer met ENOSPC (each wrote its FILES files first)"

rm re/fill
sync
cat /tmp/re-ok-* | while read -r f; do
	ext4da-mark -q "re-${f#re/}" --durable "$f"
done
ext4da-stamp -q --gen 2 --fsync create re/after 256K
ext4da-mark -q re-after --durable re/after
echo "EXT4DA-DATA-BYTES $(((free_kb + 256) * 1024))"
