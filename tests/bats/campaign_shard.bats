#!/usr/bin/env bats
# tests/crash/campaign --shard and --merge (issue 12, point 4): the shards
# of a campaign partition its cells, and merging the shards' reports gives
# one report judged as a whole.  The shard reports here are written by
# hand in the campaign's report schema, so no kernel or qemu is needed.

load helpers

bats_require_minimum_version 1.5.0

campaign() {
	run --separate-stderr "$SRCDIR/tests/crash/campaign" "$@"
}

# cell ID CONFIG EXPECT CLASSES: one cell object as the campaign writes it.
cell() {
	jq -n --arg id "$1" --arg c "$2" --arg e "$3" --argjson classes "$4" '
	  ($id | split(".")) as $p |
	  {id: $id, workload: $p[0], config: $c, setting: $p[2], mount: "", kernel: "stock",
	   expect: $e, stale_window: true, dir: "/nowhere",
	   recording: {args: "", size: "64M", smp: 1, throttle_bps: null, memory_mb: 512,
	     seed: 1, status: "ok", exit: 0, problem: null, seconds: 10, meta: null},
	   crash_seconds: 2,
	   flush: {states: 4, failed: ($classes | length), failures_by_class:
	     ($classes | map({(.): 1}) | add // {}), first_bad: null, first_bad_entry: null},
	   reorder: null, first_bad: null, perf: null,
	   classes: $classes, verdict: "as-expected", why: "test"}'
}

# shard DIR K N SEED CELL...: a shard directory with its report.json.
shard() {
	local dir=$1 k=$2 n=$3 seed=$4
	shift 4
	mkdir -p "$dir"
	printf '%s\n' "$@" | jq -s --argjson k "$k" --argjson n "$n" --argjson seed "$seed" '
	  {schema: "ext4da-campaign/1", started: "2026-12-05T10:0\($k):00Z", seconds: 100,
	   command: "campaign --shard \($k)/\($n)", host: "host\($k)", qemu: "QEMU 7.2",
	   kernel: {path: "/k", sha256: "abc"}, patched_kernel: null, quick: true,
	   seed: $seed, max_states: 8, fsck: true, mkfs: "-E nodiscard", memory_mb: 512,
	   shard: {k: $k, n: $n}, merged_shards: null,
	   configs: [{name: "b", kernel: "stock", mount: "data=writeback,nodelalloc", expect: "stale", description: "b"},
	             {name: "d", kernel: "stock", mount: "", expect: "clean", description: "d"}],
	   workloads: [{name: "commit-window"}, {name: "mix"}],
	   per_config: [], cells: ., discrepancies: []}' >"$dir/report.json"
}

@test "--list: the shards of a campaign partition its cells" {
	campaign --list --configs all --settings plain,smp2
	assert_success
	local all=$output
	[ "$(wc -l <<<"$all")" -gt 10 ] || fail "too few cells: $all"
	local joined=
	for k in 1 2 3 4 5; do
		campaign --list --configs all --settings plain,smp2 --shard "$k/5"
		assert_success
		joined+=$output$'\n'
	done
	[ "$(sort <<<"$all")" = "$(grep . <<<"$joined" | sort)" ] ||
		fail "the union of the shards is not the campaign"
	[ -z "$(grep . <<<"$joined" | sort | uniq -d)" ] || fail "a cell is in two shards"
}

@test "--shard: K/N checked, one line and exit 16" {
	for bad in 0/3 4/3 x 3 1/0 -1/2; do
		campaign --list --shard "$bad"
		[ "$status" -eq 16 ] || fail "--shard $bad: exit $status"
		[[ ${stderr_lines[0]} == "campaign: --shard: "* ]] || fail "--shard $bad: ${stderr_lines[0]}"
	done
}

@test "--merge: one report from every shard, judged as a whole" {
	# Shard 1 saw b clean, shard 2 saw b STALE: b's expectation holds only
	# for the campaign as a whole.
	shard "$BATS_TEST_TMPDIR/s1" 1 2 1 \
		"$(cell commit-window.b.plain b stale '[]')" "$(cell commit-window.d.plain d clean '[]')"
	shard "$BATS_TEST_TMPDIR/s2" 2 2 1 \
		"$(cell mix.b.plain b stale '["STALE"]')" "$(cell mix.d.plain d clean '[]')"
	campaign --merge "$BATS_TEST_TMPDIR/s2" "$BATS_TEST_TMPDIR/s1" --out "$BATS_TEST_TMPDIR/m"
	assert_success
	local r=$BATS_TEST_TMPDIR/m/report.json
	[ "$(jq '.cells | length' "$r")" = 4 ] || fail "cells: $(jq -c '[.cells[].id]' "$r")"
	[ "$(jq -c '[.cells[].id]' "$r")" = '["commit-window.b.plain","commit-window.d.plain","mix.b.plain","mix.d.plain"]' ]
	[ "$(jq '.shard' "$r")" = null ]
	[ "$(jq -c '[.merged_shards[].k]' "$r")" = '[1,2]' ] || fail "merged_shards: $(jq -c .merged_shards "$r")"
	[ "$(jq '.seconds' "$r")" = 200 ]
	[ "$(jq -r '.per_config[] | select(.name == "b") | .classes_seen | join(",")' "$r")" = STALE ]
	[ "$(jq '.discrepancies | length' "$r")" = 0 ]
	grep -q 'merged from 2 shards' "$BATS_TEST_TMPDIR/m/report.md"
	grep -q '^| mix | b |' "$BATS_TEST_TMPDIR/m/report.md"
}

@test "--merge: b expected STALE and no shard showed it is a discrepancy, exit 4" {
	shard "$BATS_TEST_TMPDIR/s1" 1 2 1 "$(cell commit-window.b.plain b stale '[]')"
	shard "$BATS_TEST_TMPDIR/s2" 2 2 1 "$(cell mix.b.plain b stale '[]')"
	campaign --merge "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2" --out "$BATS_TEST_TMPDIR/m"
	[ "$status" -eq 4 ] || fail "exit $status"
	[[ $stderr == *"configuration b"*"no workload showed it"* ]] || fail "stderr: $stderr"
}

@test "--merge: a missing, repeated or foreign shard is refused, exit 8, nothing written" {
	shard "$BATS_TEST_TMPDIR/s1" 1 3 1 "$(cell commit-window.d.plain d clean '[]')"
	shard "$BATS_TEST_TMPDIR/s2" 2 3 1 "$(cell mix.d.plain d clean '[]')"
	shard "$BATS_TEST_TMPDIR/s3" 3 3 2 "$(cell small-fsync.d.plain d clean '[]')"
	campaign --merge "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2" --out "$BATS_TEST_TMPDIR/m1"
	[ "$status" -eq 8 ] || fail "missing shard: exit $status"
	[[ ${stderr_lines[0]} == *"need shards 1..3 once each, have 1,2"* ]] || fail "${stderr_lines[0]}"
	[ ! -e "$BATS_TEST_TMPDIR/m1/report.json" ]
	campaign --merge "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2" "$BATS_TEST_TMPDIR/s3" --out "$BATS_TEST_TMPDIR/m2"
	[ "$status" -eq 8 ] || fail "other seed: exit $status"
	[[ ${stderr_lines[0]} == *"not one campaign"* ]] || fail "${stderr_lines[0]}"
	campaign --merge "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s2" --out "$BATS_TEST_TMPDIR/m3"
	[ "$status" -eq 8 ] || fail "repeated shard: exit $status"
	campaign --merge "$BATS_TEST_TMPDIR/nothing" --out "$BATS_TEST_TMPDIR/m4"
	[ "$status" -eq 8 ] || fail "no such directory: exit $status"
	[[ ${stderr_lines[0]} == *"nothing: no report.json"* ]] || fail "${stderr_lines[0]}"
	campaign --merge --out "$BATS_TEST_TMPDIR/m5"
	[ "$status" -eq 16 ] || fail "no directories: exit $status"
}

# --- tests/crash/generated ------------------------------------------------

generated() {
	run --separate-stderr env BUILDDIR="$BUILDDIR" "$SRCDIR/tests/crash/generated" "$@"
}

# gshard DIR K N SIZE LINE...: a finished generated shard run.
gshard() {
	local dir=$1 k=$2 n=$3 size=$4
	shift 4
	mkdir -p "$dir"
	jq -n --argjson k "$k" --argjson n "$n" --arg size "$size" \
		'{space: "--seq 1", from: 0, to: 3, mounts: ["", "data=writeback"], size: $size,
		  kernel: "/k/bzImage", kernel_sha256: "abc", jobs: 2, seconds: (60 * $k),
		  shard: {k: $k, n: $n}}' >"$dir/run.json"
	printf '%s\n' "$@" >"$dir/results.tsv"
}

@test "generated --list: the shards partition the recordings" {
	generated --list --seq 1
	assert_success
	local all=$output joined=
	for k in 1 2 3 4; do
		generated --list --seq 1 --shard "$k/4"
		assert_success
		joined+=$output$'\n'
	done
	[ "$(sort <<<"$all")" = "$(grep . <<<"$joined" | sort)" ] || fail "the union of the shards is not the run"
	[ -z "$(grep . <<<"$joined" | sort | uniq -d)" ] || fail "a recording is in two shards"
}

@test "generated --merge: one summary from the shards; failures keep their reproducer" {
	local t=$'\t'
	gshard "$BATS_TEST_TMPDIR/g1" 1 2 32M "defaults${t}0${t}write${t}ok${t}3${t}0${t}${t}" \
		"data-writeback${t}0${t}write${t}ok${t}3${t}1${t}STALE${t}a note"
	gshard "$BATS_TEST_TMPDIR/g2" 2 2 32M "defaults${t}1${t}unlink${t}ok${t}2${t}0${t}${t}"
	generated --merge "$BATS_TEST_TMPDIR/g1" "$BATS_TEST_TMPDIR/g2" --out "$BATS_TEST_TMPDIR/m"
	[ "$status" -eq 4 ] || fail "exit $status (a state failed: want 4)"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/m/results.tsv")" = 3 ]
	grep -q 'merged from 2 shards' "$BATS_TEST_TMPDIR/m/summary.md"
	grep -q '3 recordings in 2.00 min (the longest of 2 shards)' "$BATS_TEST_TMPDIR/m/summary.md"
	grep -q '^| defaults | 2 | 2 | 5 | 0 | 0 | - |' "$BATS_TEST_TMPDIR/m/summary.md"
	grep -q '^| data=writeback | 1 | 1 | 3 | 1 | 1 | STALE 1 |' "$BATS_TEST_TMPDIR/m/summary.md"
	grep -q 'ext4da-workload --seq 1 -i 0 -o w.sh && ext4da-record --kernel BZ --size 32M --mount data=writeback' \
		"$BATS_TEST_TMPDIR/m/summary.md"
}

@test "generated --merge: shards of different runs or a missing shard: exit 8" {
	gshard "$BATS_TEST_TMPDIR/g1" 1 2 32M
	gshard "$BATS_TEST_TMPDIR/g2" 2 2 64M
	generated --merge "$BATS_TEST_TMPDIR/g1" "$BATS_TEST_TMPDIR/g2" --out "$BATS_TEST_TMPDIR/m"
	[ "$status" -eq 8 ] || fail "exit $status"
	[[ ${stderr_lines[0]} == *"not one run"* ]] || fail "${stderr_lines[0]}"
	generated --merge "$BATS_TEST_TMPDIR/g1" --out "$BATS_TEST_TMPDIR/m"
	[ "$status" -eq 8 ] || fail "exit $status"
	[[ ${stderr_lines[0]} == *"need shards 1..2 once each, have 1"* ]] || fail "${stderr_lines[0]}"
	[ ! -e "$BATS_TEST_TMPDIR/m/summary.md" ]
}
