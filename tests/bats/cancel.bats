#!/usr/bin/env bats
# SIGINT and SIGTERM during ext4da-replay and ext4da-check --repair: exit
# 32, one line on stderr, nothing half-written under a final name, and an
# undo file that e2undo applies.  EXT4DA_TEST_CANCEL_AT=N makes the tool
# raise the signal itself at its Nth cancellation point (lib/process/cancel.h), so
# each test walks every point of the work: before each block replay
# writes, each chunk of an --output copy, each step of the audit, and just
# before a repair writes.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	local d=$BATS_FILE_TMPDIR f0
	export CRASHED="$d/crashed.img" REPLAYED="$d/replayed.img" LEAKED="$d/leaked.img"
	# Three transactions (data, a revoke, more data) written by jforge.
	truncate -s 8M "$CRASHED"
	mkfs.ext4 -q -F -b 1024 -E nodiscard "$CRASHED"
	head -c 20480 /dev/urandom >"$d/f"
	debugfs -w -R "write $d/f f" "$CRASHED" >/dev/null 2>&1
	f0=$(debugfs -R 'bmap /f 0' "$CRASHED" 2>/dev/null)
	jforge "$CRASHED" --csum v3 "blocks=$f0:0x11,$((f0 + 1)):pat,$((f0 + 2)):0x13" \
		"revoke=$f0;blocks=$((f0 + 3)):0x22" "blocks=$((f0 + 4))-$((f0 + 9)):pat" >/dev/null
	cp "$CRASHED" "$REPLAYED"
	ext4da-replay -q "$REPLAYED"
	truncate -s 8M "$LEAKED"
	mkfs.ext4 -q -F "$LEAKED"
	debugfs -w -R "setb 5000 10" "$LEAKED" >/dev/null 2>&1
}

# Exit 32 and exactly "TOOL: INPUT: cancelled by SIG..." on stderr.
assert_cancelled() {
	local tool=$1 input=$2 sig=${3:-SIGINT}
	[ "$status" -eq 32 ] || fail "exit $status, expected 32; stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line on stderr: $stderr"
	[[ ${stderr_lines[0]} == "$tool: $input: cancelled by $sig"* ]] ||
		fail "unexpected message: ${stderr_lines[0]}"
}

@test "replay in place with --undo, stopped at every block: e2undo restores it, a rerun finishes it" {
	local d img n=1 cancelled=0 orig; d=$(scratch); img=$d/w.img
	orig=$(sha "$CRASHED")
	while :; do
		cp "$CRASHED" "$img"
		rm -f "$d/undo"
		EXT4DA_TEST_CANCEL_AT=$n run --separate-stderr ext4da-replay -q --undo "$d/undo" "$img"
		[ "$status" -ne 32 ] && break
		assert_cancelled ext4da-replay "$img"
		cancelled=$((cancelled + 1))
		if [ -e "$d/undo" ]; then
			[[ ${stderr_lines[0]} == *"e2undo $d/undo $img" ]]
			cp "$img" "$d/half.img"
			e2undo "$d/undo" "$img" >/dev/null
			[ "$(sha "$img")" = "$orig" ] || fail "point $n: e2undo did not restore the image"
			mv "$d/half.img" "$img"
		else
			[[ ${stderr_lines[0]} == *"nothing was written" ]]
			[ "$(sha "$img")" = "$orig" ] || fail "point $n: the image changed"
		fi
		# The interrupted image still needs recovery; replaying it again
		# gives exactly the uninterrupted result.
		ext4da-replay -q "$img"
		cmp "$img" "$REPLAYED" || fail "point $n: the rerun differs from an uninterrupted replay"
		n=$((n + 1))
	done
	[ "$status" -eq 0 ] || fail "exit $status after $cancelled cancellations: $stderr"
	cmp "$img" "$REPLAYED"
	# Replay writes home blocks in runs of adjacent blocks and can stop
	# between two runs, so this small journal has few points; every write
	# point is covered by interrupted_writes.bats (fault injection).
	[ "$cancelled" -ge 1 ] || fail "no cancellation point"
}

@test "replay --output, stopped at every point: no output and no .partial, input unchanged" {
	local d n=1 cancelled=0 orig sig; d=$(scratch)
	orig=$(sha "$CRASHED")
	while :; do
		sig=SIGINT
		[ $((n % 2)) -eq 0 ] && sig=SIGTERM
		EXT4DA_TEST_CANCEL_AT=$n EXT4DA_TEST_CANCEL_SIGNAL=${sig#SIG} \
			run --separate-stderr ext4da-replay -q --output "$d/out.img" "$CRASHED"
		[ "$status" -ne 32 ] && break
		assert_cancelled ext4da-replay "$CRASHED" "$sig"
		[ ! -e "$d/out.img" ] && [ ! -e "$d/out.img.partial" ] || fail "point $n: a file was left"
		[ "$(sha "$CRASHED")" = "$orig" ]
		cancelled=$((cancelled + 1))
		n=$((n + 1))
	done
	[ "$status" -eq 0 ]
	cmp "$d/out.img" "$REPLAYED"
	[ "$cancelled" -ge 2 ] || fail "only $cancelled cancellation points"
}

@test "replay --output of a clean image (a plain copy), stopped: no output" {
	local d; d=$(scratch)
	EXT4DA_TEST_CANCEL_AT=1 run --separate-stderr ext4da-replay --output "$d/out.img" "$REPLAYED"
	assert_cancelled ext4da-replay "$REPLAYED"
	[ ! -e "$d/out.img" ] && [ ! -e "$d/out.img.partial" ]
}

@test "check --repair, stopped at every point: nothing written, or a repair e2undo reverts" {
	local d img n=1 cancelled=0 orig; d=$(scratch); img=$d/w.img
	orig=$(sha "$LEAKED")
	while :; do
		cp "$LEAKED" "$img"
		rm -f "$d/undo"
		EXT4DA_TEST_CANCEL_AT=$n run --separate-stderr ext4da-check -q --repair --undo "$d/undo" "$img"
		[ "$status" -ne 32 ] && break
		assert_cancelled ext4da-check "$img"
		[ ! -e "$d/undo" ] || fail "point $n: an undo file was left"
		[ "$(sha "$img")" = "$orig" ] || fail "point $n: the image changed"
		cancelled=$((cancelled + 1))
		n=$((n + 1))
	done
	[ "$status" -eq 1 ] || fail "exit $status: $stderr"
	[ "$cancelled" -ge 1 ]
	e2undo "$d/undo" "$img" >/dev/null
	[ "$(sha "$img")" = "$orig" ]
}

@test "check: a signal during the audit ends it at once with exit 32" {
	local d img; d=$(scratch); img=$d/big.img
	# Enough inodes in use for the audit to pass its progress points.
	truncate -s 64M "$img"
	mkfs.ext4 -q -F -N 8192 -E nodiscard "$img"
	seq 1 3000 | sed 's/.*/mknod n& p/' | debugfs -w -f - "$img" >/dev/null 2>&1
	EXT4DA_TEST_CANCEL_AT=1 EXT4DA_TEST_CANCEL_SIGNAL=TERM run --separate-stderr ext4da-check "$img"
	assert_cancelled ext4da-check "$img" SIGTERM
	[ -z "$output" ]
}

@test "man pages and --help give exit status 32" {
	run ext4da-replay --help
	assert_output --partial "32 cancelled"
	run ext4da-check --help
	assert_output --partial "32 cancelled"
	grep -q '^\.B 32' "$SRCDIR/man/ext4da-replay.8"
	grep -q '^\.B 32' "$SRCDIR/man/ext4da-check.8"
}
