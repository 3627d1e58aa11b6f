#!/usr/bin/env bats
# tests/crash/perf-compare's report (issue 10, point 6): the median of the
# seeds' percentiles, the pooled percentiles of every fsync of every seed,
# the journal blocks per commit, and --runs.  The recordings' perf.json
# files are written by hand in tests/crash/perf's schema, so no kernel or
# qemu is needed: perf-compare measures nothing it already has.

load helpers

bats_require_minimum_version 1.5.0

# perf_json OUT RUN CONFIG SEED BLOCKS_PER_COMMIT SAMPLE...: one recording's figures.
perf_json() {
	local out=$1 run=$2 config=$3 seed=$4 bpc=$5
	shift 5
	mkdir -p "$out/rec/$run.$config.$seed"
	printf '%s\n' "$@" | jq -s -c --arg run "$run" --arg c "$config" --argjson seed "$seed" --arg bpc "$bpc" '
	  sort as $s | {run: $run, config: $c, seed: $seed, workload_seconds: 5, stream_mib_per_s: 40,
	   journal_blocks_per_mib: 1.5, journal_blocks_per_commit: $bpc,
	   fsync_latency: {n: length, p50_us: $s[(length / 2 | ceil) - 1], p90_us: $s[(length * 0.9 | ceil) - 1],
	     p99_us: $s[(length * 0.99 | ceil) - 1], samples_us: .}}' >"$out/rec/$run.$config.$seed/perf.json"
}

compare() {
	run --separate-stderr "$SRCDIR/tests/crash/perf-compare" --kernel /nonexistent \
		--patched-kernel /nonexistent --stage1-kernel /nonexistent "$@"
}

setup() {
	OUT=$BATS_TEST_TMPDIR/out
	# Two seeds of 50 fsyncs each: seed 1 of s has one 900 ms stall, the
	# rest of every recording is 10-59 ms.
	local c seed i samples
	for c in s e; do
		for seed in 1 2; do
			samples=()
			for i in $(seq 10 59); do samples+=($((i * 1000))); done
			[ "$c.$seed" = s.1 ] && samples[0]=900000
			perf_json "$OUT" stream "$c" "$seed" 4.00 "${samples[@]}"
		done
	done
}

@test "pooled percentiles are taken over every seed's fsyncs" {
	compare --configs s,e --seeds 1,2 --runs stream --out "$OUT"
	assert_success
	run jq -c '.medians.s.latency.stream | [.fsyncs, .pooled_fsyncs, .pooled_p50_ms, .pooled_p99_ms]' "$OUT/report.json"
	# 100 samples, 10 ms once and 11..59 ms twice, then the 900 ms stall:
	# the p50 is the 50th smallest (35 ms), the p99 the 99th (59 ms).
	assert_output '[50,100,35,59]'
	run jq -c '.medians.e.latency.stream | [.pooled_fsyncs, .pooled_p99_ms]' "$OUT/report.json"
	assert_output '[100,59]'
	run jq -r '.schema' "$OUT/report.json"
	assert_output 'ext4da-perf-compare/4'
	run grep -F '| unthrottled | e | 50 |' "$OUT/report.md"
	assert_success
	assert_output --partial '| 100 | 34 | 54 | 59 (1) |'
}

@test "--runs records only the named runs" {
	# Every other run would need a recording, and the kernels do not exist.
	compare --configs s,e --seeds 1,2 --runs stream --out "$OUT"
	assert_success
	[ "$(ls "$OUT/rec" | wc -l)" = 4 ]
	compare --configs s,e --seeds 1,2 --runs stream,small --out "$OUT"
	assert_failure 8
	[[ $stderr == *"recording $OUT/rec/small."*" failed"* ]]
}

@test "the report gives the journal blocks per commit against d" {
	perf_json "$OUT" appends d 1 6.00 1000
	perf_json "$OUT" appends e 1 5.40 1000
	compare --configs d,e --seeds 1 --runs appends --out "$OUT"
	assert_success
	run jq -c '[.medians.d.journal_blocks_per_commit.appends, .medians.e.journal_blocks_per_commit.appends]' "$OUT/report.json"
	assert_output '[6,5.4]'
	run grep -F '| e | 4 (-) | - (-) | - (-) | 5.4 (0.9) | - (-) |' "$OUT/report.md"
	assert_success
}

@test "the report splits a commit's metadata blocks by kind, from complete listings only" {
	local c seed logged
	for c in d e; do
		for seed in 1 2 3; do
			# Seed 3's journal wrapped: its listing must not count.
			logged='{"transactions": 50, "complete": true, "blocks": 200, "inode_table": 50, "block_bitmap": 50,
				"group_descriptors": 50, "inode_bitmap": 1, "superblock": 1, "other": 48, "revoke_records": 25}'
			# e: no leaf grown for an unwritten extent, none freed.
			[ "$c" = e ] && logged=$(jq -c '.other = 23 | .blocks = 175 | .revoke_records = 0' <<<"$logged")
			[ "$seed" = 3 ] && logged=$(jq -c '.complete = false | .other = 5000' <<<"$logged")
			perf_json "$OUT" appends "$c" "$seed" 5.00 1000
			jq -c --argjson l "$logged" '. + {journal_logged: $l}' "$OUT/rec/appends.$c.$seed/perf.json" >"$OUT/x"
			mv "$OUT/x" "$OUT/rec/appends.$c.$seed/perf.json"
		done
	done
	compare --configs d,e --seeds 1,2,3 --runs appends --out "$OUT"
	assert_success
	run jq -c '.medians.e.logged_per_commit.appends | [.blocks, .inode_table, .other, .superblock]' "$OUT/report.json"
	assert_output '[3.5,1,0.46,0.02]'
	run grep -F '| appends | d | 4 | 1 | 1 | 1 | 0.96 | 0.04 | 0.5 |' "$OUT/report.md"
	assert_success
	run grep -F '| appends | e | 3.5 | 1 | 1 | 1 | 0.46 | 0.04 | 0 |' "$OUT/report.md"
	assert_success
}
