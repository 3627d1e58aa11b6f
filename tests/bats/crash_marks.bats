#!/usr/bin/env bats
# needs root: its fixtures are made on loop-mounted filesystems (mkcrashlog)
# Named marks, as replay-log users know them (issue 11, point 3):
# --points mark:NAME,..., --start-mark NAME and --end-mark NAME, with
# dm-log-writes MARK entries and with ext4da-mark records alike; and
# --check-cmd, whose exit status decides a state.

load helpers
load mklog

bats_require_minimum_version 1.5.0

# TINY: an 8 MiB poisoned ext4 base whose blocks 1162-2047 are free (as in
# crash.bats), for hand-made logs.  MARKED: mkcrashlog MARKS=1, 3 steps,
# ext4da-mark records step1..step3 in the mark area.
setup_file() {
	require_root
	local d=$BATS_FILE_TMPDIR
	export TINY="$d/tiny.img" MARKED="$d/marked" LOG="$d/marks.log"
	truncate -s 8M "$TINY"
	poison "$TINY"
	mkfs.ext4 -q -F -b 4096 -E nodiscard "$TINY"
	MARKS=1 SIZE=16M "$SRCDIR/tests/fixtures/mkcrashlog" "$MARKED" 3 >/dev/null
	# Entries: 0 w, 1 m:one, 2 w, 3 f, 4 m:two, 5 w, 6 f, 7 m:three, 8 w, 9 f, 10 m:two
	mklog "$LOG" 512 w:12000:8:1 m:one w:12800:8:2 f m:two w:13600:8:3 f m:three w:14000:8:4 f m:two
}

crash() {
	run --separate-stderr ext4da-crash "$@"
}

entries() {
	jq -r 'select(.type == "state") | .entry' <<<"$output" | xargs
}

@test "--points mark:NAME: the states at the marks of that name, every occurrence" {
	crash --base "$TINY" --log "$LOG" --points mark:two --json
	assert_success
	assert_equal "$(entries)" "4 10"
	crash --base "$TINY" --log "$LOG" --points mark:three,one --json
	assert_success
	assert_equal "$(entries)" "1 7"
}

@test "--points mark:NAME with ext4da-mark records in the mark area" {
	local all
	crash --base "$MARKED/base.img" --log "$MARKED/log.img" --points mark --json
	assert_success
	all=$(entries)
	[ "$(wc -w <<<"$all")" -eq 3 ] || fail "$all"
	crash --base "$MARKED/base.img" --log "$MARKED/log.img" --points mark:step2 --json
	assert_success
	assert_equal "$(entries)" "$(cut -d' ' -f2 <<<"$all")"
}

@test "--start-mark and --end-mark bound the crash points, inclusive" {
	crash --base "$TINY" --log "$LOG" --points every --start-mark two --end-mark three --json
	assert_success
	assert_equal "$(entries)" "4 5 6 7"
	crash --base "$TINY" --log "$LOG" --start-mark one --json
	assert_success
	assert_equal "$(entries)" "3 6 9"
	crash --base "$TINY" --log "$LOG" --end-mark two --json
	assert_success
	assert_equal "$(entries)" "3"
	# Reordered states stay only if their writes are inside the range too.
	crash --base "$TINY" --log "$LOG" --reorder --end-mark two --json
	assert_success
	jq -e -s '[.[] | select(.type == "state")] | length > 1
		and all((.entry // -1) <= 4 and ((.reordered // []) | all(. <= 4)))' <<<"$output" >/dev/null ||
		fail "$output"
}

@test "--save with named marks: the command rebuilds the same state" {
	local d
	d=$(scratch)
	crash --base "$TINY" --log "$LOG" --points every --start-mark two --fsck-cmd false --save "$d/save"
	[ "$status" -eq 4 ]
	grep -q -- "'--start-mark' 'two'" "$d/save/state-1.cmd" || fail "$(cat "$d/save/state-1.cmd")"
	(cd "$d" && sh -c "$(tail -n 1 "$d/save/state-1.cmd")" >/dev/null) || fail "rebuild failed"
	cmp "$d/state-1.img" "$d/save/state-1.img"
}

@test "a mark name the log does not have is a usage error" {
	crash --base "$TINY" --log "$LOG" --points mark:four
	[ "$status" -eq 16 ] || fail "exit $status"
	assert_equal "$stderr" "ext4da-crash: --points mark:four: the log has no mark of that name"
	crash --base "$TINY" --log "$LOG" --start-mark nope
	[ "$status" -eq 16 ]
	assert_equal "$stderr" "ext4da-crash: --start-mark nope: the log has no mark of that name"
	crash --base "$TINY" --log "$LOG" --end-mark nope --json
	[ "$status" -eq 16 ]
	crash --base "$TINY" --log "$LOG" --points mark:
	[ "$status" -eq 16 ]
}

@test "--check-cmd: run on each recovered state; a non-zero exit fails it as CHECK" {
	local d
	d=$(scratch)
	crash --base "$MARKED/base.img" --log "$MARKED/log.img" --check-cmd 'e2fsck -fn %s' --json
	assert_success
	jq -e -s '[.[] | select(.type == "state")] | length == 3
		and all(.check_exit == 0 and .check_output == null and .fsck_exit == null)' <<<"$output" >/dev/null ||
		fail "$output"
	# Only the state that holds step3's mark record fails.
	crash --base "$MARKED/base.img" --log "$MARKED/log.img" --points mark --save "$d/save" --json \
		--check-cmd 'if ext4da-mark --dump %s | grep -q " step3 "; then echo "step3 is there"; exit 3; fi'
	[ "$status" -eq 4 ] || fail "exit $status: $stderr"
	jq -e -s '([.[] | select(.type == "state")] as $s | $s | map(.check_exit) == [0, 0, 3]
		and $s[2].failures == ["CHECK"] and $s[2].check_output == "step3 is there\n")
		and .[-1].failures_by_class == {"CHECK": 1}' <<<"$output" >/dev/null || fail "$output"
	[ "$(cat "$d/save/state-2.check.txt")" = "step3 is there" ] || fail "$(ls "$d/save")"
}
