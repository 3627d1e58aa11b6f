#!/bin/sh
# risk-quota [FILES [LIMIT_KB]]: quota exhaustion with reservations in
# flight.  Delayed allocation reserves quota at write() (EDQUOT there, never
# later); stage 2 of deferred_map keeps that reservation while writeback
# holds the blocks reserved in memory and claims it in the map transaction
# after the data, or returns it when a deferred range is removed.  Needs a
# filesystem made with -O quota and mounted with usrquota,grpquota
# (tests/crash/risk does both); root ignores hard limits (CAP_SYS_RESOURCE),
# so the writers run as uids 1000 and 1001 in group 1000 (ext4da-stamp --as
# drops root).  uid 1000 may use LIMIT_KB KiB (default 6144), uid 1001
# half that, group 1000 1.25 times LIMIT_KB: uid 1001 runs into its user
# limit, then uid 1000 into the group's.  Both write files of 16-64 KiB
# without fsync until two writes have failed with EDQUOT (at most FILES
# each) while a sync loop keeps writeback and map transactions going.
# Then, after sync and drop_caches: no write() that succeeded lost data
# (its file reads back as its own stamps, no zeros), the other files hold
# zeros or their own stamps, no usage is above its limit, the limits were
# reached (within 128 KiB), and each user's usage is what its files hold
# (du); e2fsck of every crash state checks the quota files against the
# inodes.  Finally each user removes half its files and writes one more,
# fsynced: the quota comes back.
# Prints EXT4DA-DATA-BYTES.
set -e
files=${1:-200}
limit_kb=${2:-6144}
half_kb=$((limit_kb / 2))
group_kb=$((limit_kb * 5 / 4))
mkdir -p rq
chmod 0777 rq
ext4da-stamp quota . user 1000 "${limit_kb}K"
ext4da-stamp quota . user 1001 "${half_kb}K"
ext4da-stamp quota . group 1000 "${group_kb}K"

fail() {
	touch /tmp/rq-done
	echo "EXT4DA-RISK-FAIL quota: $*"
	exit 1
}

writer() {	# writer UID: files rq/UID-J; the complete ones listed in /tmp
	j=1 fails=0
	: >"/tmp/rq-ok-$1"
	while [ "$j" -le "$files" ] && [ "$fails" -lt 2 ]; do
		if ext4da-stamp -q --as "$1:1000" --gen $(($1 * 1000 + j)) create "rq/$1-$j" \
			$(((j % 4 + 1) * 16))K 2>"/tmp/rq-err-$1"; then
			echo "rq/$1-$j" >>"/tmp/rq-ok-$1"
		else
			grep -q 'quota exceeded' "/tmp/rq-err-$1" ||
				{ echo "risk-quota: uid $1: not EDQUOT: $(cat "/tmp/rq-err-$1")"; return 1; }
			fails=$((fails + 1))
		fi
		j=$((j + 1))
	done
	[ "$fails" -gt 0 ] || echo "risk-quota: note: uid $1 wrote its $files files within its quota"
}

( while [ ! -e /tmp/rq-done ]; do sync; usleep 200000; done ) &
syncer=$!
writer 1000 &
p1=$!
writer 1001 &
p2=$!
wait "$p1" || fail "the writer of uid 1000 failed"
wait "$p2" || fail "the writer of uid 1001 failed"
touch /tmp/rq-done
wait "$syncer"
sync
echo 3 >/proc/sys/vm/drop_caches

ok=0 partial=0
for f in rq/*; do
	out=$(ext4da-stamp verify "$f") || fail "$out"
	if grep -qx "$f" /tmp/rq-ok-*; then
		case $out in
		*" zero=0 "*) ok=$((ok + 1)) ;;
		*) fail "$f was written without error but lost data: $out" ;;
		esac
	else
		partial=$((partial + 1))
	fi
done
echo "risk-quota: $ok files complete, $partial cut short by EDQUOT"

usage() {	# usage user|group ID: bytes in use
	ext4da-stamp quota . "$1" "$2" | sed -n 's/.* used=\([0-9]*\) .*/\1/p'
}
for u in 1000 1001; do
	used=$(usage user $u)
	held=$(du -k rq/$u-* | awk '{ s += $1 } END { print s * 1024 }')
	lim=$limit_kb
	[ "$u" = 1000 ] || lim=$half_kb
	echo "risk-quota: uid $u uses $used bytes of its $((lim * 1024)), its files hold $held"
	[ "$used" -le $((lim * 1024)) ] || fail "uid $u uses $used bytes, above its limit"
	[ "$used" = "$held" ] || fail "uid $u: quota says $used bytes, its files hold $held"
done
[ "$(usage user 1001)" -ge $(((half_kb - 128) * 1024)) ] ||
	fail "uid 1001 stopped at $(usage user 1001) bytes, short of its limit"
gused=$(usage group 1000)
echo "risk-quota: gid 1000 uses $gused bytes of its $((group_kb * 1024))"
[ "$gused" -le $((group_kb * 1024)) ] || fail "gid 1000 uses $gused bytes, above its limit"
[ "$gused" -ge $(((group_kb - 128) * 1024)) ] || fail "gid 1000 stopped at $gused bytes, short of its limit"

for u in 1000 1001; do
	n=0
	for f in $(cat "/tmp/rq-ok-$u"); do
		n=$((n + 1))
		if [ $((n % 2)) = 0 ]; then rm "$f"; else ext4da-mark -q "rq-${f#rq/}" --durable "$f"; fi
	done
	sync
	ext4da-stamp -q --as "$u:1000" --gen $((u * 1000 + 999)) --fsync create "rq/$u-after" 64K ||
		fail "uid $u cannot write after freeing half its files"
	ext4da-mark -q "rq-$u-after" --durable "rq/$u-after"
done
echo "EXT4DA-DATA-BYTES $(((group_kb + 128) * 1024))"
