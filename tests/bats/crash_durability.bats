#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# The durability oracle of ext4da-crash: ext4da-mark records, in the mark
# area at the end of the device, which files fsync made durable; at every
# crash point after the record, each must be there, whole.

load helpers

setup_file() {
	require_root
	make -s -C "$BUILDDIR" tests/tools/poison tests/tools/snaplog ext4da-mark >/dev/null
	export GOOD="$BATS_FILE_TMPDIR/good" DROPPED="$BATS_FILE_TMPDIR/dropped"
	# Three steps, each writing a file, syncing, and marking it durable.
	MARKS=1 "$SRCDIR/tests/fixtures/mkcrashlog" "$GOOD" 3
	# The same, but the disk writes the last file's data only after the
	# commit and the mark: the state in between has lost fsynced data.
	MARKS=1 POISON=1 DEFER_FILE=d0/f3 "$SRCDIR/tests/fixtures/mkcrashlog" "$DROPPED" 3
}

states() {
	ext4da-crash --json --base "$1/base.img" --log "$1/log.img" "${@:2}" |
		jq -c 'select(.type == "state") | [.state, .verdict, .failures]'
}

@test "marks are found in the log: one crash point per mark record" {
	run ext4da-crash --json --points mark --base "$GOOD/base.img" --log "$GOOD/log.img"
	assert_success
	[ "$(jq -s 'map(select(.type == "state")) | length' <<<"$output")" -eq 3 ]
	run ext4da-mark --dump "$GOOD/final.img"
	assert_success
	assert_output --partial "durable /d1/f1"
}

@test "every fsynced and marked file is whole at every later crash point" {
	run states "$GOOD"
	assert_success
	refute_output --partial '"fail"'
	[ "${#lines[@]}" -eq 3 ]
}

@test "a state that lost fsynced data fails DURABILITY, naming the mark and the file" {
	run ext4da-crash --json --base "$DROPPED/base.img" --log "$DROPPED/log.img"
	assert_failure 4
	run jq -sc 'map(select(.type == "state" and .verdict == "fail")) | map(.state)' <<<"$output"
	[ "$output" = "[2]" ]
	run ext4da-crash --json --base "$DROPPED/base.img" --log "$DROPPED/log.img"
	run jq -r 'select(.type == "state" and .state == 2) | .note' <<<"$output"
	assert_output --partial "mark step3"
	assert_output --partial "/d0/f3 does not hold the 36864 bytes fsync saw"
}

@test "DURABILITY fails a state on its own, whatever --fail-on says of the findings" {
	run ext4da-crash --json --fail-on LEAKED --base "$DROPPED/base.img" --log "$DROPPED/log.img"
	assert_failure 4
	run jq -c 'select(.type == "state" and .state == 2) | .failures' <<<"$output"
	[ "$output" = '["DURABILITY"]' ]
}

@test "once the data arrives, the claim holds again (the final state passes)" {
	run states "$DROPPED"
	[ "${lines[3]}" = '[3,"pass",[]]' ]
}
