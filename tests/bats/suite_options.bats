#!/usr/bin/env bats
# One meaning per short option across the suite (issue 11, point 7): each
# short letter any tool offers stands for the same long option in every
# tool; --help names no bug-report address; under --json an operational
# error is a JSON object on stdout as well as a line on stderr.

load helpers

bats_require_minimum_version 1.5.0

TOOLS="ext4da-check ext4da-crash ext4da-replay ext4da-workload ext4da-stamp ext4da-mark ext4da-record"

# "TOOL -x --long" for each short option with a long name in TOOL's --help.
short_options() {
	local tool
	for tool in $TOOLS; do
		"$tool" --help | sed -n -E 's/^ +(-[[:alnum:]?]), (--[[:alnum:]-]+).*/\1 \2/p' |
			sed "s/^/$tool /"
	done
}

@test "every short option means the same long option in every tool" {
	local table clashes
	table=$(short_options)
	[ "$(wc -l <<<"$table")" -gt 20 ] || fail "too few options parsed: $table"
	# -h and -? are both help, and ext4da-record's --out is its --output:
	# fold them before comparing.
	table=$(sed 's/ --out$/ --output/' <<<"$table")
	clashes=$(awk '$2 != "-h" && $2 != "-?" { if (($2 in long) && long[$2] != $3)
		print $2 ": " long[$2] " (" tool[$2] ") and " $3 " (" $1 ")";
		long[$2] = $3; tool[$2] = $1 }' <<<"$table")
	[ -z "$clashes" ] || fail "$clashes"
	grep -q '^ext4da-crash -j --jobs$' <<<"$table" || fail "-j is not --jobs"
	grep -q '^ext4da-mark -d --device$' <<<"$table" || fail "-d is not --device"
}

@test "--journal, --data and --size are long-only" {
	local tool
	for tool in ext4da-check ext4da-replay; do
		run --separate-stderr "$tool" -j /dev/null /dev/null
		[ "$status" -eq 16 ] || fail "$tool -j: exit $status"
		"$tool" --help | grep -qE '^ +--journal=PATH' || fail "$tool --help"
	done
	run --separate-stderr ext4da-check -d /dev/null
	[ "$status" -eq 16 ] || fail "ext4da-check -d: exit $status"
	run --separate-stderr ext4da-record -s 64M
	[ "$status" -eq 16 ] || fail "ext4da-record -s: exit $status"
	ext4da-record --help | grep -qE '^ +--size SIZE' || fail "ext4da-record --help"
}

@test "--help names no bug-report address" {
	local tool
	for tool in $TOOLS; do
		run "$tool" --help
		assert_success
		refute_output --partial "Report bugs"
		refute_output --partial "github.com"
	done
}

@test "--json: an operational error is also one JSON object on stdout" {
	local d
	d=$(scratch)
	run --separate-stderr ext4da-check --json "$d/missing.img"
	[ "$status" -eq 8 ] || fail "exit $status"
	assert_equal "$stderr" "ext4da-check: $d/missing.img: No such file or directory"
	jq -e --arg i "$d/missing.img" '. == {"schema": "ext4da-error/1", "type": "error",
		"tool": "ext4da-check", "input": $i, "error": "No such file or directory", "exit": 8}' \
		<<<"$output" >/dev/null || fail "$output"
	run --separate-stderr ext4da-replay --json --list "$d/missing.img"
	[ "$status" -eq 8 ] && jq -e '.tool == "ext4da-replay" and .exit == 8' <<<"$output" >/dev/null ||
		fail "$output"
	run --separate-stderr ext4da-crash --json --base "$d/missing.img" --log "$d/x"
	[ "$status" -eq 8 ] || fail "exit $status"
	jq -e --arg e "--base $d/missing.img: No such file or directory" \
		'.tool == "ext4da-crash" and .input == null and .error == $e and .exit == 8' \
		<<<"$output" >/dev/null || fail "$output"
	# Quotes and control characters in the input stay valid JSON.
	run --separate-stderr ext4da-check --json "$d/a \"quoted\"	name"
	jq -e --arg i "$d/a \"quoted\"	name" '.input == $i' <<<"$output" >/dev/null || fail "$output"
	# Without --json, nothing on stdout.
	run --separate-stderr ext4da-check "$d/missing.img"
	[ "$status" -eq 8 ] && [ -z "$output" ] || fail "$output"
}
