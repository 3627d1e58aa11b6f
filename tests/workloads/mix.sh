#!/bin/sh
# mix [STEPS [SLEEP]]: a seeded random mix of everything, from EXT4DA_SEED
# (the same seed makes the same sequence of operations).  A pool of live
# files gets creates, appends, overwrites, truncates (shrinking and
# growing), rename-overs and unlinks, each with fsync, fdatasync or neither,
# and now and then a pause (sometimes past the 5 s journal commit interval).
# A file leaves the pool when it is finished: fsynced and durability-marked,
# and never touched again (a mark pins the inode's content until a later
# mark names it).  After STEPS operations the workload sleeps SLEEP seconds
# (default 6) and the guest crashes with the last files unsynced.
# Prints the operations it makes and EXT4DA-DATA-BYTES.
set -e
steps=${1:-60}
pause=${2:-6}
seed=${EXT4DA_SEED:-1}
rnd=$seed
rand() {
	rnd=$(((rnd * 1103515245 + 12345) % 2147483648))
	R=$(((rnd / 65536) % $1))
}
# A sync option: fsync, fdatasync or none, a third each.
pick_sync() {
	rand 3
	case $R in 0) SYNC=--fsync ;; 1) SYNC=--fdatasync ;; *) SYNC= ;; esac
}
# pick_live: set F to a random live file, or to nothing if there is none.
pick_live() {
	F=
	# shellcheck disable=SC2086
	set -- $pool
	[ $# -gt 0 ] || return 0
	rand $#
	eval "F=\${$((R + 1))}"
}
drop_live() {
	_new=
	for _f in $pool; do [ "$_f" = "$1" ] || _new="$_new $_f"; done
	pool=$_new
}
size_of() { Z=$(stat -c %s "$1"); }

mkdir -p mix
pool=
next=1
data=0
gen=$((seed * 1000000))
marks=0
step=1
while [ "$step" -le "$steps" ]; do
	gen=$((gen + 1))
	rand 100
	op=$R
	pick_live
	[ -n "$F" ] || op=0	# nothing live: create
	pick_sync
	if [ "$op" -lt 20 ]; then
		F=mix/f$next
		next=$((next + 1))
		rand 32; len=$(((R + 1) * 4096))
		echo "mix $step: create $F $len $SYNC"
		ext4da-stamp -q --gen "$gen" $SYNC create "$F" "$len"
		pool="$pool $F" data=$((data + len))
	elif [ "$op" -lt 38 ]; then
		rand 16; len=$(((R + 1) * 4096))
		echo "mix $step: append $F $len $SYNC"
		ext4da-stamp -q --gen "$gen" $SYNC append "$F" "$len"
		data=$((data + len))
	elif [ "$op" -lt 52 ]; then
		size_of "$F"
		if [ "$Z" -ge 4096 ]; then
			rand $((Z / 4096)); off=$((R * 4096))
			len=$((Z - off)); [ "$len" -le 16384 ] || len=16384
			echo "mix $step: overwrite $F $off $len $SYNC"
			ext4da-stamp -q --gen "$gen" $SYNC overwrite "$F" "$off" "$len"
			data=$((data + len))
		fi
	elif [ "$op" -lt 60 ]; then
		size_of "$F"
		rand 3
		if [ "$R" -eq 0 ]; then
			len=$((Z + 8192))	# grow: a hole that reads as zeros
		else
			rand $((Z / 4096 + 1)); len=$((R * 4096))
		fi
		echo "mix $step: truncate $F $len $SYNC"
		ext4da-stamp -q $SYNC truncate "$F" "$len"
	elif [ "$op" -lt 70 ]; then
		rand 32; len=$(((R + 1) * 4096))
		echo "mix $step: rename-over $F $len $SYNC"
		ext4da-stamp -q --gen "$gen" $SYNC rename-over "$F.new" "$F" "$len"
		data=$((data + len))
	elif [ "$op" -lt 76 ]; then
		echo "mix $step: unlink $F"
		rm -f "$F"
		drop_live "$F"
	elif [ "$op" -lt 92 ]; then
		# Finish it: the mark's own fsync makes it durable, and the mark
		# records what that fsync saw.
		marks=$((marks + 1))
		echo "mix $step: mark $F"
		ext4da-mark -q "mix-$marks" --durable "$F"
		drop_live "$F"
	else
		rand 10
		if [ "$R" -eq 0 ]; then t=6; else t=$((R % 3 + 1)); fi
		echo "mix $step: sleep $t"
		sleep "$t"
	fi
	step=$((step + 1))
done
echo "mix: $steps steps, $marks marks, $(echo "$pool" | wc -w) files left unsynced; sleeping ${pause}s before the crash"
echo "EXT4DA-DATA-BYTES $data"
sleep "$pause"
