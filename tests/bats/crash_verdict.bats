#!/usr/bin/env bats
# needs root: its fixtures are made on loop-mounted filesystems (mkcrashlog)
# No silent pass (issue 11, point 1): poison is recognised by its magic and
# the sector number of its own position, whatever its fill words; a
# different fill is warned about once; every summary says whether the data
# scan ran and why; zero states checked is exit 4 unless --allow-empty; and
# the summary lines read right when nothing, or everything, failed; and a
# failing state names its findings (inode, blocks, logical blocks), merged
# into ranges.

load helpers

bats_require_minimum_version 1.5.0

# Fixtures, built once (mkcrashlog, needs root):
#   OTHER   POISON=1 POISON_FILL=0x55 DEFER_FILE=d0/f3, 3 steps: the base
#           poisoned with the documented magic and sector numbers but
#           another fill; d0/f3's data comes after the commit that maps
#           it, so state 2 exposes poison (as crash.bats's DEFER)
#   PLAIN   mkcrashlog, 2 steps, never poisoned
setup_file() {
	require_root
	local d=$BATS_FILE_TMPDIR
	export OTHER="$d/other" PLAIN="$d/plain"
	POISON=1 POISON_FILL=0x55 DEFER_FILE=d0/f3 SIZE=32M \
		"$SRCDIR/tests/fixtures/mkcrashlog" "$OTHER" 3 >/dev/null
	SIZE=16M "$SRCDIR/tests/fixtures/mkcrashlog" "$PLAIN" 2 >/dev/null
}

crash() {
	run --separate-stderr ext4da-crash "$@"
}

summary() {
	jq -c 'select(.type == "summary")' <<<"$output"
}

@test "poison with another fill: the data scan runs by default and finds the stale state" {
	crash --base "$OTHER/base.img" --log "$OTHER/log.img" --json
	[ "$status" -eq 4 ] || fail "exit $status, expected 4: $output $stderr"
	[ "$(jq -c 'select(.type == "state" and .verdict == "fail") | [.state, .failures]' <<<"$output")" = '[2,["STALE"]]' ] ||
		fail "$output"
	summary | jq -e '.data_scan.ran == true and .data_scan.reason == "poison"
		and .data_scan.other_fill_sectors > 0' >/dev/null || fail "$(summary)"
	# One warning, naming the base, not one per state or per worker.
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
	[[ $stderr == "ext4da-crash: $OTHER/base.img: "*"fill words that differ from ext4da's; taken as poison" ]] ||
		fail "$stderr"
	crash --base "$OTHER/base.img" --log "$OTHER/log.img" -j 2 --json
	[ "$status" -eq 4 ] && [ "${#stderr_lines[@]}" -eq 1 ] || fail "-j 2: exit $status, $stderr"
}

@test "poison with another fill: findings say never written, with the sector number" {
	local img
	img=$(scratch)/s2.img
	ext4da-crash -q --base "$OTHER/base.img" --log "$OTHER/log.img" --materialize 2 "$img" 2>/dev/null
	run --separate-stderr ext4da-check --json "$img"
	[ "$status" -eq 4 ] || fail "exit $status"
	jq -e '.data_scan == true and .data_scan_reason == "poison"
		and ([.findings[] | select(.code == "STALE")] | length > 0
			and all(.detail | test("^never written: holds poison \\(sector [0-9]+\\) whose fill words differ")))' \
		<<<"$output" >/dev/null || fail "$output"
}

@test "the text summary says whether the data scan ran and why" {
	crash --base "$OTHER/base.img" --log "$OTHER/log.img"
	[ "$status" -eq 4 ]
	assert_line --regexp '^data scan on: the base image carries poison \([0-9]+ of 256 sampled sectors\)$'
	crash --base "$OTHER/base.img" --log "$OTHER/log.img" --no-data
	assert_success
	assert_line "data scan off (--no-data)"
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img"
	assert_success
	assert_line "data scan off: no poison in 256 sampled sectors of the base image (--data forces it)"
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --data --json
	assert_success
	summary | jq -e '.data_scan == {"ran": true, "reason": "forced-on", "detail": "on (--data)", "other_fill_sectors": 0}' >/dev/null ||
		fail "$(summary)"
}

@test "sector numbers that do not match their position are not poison" {
	local base
	base=$(scratch)/moved.img
	# The base's poison shifted by one sector: every sector names another.
	{ head -c 512 /dev/zero; cat "$OTHER/base.img"; } | head -c "$(stat -c %s "$OTHER/base.img")" >"$base"
	crash --base "$base" --log "$OTHER/log.img" --json --points 0
	summary | jq -e '.data_scan.ran == false and .data_scan.reason == "no-poison"' >/dev/null || fail "$(summary)"
}

@test "nothing failed: the summary says none failed, and no last-good line" {
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img"
	assert_success
	assert_line --index 0 "$PLAIN/log.img: 2 crash state(s), none failed"
	refute_line --partial "last good"
	refute_line --partial "first bad"
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --json
	summary | jq -e '.verdict == "pass" and .last_good == null and .first_bad == null and .empty == null' >/dev/null ||
		fail "$(summary)"
}

