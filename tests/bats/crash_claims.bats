#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# The expected-state oracle (issue 12, point 2): generated workloads record,
# after each persistence point, what it guarantees (claims marks: a file's
# data and exact size, a directory's names, everything after sync), and
# ext4da-crash fails every crash state that breaks a claim, naming the
# step, the persistence point and the guarantee.  The logs are made on the
# host (tests/fixtures/mkclaimlog): the workload runs on a loop mount and
# is snapshotted after each step; a "violating" log also has a state with
# a step's marks but not its changes, as a disk that wrote the claims
# before what they claim would leave.

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
	require_root
	make -s -C "$BUILDDIR" tests/tools/poison tests/tools/snaplog ext4da-workload >/dev/null
	local d=$BATS_FILE_TMPDIR mk=$SRCDIR/tests/fixtures/mkclaimlog
	export LINK="$d/link" LINK_BAD="$d/link-bad" UNLINK_BAD="$d/unlink-bad"
	export SYNC_BAD="$d/sync-bad" TRUNC_BAD="$d/trunc-bad" PAIR="$d/pair" OVER="$d/over"
	"$mk" "$LINK" 1 61			# link d0/a->d1/l fsync
	"$mk" "$LINK_BAD" 1 61 1
	"$mk" "$UNLINK_BAD" 1 66 1		# unlink d0/b fsync
	"$mk" "$SYNC_BAD" 1 9 1			# overwrite d0/a sync
	"$mk" "$TRUNC_BAD" 1 57 1		# truncate-down d0/a fdatasync
	"$mk" "$PAIR" 2 142			# append fsync; truncate-down none
	"$mk" "$OVER" 2 6717			# rename-over sync; unlink fsync
}

# crash DIR [OPTION...]: ext4da-crash on DIR's base and log.
crash() {
	local d=$1
	shift
	run --separate-stderr ext4da-crash "$@" --base "$d/base.img" --log "$d/log.img"
}

# The verdicts of a log's states, as "state:verdict" words.
verdicts() {
	ext4da-crash --json --base "$1/base.img" --log "$1/log.img" |
		jq -r 'select(.type == "state") | "\(.state):\(.verdict)"' | tr '\n' ' '
}

# The note of state N of a log.
note() {
	ext4da-crash --json --base "$1/base.img" --log "$1/log.img" |
		jq -r --argjson n "$2" 'select(.type == "state" and .state == $n) | .note'
}

@test "the claims of each persistence point are in the log, as claims marks" {
	run ext4da-mark --dump "$LINK/final.img"
	assert_success
	assert_line --regexp '^mark 1 setup-sync slot=1 .* kind=claims entries=13 '
	assert_line --regexp '^  synced /d0/a ino=[0-9]+ igen=[0-9]+ size=16384 crc=0x'
	assert_line '  absent /d1/l'
	assert_line --regexp '^mark 2 step1-release slot=2 .* kind=claims entries=1 '
	assert_line --regexp '^mark 3 step1-link-fsync slot=3 .* kind=claims entries=4 '
	assert_line "  name /d1/l ino=$(grep -oP '^  name /d0/a ino=\K[0-9]+ igen=[0-9]+' <<<"$output" | head -1)"
}

@test "a workload whose states keep every claim passes" {
	run verdicts "$LINK"
	assert_output "0:pass 1:pass "
	crash "$LINK"
	assert_success
}

@test "a directory's fsynced new name missing: DURABILITY, naming the step and the name" {
	run verdicts "$LINK_BAD"
	assert_output "0:pass 1:fail 2:pass "
	run note "$LINK_BAD" 1
	assert_output --regexp '^mark step1-link-fsync \(entry [0-9]+\): /d1/l was synced as inode [0-9]+, but the name is missing$'
	crash "$LINK_BAD" --json
	assert_failure 4
	run jq -c 'select(.type == "state" and .state == 1) | .failures' <<<"$output"
	assert_output '["DURABILITY"]'
}

@test "a directory's fsynced removal undone: DURABILITY, in the -v list too" {
	run note "$UNLINK_BAD" 1
	assert_output --regexp '^mark step1-unlink-fsync \(entry [0-9]+\): /d0/b was synced away, but it names inode [0-9]+$'
	crash "$UNLINK_BAD" -v
	assert_failure 4
	assert_output --regexp 'FAIL state 1 \(after entry [0-9]+\): mark step1-unlink-fsync .*: /d0/b was synced away'
	assert_line "  DURABILITY      1 state(s)"
}

@test "data after sync not there: DURABILITY naming the sync" {
	run note "$SYNC_BAD" 1
	assert_output --regexp '^mark step1-overwrite-sync \(entry [0-9]+\): /d0/a does not hold the 16384 bytes the sync left$'
	run verdicts "$SYNC_BAD"
	assert_output "0:pass 1:fail 2:pass "
}

@test "a size fdatasync left, not there: the exact size is part of the claim" {
	run note "$TRUNC_BAD" 1
	assert_output --regexp '^mark step1-truncate-down-fdatasync \(entry [0-9]+\): /d0/a is 16384 bytes, the sync left exactly 8192$'
}

@test "a claim released before the next step changes its file does not fail that step" {
	run verdicts "$PAIR"
	assert_output "0:pass 1:pass 2:pass "
	run ext4da-mark --dump "$PAIR/final.img"
	assert_line --regexp '^mark [0-9]+ step2-release .* entries=1 '
	run verdicts "$OVER"
	assert_output "0:pass 1:pass 2:pass "
}

@test "marks without claims are still version 1, for readers of version 1" {
	local d=$BATS_TEST_TMPDIR img
	img=$d/v1.img
	truncate -s 4M "$img"
	ext4da-stamp -q poison "$img"
	ext4da-mark -q -d "$img" --seq 1 old-style
	run ext4da-mark --dump "$img"
	assert_line --regexp '^mark 1 old-style slot=1 .* kind=plain entries=0 '
	[ "$(od -A n -t u4 -j $((3 * 1048576 + 4096 + 8)) -N 4 "$img" | tr -d ' ')" = 1 ] ||
		fail "a plain mark is not version 1"
}