@test "the first state failing: no good state before it" {
	local f
	# The third flush is where the deferred data is missing (state 2).
	f=$(logdump --json "$OTHER/log.img" | jq '[.entries[] | select(.flags % 4 > 0) | .index][2]')
	crash --base "$OTHER/base.img" --log "$OTHER/log.img" --points "$f"
	[ "$status" -eq 4 ] || fail "exit $status: $output"
	assert_line "no good state before the first failure"
	refute_line --partial "last good before"
}

@test "zero states: --points mark on a log without marks is exit 4, and 0 with --allow-empty" {
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --points mark
	[ "$status" -eq 4 ] || fail "exit $status"
	assert_output "$PLAIN/log.img: no crash state checked: --points mark: the log has no marks
data scan off: no poison in 256 sampled sectors of the base image (--data forces it)"
	assert_equal "$stderr" "ext4da-crash: $PLAIN/log.img: no crash state checked (--points mark: the log has no marks); --allow-empty accepts that"
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --points mark --json
	[ "$status" -eq 4 ]
	summary | jq -e '.verdict == "empty" and .states == 0 and .empty == "--points mark: the log has no marks"' >/dev/null ||
		fail "$(summary)"
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --points mark --allow-empty
	assert_success
	[ -z "$stderr" ] || fail "$stderr"
}

@test "zero states: an empty shard is exit 4, and 0 with --allow-empty" {
	# Two states in three shards: one shard is empty.
	local k empty=0
	for k in 1 2 3; do
		crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --shard "$k/3" --json
		if [ "$(summary | jq .states)" = 0 ]; then
			empty=$((empty + 1))
			[ "$status" -eq 4 ] || fail "empty shard $k/3: exit $status"
			summary | jq -e --arg k "$k" '.empty == "shard \($k)/3 of 2 states is empty"' >/dev/null || fail "$(summary)"
			crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --shard "$k/3" --allow-empty
			assert_success
		else
			assert_success
		fi
	done
	[ "$empty" -eq 1 ] || fail "$empty empty shards"
}

@test "a failing state names its findings, with paths, merged into ranges, in -v and in the JSON" {
	local img
	crash --base "$OTHER/base.img" --log "$OTHER/log.img" --json
	[ "$status" -eq 4 ]
	# The same as ext4da-check on the materialised state, block ranges merged.
	img=$(scratch)/s2.img
	ext4da-crash -q --base "$OTHER/base.img" --log "$OTHER/log.img" --materialize 2 "$img" 2>/dev/null
	jq -e -s --argjson c "$(ext4da-check --json "$img" 2>/dev/null | jq -c '[.findings[] | select(.code == "STALE")]')" '
		[.[] | select(.type == "state" and .verdict == "fail")][0]
		| .findings_omitted == 0 and (.findings | length) == 1
		and (.findings[0] | .code == "STALE" and .inode == $c[0].inode
			and .path == $c[0].path and (.path | startswith("/"))
			and .block == $c[0].block and .blocks == ($c | length)
			and .logical_block == $c[0].logical_block and .logical_blocks == ($c | length)
			and .detail == $c[0].detail)' <<<"$output" >/dev/null || fail "$output"
	crash --base "$OTHER/base.img" --log "$OTHER/log.img" -v
	assert_line --regexp '^    STALE inode [0-9]+ \(/[^)]+\) blocks [0-9]+-[0-9]+ logical 0-[0-9]+: never written: holds poison \(sector [0-9]+\) whose fill words differ from ext4da.s$'
	# Passing states carry none.
	jq -e -s '[.[] | select(.type == "state" and .verdict == "pass")] | all(.findings == [])' \
		<<<"$(ext4da-crash --base "$OTHER/base.img" --log "$OTHER/log.img" --json 2>/dev/null)" >/dev/null
}

@test "UNCONVERTED is tallied per state and in the summary, never a failure" {
	local d=$BATS_TEST_TMPDIR/unconv mnt
	mkdir -p "$d/mnt"
	truncate -s 32M "$d/base.img"
	mkfs.ext4 -q -F -b 4096 -E nodiscard "$d/base.img"
	cp --sparse=always "$d/base.img" "$d/fs.img"
	mount -o loop "$d/fs.img" "$d/mnt"
	# 16 blocks allocated unwritten inside i_size, as fallocate leaves them.
	fallocate -l 65536 "$d/mnt/f"
	sync
	umount "$d/mnt"
	"$BUILDDIR/tests/tools/snaplog" "$d/log.img" "$d/base.img" "$d/fs.img"
	run --separate-stderr ext4da-crash --json --base "$d/base.img" --log "$d/log.img"
	assert_success
	run jq -se '(map(select(.type == "state")) | last | .unconverted_blocks == 16 and .verdict == "pass")
		and (last | .unconverted == {states: 1, max_blocks: 16, max_files: 1})' <<<"$output"
	assert_success
	run --separate-stderr ext4da-crash --base "$d/base.img" --log "$d/log.img"
	assert_success
	assert_line "unconverted (information): 1 state(s) with unwritten blocks inside i_size, at most 16 block(s) in 1 file(s)"
}
