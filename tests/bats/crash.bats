#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-crash on real and hand-made write logs (issue 4, points 2-6):
# materialised states against an independent replay (logdump --apply), the
# crash point modes, reordering (exhaustive and sampled, reproducible from the
# seed), discards, STALE exactly where a reordered disk exposes poison, the
# oracles (--fail-on, --fsck-cmd), --save, and -j/--shard giving the same
# verdicts as a single run.

load helpers

bats_require_minimum_version 1.5.0

# Fixtures, built once for the file (about 15 s, needs root for the loop
# mounts of mkcrashlog):
#   PLAIN   mkcrashlog: 8 workload steps, a FLUSH after each
#   DEFER   POISON=1 DEFER_FILE=d0/f3, 3 steps: the base is poisoned before
#           mkfs, and step 3's writes to d0/f3 (written in that last step)
#           come in an extra epoch after the journal commit that maps them.
#           With 3 steps d0/f3 always gets never-used (poisoned) blocks: the
#           only file deleted before, d1/f1, is deleted in step 3 itself, and
#           ext4 does not reuse blocks freed in a transaction that has not
#           committed.  With 8 steps d2/f8 sometimes reuses blocks of a file
#           deleted earlier, which hold that file's old data, not poison.
#   TINY    an 8 MiB poisoned ext4 base for hand-made logs; its blocks
#           1162-2047 are free (sectors 9296-16383), so writes there never
#           disturb the audit
#   Q512, Q4096, Q65536
#           QEMU blklogwrites logs (tests/fixtures/mkqemulog) with those log
#           sector sizes: discards, widened unaligned writes, a stale super
setup_file() {
	require_root
	local d=$BATS_FILE_TMPDIR ss
	export PLAIN="$d/plain" DEFER="$d/defer" TINY="$d/tiny.img"
	"$SRCDIR/tests/fixtures/mkcrashlog" "$PLAIN" >/dev/null
	POISON=1 DEFER_FILE=d0/f3 "$SRCDIR/tests/fixtures/mkcrashlog" "$DEFER" 3 >/dev/null
	truncate -s 8M "$TINY"
	poison "$TINY"
	mkfs.ext4 -q -F -b 4096 -E nodiscard "$TINY"
	for ss in 512 4096 65536; do
		"$SRCDIR/tests/fixtures/mkqemulog" "$d/q$ss" "$ss"
	done
	export Q512="$d/q512" Q4096="$d/q4096" Q65536="$d/q65536"
}

crash() {
	run --separate-stderr ext4da-crash "$@"
}

# --- hand-made logs: mklog (tests/bats/mklog.bash) -------------------------

load mklog

# --- an independent replay: logdump --apply of slices of a log ------------------

# slice_log LOG FROM TO OUT: a log of entries FROM..TO of LOG (renumbered
# from 0), cut out of LOG byte for byte behind a new super.
slice_log() {
	local log=$1 from=$2 to=$3 out=$4 ss start end
	read -r ss start end < <(logdump --json "$log" | jq -r --argjson a "$from" --argjson b "$to" \
		'"\(.sector_size) \(.entries[$a].offset) \(.entries[$b].data_offset + .entries[$b].payload_len)"')
	{
		le64 $((0x6a736677736872))
		le64 1
		le64 $((to - from + 1))
		le32 "$ss"
		head -c $((ss - 28)) /dev/zero
		tail -c +$((start + 1)) "$log" | head -c $((end - start))
	} >"$out"
}

# apply_range IMG LOG FROM TO: apply entries FROM..TO of LOG to IMG.
apply_range() {
	local img=$1 log=$2 from=$3 to=$4 slice
	[ "$from" -le "$to" ] || return 0
	slice="$BATS_TEST_TMPDIR/slice.log"
	slice_log "$log" "$from" "$to" "$slice"
	logdump --apply "$img" "$slice" >/dev/null || fail "logdump --apply of entries $from..$to failed"
}

# materialize BASE LOG N OUT [OPTIONS...]: crash state N, written anew.
materialize() {
	local base=$1 log=$2 n=$3 out=$4
	shift 4
	rm -f "$out"
	ext4da-crash -q --base "$base" --log "$log" "$@" --materialize "$n" "$out" ||
		fail "--materialize $n $* failed"
}

# Entry numbers of LOG, one line: flushes (FLUSH or FUA), marks, all.
flush_entries() {
	logdump --json "$1" | jq -r '[.entries[] | select(.flags % 4 > 0) | .index] | map(tostring) | join(" ")'
}

mark_entries() {
	logdump --json "$1" | jq -r '[.entries[] | select((.flags / 8 | floor) % 2 == 1) | .index]
		| map(tostring) | join(" ")'
}

# "STATE ENTRY" lines of a JSON Lines run (ENTRY "null" for the base).
state_entries() {
	jq -r 'select(.type == "state") | "\(.state) \(.entry)"'
}

# The state lines of JSON Lines on stdin, sorted.
state_lines() {
	jq -c 'select(.type == "state")' | sort
}

# The JSON summary line of $output.
summary() {
	jq -c 'select(.type == "summary")' <<<"$output"
}

# jqs [jq args] FILTER: FILTER must be true of the slurped JSON lines of $output.
jqs() {
	local filter=${!#}
	set -- "${@:1:$#-1}"
	jq -e -s "$@" "$filter" <<<"$output" >/dev/null || fail "false: $* $filter
$output"
}

# Per epoch of LOG (the writes after a flush, or before the first one):
# {prefix, writes: [entry numbers]} as a JSON array.  The last epoch holds
# the writes after the last flush.
epochs() {
	logdump --json "$1" | jq -c '
		reduce .entries[] as $e ({prefix: null, w: [], out: []};
			if ($e.flags % 4) > 0 then
				.out += [{prefix: .prefix, writes: .w}] | .prefix = $e.index | .w = []
			elif (($e.flags / 8 | floor) % 2) == 0 and $e.nr_sectors > 0 then
				.w += [$e.index]
			else . end)
		| .out + [{prefix: .prefix, writes: .w}]'
}

# --- materialised states against logdump --apply ----------------------------

@test "--materialize: every flush state is the base plus entries 0..entry; the last is final.img" {
	local d ref m prev=-1 n=0 i e base_sha log_sha
	d=$(scratch)
	ref="$d/ref.img" m="$d/m.img"
	base_sha=$(sha "$DEFER/base.img") log_sha=$(sha "$DEFER/log.img")
	cp --sparse=always "$DEFER/base.img" "$ref"
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --json
	[ "$(state_entries <<<"$output" | cut -d' ' -f2 | xargs)" = "$(flush_entries "$DEFER/log.img")" ] ||
		fail "the states are not the flush entries"
	while read -r i e; do
		apply_range "$ref" "$DEFER/log.img" $((prev + 1)) "$e"
		prev=$e
		materialize "$DEFER/base.img" "$DEFER/log.img" "$i" "$m"
		cmp "$m" "$ref" || fail "state $i (after entry $e) differs from base + entries 0..$e"
		n=$((n + 1))
	done < <(state_entries <<<"$output")
	[ "$n" -eq 4 ] || fail "$n flush states, expected 4 (3 steps and the deferred epoch)"
	cmp "$m" "$DEFER/final.img" || fail "the last state is not final.img"
	# The inputs are only read.
	[ "$(sha "$DEFER/base.img")" = "$base_sha" ] && [ "$(sha "$DEFER/log.img")" = "$log_sha" ]
}

@test "--materialize --points every: every 5th state is the base plus entries 0..state" {
	local d ref m prev=-1 k last
	d=$(scratch)
	ref="$d/ref.img" m="$d/m.img"
	cp --sparse=always "$PLAIN/base.img" "$ref"
	last=$(($(logdump --json "$PLAIN/log.img" | jq .valid_entries) - 1))
	for k in $(seq 0 5 "$last") "$last"; do
		[ "$k" -gt "$prev" ] || continue
		apply_range "$ref" "$PLAIN/log.img" $((prev + 1)) "$k"
		prev=$k
		# With --points every, state k is the prefix up to entry k.
		materialize "$PLAIN/base.img" "$PLAIN/log.img" "$k" "$m" --points every
		cmp "$m" "$ref" || fail "state $k of --points every differs from base + entries 0..$k"
	done
	cmp "$m" "$PLAIN/final.img" || fail "the last state is not final.img"
}

@test "--materialize on QEMU blklogwrites logs: 512 B, 4 KiB and 64 KiB log sectors" {
	local q d ref m prev k last
	d=$(scratch)
	for q in "$Q512" "$Q4096" "$Q65536"; do
		ref="$d/ref.img" m="$d/m.img" prev=-1
		cp "$q/base.img" "$ref"
		last=$(($(logdump --json "$q/log.img" | jq .valid_entries) - 1))
		for k in $(seq 0 "$last"); do
			apply_range "$ref" "$q/log.img" "$k" "$k"
			materialize "$q/base.img" "$q/log.img" "$k" "$m" --points every
			cmp "$m" "$ref" || fail "$q: state $k differs from base + entries 0..$k"
		done
		cmp "$m" "$q/disk.img" || fail "$q: the last state is not the disk qemu-io left"
	done
}

@test "stale nr_entries: the valid entries past it are used, with one warning" {
	local d log q m want
	d=$(scratch)
	log="$d/stale.img"
	cp "$PLAIN/log.img" "$log"
	# nr_entries (le64 at byte 16) says 30: the super of an interrupted run.
	le64 30 | dd of="$log" bs=1 seek=16 conv=notrunc status=none
	want=$(ext4da-crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --json)
	crash --base "$PLAIN/base.img" --log "$log" --json
	assert_success
	assert_equal "$output" "$want"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one warning, got: $stderr"
	assert_equal "${stderr_lines[0]}" \
		"ext4da-crash: $log: the log's super counts 30 entries; $(($(logdump --json "$log" | jq .valid_entries) - 30)) more valid entries follow and are used"
	# QEMU's own stale super (qemu-io aborted after its last flush).
	for q in "$Q512" "$Q4096"; do
		m="$d/m.img"
		materialize "$q/base.img" "$q/stale-log.img" 4 "$m" --points every
		cmp "$m" "$q/stale-disk.img" || fail "$q: the entries past nr_entries were not applied"
	done
}

# --- crash points ----------------------------------------------------------------

@test "--points flush (the default): one state per FLUSH or FUA entry, at that entry" {
	local d log
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --json
	assert_success
	[ "$(state_entries <<<"$output" | cut -d' ' -f2 | xargs)" = "$(flush_entries "$PLAIN/log.img")" ]
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --points flush --json
	[ "$(state_entries <<<"$output" | cut -d' ' -f2 | xargs)" = "$(flush_entries "$PLAIN/log.img")" ]
	jqs '.[-1] | .type == "summary" and .states == 8 and .failed == 0 and .last_good == null
		and .first_bad == null and .seed == null and .sampled_epochs == 0'
	# FUA counts as a flush point.
	d=$(scratch)
	log="$d/fua.log"
	mklog "$log" 512 w:12000:8:1 fua:12800:8:2 w:13600:8:3 f w:14400:8:4
	crash --base "$TINY" --log "$log" --json
	assert_success
	assert_equal "$(state_entries <<<"$output" | xargs)" "0 1 1 3"
}

@test "--points every: one state per entry, state k after entry k" {
	local n want
	n=$(logdump --json "$PLAIN/log.img" | jq .valid_entries)
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --points every --json
	want=$(for ((k = 0; k < n; k++)); do echo "$k $k"; done)
	assert_equal "$(state_entries <<<"$output")" "$want"
	jqs --argjson n "$n" '.[-1].states == $n'
}

@test "--points mark: one state per MARK entry; none without marks" {
	local d log
	d=$(scratch)
	log="$d/marks.log"
	mklog "$log" 512 w:12000:8:1 m:one w:12800:8:2 f m:two w:13600:8:3 m:three
	[ "$(mark_entries "$log")" = "1 4 6" ]
	crash --base "$TINY" --log "$log" --points mark --json
	assert_success
	assert_equal "$(state_entries <<<"$output" | xargs)" "0 1 1 4 2 6"
	# No marks: no state, exit 4 (crash_verdict.bats), exit 0 when allowed.
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --points mark --json --allow-empty
	assert_success
	assert_equal "$output" '{"schema":"ext4da-crash/1","type":"summary","verdict":"empty","states":0,"failed":0,"failures_by_class":{},"last_good":null,"first_bad":null,"empty":"--points mark: the log has no marks","data_scan":{"ran":false,"reason":"no-poison","detail":"off: no poison in 256 sampled sectors of the base image (--data forces it)","other_fill_sectors":0},"seed":null,"unconverted":{"states":0,"max_blocks":0,"max_files":0},"sampled_epochs":0}'
}

@test "--points N,M: exactly those entries, in log order" {
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --points 30,3,12 --json
	assert_success
	assert_equal "$(state_entries <<<"$output" | xargs)" "0 3 1 12 2 30"
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --points 0 --json
	assert_equal "$(state_entries <<<"$output" | xargs)" "0 0"
	# State 1 of "30,3,12" is entry 12, as for --materialize.
	local d m ref
	d=$(scratch)
	m="$d/m.img" ref="$d/ref.img"
	cp --sparse=always "$PLAIN/base.img" "$ref"
	apply_range "$ref" "$PLAIN/log.img" 0 12
	materialize "$PLAIN/base.img" "$PLAIN/log.img" 1 "$m" --points 30,3,12
	cmp "$m" "$ref"
}

# --- reordering --------------------------------------------------------------------

@test "--reorder: a small epoch gives all 2^3-2 proper non-empty subsets of its 3 writes" {
	local d log m ref s sub
	d=$(scratch)
	log="$d/three.log"
	mklog "$log" 512 w:12000:8:1 f w:12800:8:2 w:13600:8:3 w:14400:16:4 f
	crash --base "$TINY" --log "$log" --reorder --json
	assert_success
	# The two flush states, and 6 reordered states on top of entry 1, sorted
	# by durable prefix: state 0 (entry 1), states 1-6, state 7 (entry 5).
	jqs 'map(select(.type == "state")) | length == 8'
	jqs 'map(select(.type == "state")) | (.[0] | .entry == 1 and .reordered == null)
		and (.[7] | .entry == 5 and .reordered == null)
		and (.[1:7] | all(.entry == 1))
		and ([.[1:7][].reordered | sort] | sort == [[2],[2,3],[2,4],[3],[3,4],[4]])'
	jqs '.[-1] | .states == 8 and .sampled_epochs == 0 and (.seed | type) == "number"'
	# Each reordered state is the durable prefix plus exactly its subset.
	m="$d/m.img"
	for s in 1 2 3 4 5 6; do
		sub=$(jq -r --argjson s "$s" 'select(.type == "state" and .state == $s) | .reordered[]' <<<"$output")
		ref="$d/ref.img"
		cp --sparse=always "$TINY" "$ref"
		apply_range "$ref" "$log" 0 1
		for e in $sub; do
			apply_range "$ref" "$log" "$e" "$e"
		done
		materialize "$TINY" "$log" "$s" "$m" --reorder
		cmp "$m" "$ref" || fail "reordered state $s (entries $sub on top of entry 1) differs"
	done
	# Without --reorder, only the flush states.
	crash --base "$TINY" --log "$log" --json
	assert_equal "$(state_entries <<<"$output" | xargs)" "0 1 1 5"
}

@test "--reorder: writes after the last flush reach the disk as any subset, all of them included" {
	local d log got
	d=$(scratch)
	log="$d/tail.log"
	# A log that ends with three writes in flight, as a crash leaves it.
	mklog "$log" 512 w:12000:8:1 f w:12800:8:2 w:13600:8:3 w:14400:8:4
	crash --base "$TINY" --log "$log" --reorder --json
	# Nothing after entry 1 is durable, so any subset of 2, 3, 4 may be on
	# the disk: the 7 non-empty ones (the empty one is state 0).  No later
	# flush state stands for "all of them", so the full set is a state too.
	got=$(jq -s -c '[.[] | select(.type == "state" and .reordered != null) | .reordered | sort] | sort' \
		<<<"$output")
	assert_equal "$got" "[[2],[2,3],[2,3,4],[2,4],[3],[3,4],[4]]"
}

@test "--reorder: large epochs are sampled, exactly --max-states states each, from the printed seed" {
	local ep max=10 s1
	ep=$(epochs "$PLAIN/log.img")
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --reorder --max-states $max --seed 12345 --json
	[ "$status" -eq 0 ] || [ "$status" -eq 4 ] || fail "exit $status: $stderr"
	[ -z "$stderr" ] || fail "stderr with --json: $stderr"
	# Per epoch: the flush state itself (not for the writes before the first
	# flush) and min(2^n - 2, max) states on top of it.
	jqs --argjson ep "$ep" --argjson max $max '
		def want($n): if $n < 2 then 0 elif (pow(2; $n) - 2) <= $max then pow(2; $n) - 2 else $max end;
		[.[] | select(.type == "state")] as $s
		| all($ep[]; . as $e | ([$s[] | select(.entry == $e.prefix)] | length)
			== want($e.writes | length) + (if $e.prefix == null then 0 else 1 end))'
	jqs --argjson ep "$ep" --argjson max $max '
		.[-1] | .seed == 12345 and .sampled_epochs ==
			([$ep[] | select((.writes | length) >= 2 and (pow(2; .writes | length) - 2) > $max)] | length)'
	# Some epoch of this log is large enough to be sampled.
	jqs '.[-1].sampled_epochs > 0'
	# In plan order: durable prefixes never go back, and on one prefix the
	# durable state comes before the reordered ones.
	jqs '[.[] | select(.type == "state")] | . as $s
		| all(range(1; length); ($s[. - 1].entry // -1) < ($s[.].entry // -1)
			or (($s[. - 1].entry // -1) == ($s[.].entry // -1)
				and ($s[. - 1].reordered == null or $s[.].reordered != null)))
		and ([.[].state] == [range(length)])'
	# The same seed gives the same run, byte for byte.
	s1=$output
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --reorder --max-states $max --seed 12345 --json
	assert_equal "$output" "$s1"
	# Without --seed the seed comes from the clock, is printed (text: on
	# stderr; JSON: in the summary), and replays the run.
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --reorder --max-states $max
	[[ ${stderr_lines[0]} =~ ^ext4da-crash:\ reorder\ seed\ ([0-9]+)$ ]] ||
		fail "no seed line on stderr: $stderr"
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --reorder --max-states $max --json
	s1=$output
	local seed
	seed=$(summary | jq .seed)
	[[ $seed =~ ^[0-9]+$ ]] || fail "no seed in the summary: $(summary)"
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --reorder --max-states $max --seed "$seed" --json
	assert_equal "$output" "$s1"
}

@test "--reorder sampling: each sampled state is a distinct, non-empty, proper subset of its epoch" {
	local ep max=10 seed bad
	ep=$(epochs "$PLAIN/log.img")
	for seed in 1 2 3 12345; do
		crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --reorder --max-states $max --seed $seed --json
		# On each sampled epoch's prefix: exactly max reordered states, none
		# empty (an empty subset repeats the durable state, and shows as a
		# second state with "reordered": null), none the whole epoch, none
		# repeated.
		bad=$(jq -s -c --argjson ep "$ep" --argjson max $max '
			[.[] | select(.type == "state")] as $s
			| [$ep[] | select((.writes | length) >= 2 and (pow(2; .writes | length) - 2) > $max)
				| . as $e
				| [$s[] | select(.entry == $e.prefix)] as $on
				| [$on[] | select(.reordered != null) | .reordered] as $r
				| {prefix: $e.prefix, writes: ($e.writes | length),
				   durable: ([$on[] | select(.reordered == null)] | length),
				   reordered: ($r | length), distinct: ($r | unique | length),
				   improper: ([$r[] | select(length == ($e.writes | length) or (. - $e.writes) != [])]
					| length)}
				| select(.reordered != $max or .distinct != $max or .improper != 0
					or .durable != (if .prefix == null then 0 else 1 end))]' <<<"$output")
		[ "$bad" = "[]" ] || fail "seed $seed, sampled epochs with empty, repeated or improper subsets: $bad"
	done
}

@test "discards: the discarded range reads back as zeros" {
	local d log m ref
	d=$(scratch)
	log="$d/discard.log" m="$d/m.img" ref="$d/ref.img"
	# Sectors 14400-14415 still hold the poison of the base; 12000-12007
	# are written, then half of them and the poisoned range are discarded.
	mklog "$log" 512 w:12000:8:7 f d:12000:4 d:14400:16 f
	materialize "$TINY" "$log" 0 "$m"
	cmp <(dd if="$m" bs=512 skip=12000 count=8 status=none) <(fill 4096 7)
	cmp <(dd if="$m" bs=512 skip=14400 count=16 status=none) \
		<(dd if="$TINY" bs=512 skip=14400 count=16 status=none)
	[ "$(dd if="$m" bs=512 skip=14400 count=1 status=none | head -c 8)" = E4DAPOIS ]
	materialize "$TINY" "$log" 1 "$m"
	cmp <(dd if="$m" bs=512 skip=12000 count=4 status=none) <(fill 2048 0) ||
		fail "the discarded half of the write is not zeros"
	cmp <(dd if="$m" bs=512 skip=12004 count=4 status=none) <(fill 2048 7) ||
		fail "the half not discarded changed"
	cmp <(dd if="$m" bs=512 skip=14400 count=16 status=none) <(fill 8192 0) ||
		fail "the discarded poison is not zeros"
	# Everything else is the base plus the log, as logdump --apply has it.
	cp --sparse=always "$TINY" "$ref"
	apply_range "$ref" "$log" 0 4
	cmp "$m" "$ref"
	crash --base "$TINY" --log "$log" --json
	assert_success
}

# --- oracles ---------------------------------------------------------------------

# In DEFER, the FLUSH after step 3 (state 2) makes the journal commit that
# maps d0/f3 durable while d0/f3's data, deferred to the next epoch (state 3),
# is not: the file's extent maps blocks that still hold poison.

@test "STALE exactly between the journal commit and the deferred data (--data)" {
	local flushes
	flushes=($(flush_entries "$DEFER/log.img"))
	[ "${#flushes[@]}" -eq 4 ] || fail "expected 4 flushes, got ${flushes[*]}"
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --json
	[ "$status" -eq 4 ] || fail "exit $status, expected 4: $stderr"
	[ -z "$stderr" ]
	jqs --argjson f "$(printf '%s\n' "${flushes[@]}" | jq -s -c .)" '
		[.[] | select(.type == "state")]
		| (map(.entry) == $f)
		and (map(select(.verdict == "fail")) | map(.state)) == [2]
		and (.[2] | .failures == ["STALE"] and (.errors | keys) == ["STALE"] and .errors.STALE > 0
			and .reordered == null)
		and (.[0:2] + .[3:4] | all(.verdict == "pass" and .failures == [] and .errors == {}))'
	jqs '.[-1] | .states == 4 and .failed == 1 and .failures_by_class == {"STALE": 1}
		and .first_bad == 2 and .last_good == 1'
	# The text summary says the same.
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data
	[ "$status" -eq 4 ]
	assert_line "$DEFER/log.img: 4 crash state(s), 1 failed"
	assert_line --regexp '^  STALE +1 state\(s\)$'
	assert_line "last good before the first failure: state 1 (after entry ${flushes[1]})"
	assert_line "first bad: state 2 (after entry ${flushes[2]})"
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data -v
	assert_line "  FAIL state 2 (after entry ${flushes[2]})"
	# --no-data: no data scan, no STALE.
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --no-data --json
	assert_success
}

@test "the data scan is automatic on a poisoned base (no --data)" {
	# mkfs.ext4 zeroes the last 64 KiB of the device, so the base's last
	# sector is no longer poison although every free block still is.
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --json
	[ "$status" -eq 4 ] || fail "exit $status, expected 4 (STALE at state 2) without --data:
$output"
	jqs '[.[] | select(.type == "state" and .verdict == "fail") | .state] == [2]'
	# A base that was never poisoned is not scanned, and passes.
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --json
	assert_success
}

@test "--fail-on: only the listed classes fail a state" {
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --fail-on LEAKED --json
	assert_success
	# The finding is still counted, it just does not fail the state.
	jqs '[.[] | select(.type == "state")] | all(.verdict == "pass" and .failures == [])
		and (.[2].errors | keys) == ["STALE"] and .[2].errors.STALE > 0'
	jqs '.[-1] | .failed == 0 and .failures_by_class == {} and .first_bad == null and .last_good == null'
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --fail-on LEAKED,STALE --json
	[ "$status" -eq 4 ]
	jqs '.[-1] | .failed == 1 and .first_bad == 2'
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --fail-on stale --json
	[ "$status" -eq 4 ]
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --fail-on UNMARKED,MULTIPLY_OWNED,GROUP_COUNTS
	assert_success
	assert_line "$DEFER/log.img: 4 crash state(s), none failed"
}

@test "--fsck-cmd 'e2fsck -fn %s': run on every recovered state, fsck_exit 0 on good states" {
	local plain
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --fsck-cmd 'e2fsck -fn %s' --json
	[ "$status" -eq 4 ] || fail "exit $status: $stderr"
	# e2fsck -n does not replay a journal: exit 0 means the state it saw was
	# recovered, and its superblock totals settled as the kernel does.
	jqs '[.[] | select(.type == "state")] | length == 4 and all(.fsck_exit == 0)
		and (map(select(.verdict == "fail") | .state) == [2]) and .[2].failures == ["STALE"]'
	# Without --fsck-cmd, fsck_exit is null; the verdicts do not change.
	plain=$(ext4da-crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --json || true)
	assert_equal "$(jq -c 'del(.fsck_exit)' <<<"$output")" "$(jq -c 'del(.fsck_exit)' <<<"$plain")"
	[ "$(jq -s -c '[.[] | select(.type == "state") | .fsck_exit] | unique' <<<"$plain")" = "[null]" ]
	# On the 8-step log too.
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --fsck-cmd 'e2fsck -fn %s' --json
	assert_success
	jqs '[.[] | select(.type == "state") | .fsck_exit] | unique == [0]'
	# A command without %s gets the image appended.
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --fsck-cmd 'test -s' --json
	assert_success
	jqs '[.[] | select(.type == "state") | .fsck_exit] | unique == [0]'
}

@test "--fsck-cmd that fails makes the state fail with FSCK" {
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --fsck-cmd 'sh -c "exit 3" sh %s' --json
	[ "$status" -eq 4 ] || fail "exit $status"
	jqs '[.[] | select(.type == "state")] | length == 8
		and all(.verdict == "fail" and .failures == ["FSCK"] and .fsck_exit == 3 and .errors == {})'
	jqs '.[-1] | .failed == 8 and .failures_by_class == {"FSCK": 8} and .first_bad == 0 and .last_good == null'
	# The text summary counts them.
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --fsck-cmd false
	[ "$status" -eq 4 ]
	assert_line --regexp '^  FSCK +8 state\(s\)$'
}

# Durability marks: not tested here yet, on purpose.  The oracle (SPEC
# section 7: ext4da-mark records in the last MiB of the device, decoded by
# lib/core/mark.c, turned into marks at their entries by lib/crash/durability.c) is
# still being implemented.  Its tests go here: a workload that fsyncs files
# and writes ext4da-mark durability records (a hand-made log with record
# writes into the mark area, and a mkcrashlog-style log); --points mark
# stopping at those writes; every state from the mark's entry on passing
# while the files are whole, and failing with DURABILITY (whatever
# --fail-on says, with a note naming the mark and the file) when a later
# write loses, truncates or changes one; a later mark listing the same inode
# taking over; reordered writes never making a mark hold.

# --- --save ---------------------------------------------------------------------

# run_saved_cmd DIR N WHERE: run the command of DIR/state-N.cmd in WHERE.
run_saved_cmd() {
	local dir=$1 n=$2 where=$3
	[ -f "$dir/state-$n.cmd" ] || fail "no $dir/state-$n.cmd"
	mkdir -p "$where"
	(cd "$where" && PATH="$BUILDDIR:$PATH" bash "$dir/state-$n.cmd" >/dev/null) ||
		fail "the command of state-$n.cmd failed: $(cat "$dir/state-$n.cmd")"
	cmp "$where/state-$n.img" "$dir/state-$n.img" || fail "state-$n.cmd rebuilds a different image"
}

@test "--save DIR: image, command, ext4da-check's JSON for each failing state; the command rebuilds it" {
	local d m
	d=$(scratch)
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --save "$d/save"
	[ "$status" -eq 4 ]
	assert_equal "$(cd "$d/save" && ls -A | xargs)" "state-2.cmd state-2.ext4da-check.json state-2.img"
	# ext4da-check's own JSON of the state: the stale file, by path.
	jq -e '[.findings[] | select(.code == "STALE" and .path == "/d0/f3")] | length > 0' \
		"$d/save/state-2.ext4da-check.json" >/dev/null ||
		fail "no STALE finding in $(cat "$d/save/state-2.ext4da-check.json")"
	# The saved image is crash state 2, before journal replay.
	m="$d/m.img"
	materialize "$DEFER/base.img" "$DEFER/log.img" 2 "$m"
	cmp "$m" "$d/save/state-2.img"
	grep -q -- '--materialize 2 state-2.img' "$d/save/state-2.cmd"
	run_saved_cmd "$d/save" 2 "$d/rebuild"
	# Nothing is saved for a campaign that passes.
	crash --base "$PLAIN/base.img" --log "$PLAIN/log.img" --save "$d/none"
	assert_success
	[ -z "$(ls -A "$d/none" 2>/dev/null)" ]
}

@test "--save: the command rebuilds the state when the campaign used relative paths" {
	local d
	d=$(scratch)
	(cd "$DEFER" && ext4da-crash -q --base base.img --log log.img --data --save "$d/save") || true
	[ -f "$d/save/state-2.img" ] || fail "state 2 not saved"
	run_saved_cmd "$d/save" 2 "$d/rebuild"
}

# The saved states of these campaigns are numbered in their own plans, so
# the command must carry what builds that plan.  --fsck-cmd false fails
# every state; --shard keeps the number of saved images small.

@test "--save: the command rebuilds the state of a --points every campaign" {
	local d n
	d=$(scratch)
	ext4da-crash -q --base "$PLAIN/base.img" --log "$PLAIN/log.img" --points every --shard 10/10 \
		--fsck-cmd false --save "$d/every" || true
	[ -n "$(ls "$d/every"/state-*.cmd 2>/dev/null)" ] || fail "nothing saved"
	for n in $(cd "$d/every" && printf "%s\n" state-*.cmd | sed 's/state-\(.*\)\.cmd/\1/'); do
		run_saved_cmd "$d/every" "$n" "$d/rebuild"
	done
}

@test "--save: the command rebuilds the state of a sampled --reorder campaign (seed, max-states)" {
	local d n
	d=$(scratch)
	ext4da-crash -q --base "$PLAIN/base.img" --log "$PLAIN/log.img" --reorder --max-states 3 \
		--seed 99 --shard 4/4 --fsck-cmd false --save "$d/reorder" || true
	[ -n "$(ls "$d/reorder"/state-*.cmd 2>/dev/null)" ] || fail "nothing saved"
	for n in $(cd "$d/reorder" && printf "%s\n" state-*.cmd | sed 's/state-\(.*\)\.cmd/\1/'); do
		run_saved_cmd "$d/reorder" "$n" "$d/rebuild"
	done
}

# --- parallel and sharded campaigns -------------------------------------------

@test "-j 2 gives the same JSON lines as -j 1" {
	local opts one
	for opts in "--data" "--data --points every" "--reorder --max-states 10 --seed 5"; do
		# shellcheck disable=SC2086
		one=$(ext4da-crash --base "$DEFER/base.img" --log "$DEFER/log.img" $opts --json -j 1 || true)
		# shellcheck disable=SC2086
		crash --base "$DEFER/base.img" --log "$DEFER/log.img" $opts --json -j 2
		assert_equal "$output" "$one"
		# shellcheck disable=SC2086
		crash --base "$DEFER/base.img" --log "$DEFER/log.img" $opts --json --jobs 7
		assert_equal "$output" "$one"
	done
	# And the same exit status.
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data -j 2
	[ "$status" -eq 4 ]
}

# Each state reuses what the state before it computed: journal blocks whose
# checksums passed (kept while their bytes' generation holds), whole
# chunks of the mapped log borrowed rather than copied, and the journal
# scan, which goes on from where the previous state's walk ended when no
# block it walked was written since.  EXT4DA_NO_STATE_CACHE turns all of
# them off; every state is then computed from scratch.  The options cover
# states in order (the scan goes on), workers and shards that each see
# every other state or start again from the base, and reordered states
# (a dropped subset: the scan walks again).
@test "reuse between states changes nothing: the same JSON lines as recomputing each state" {
	local log opts fresh
	for log in "$DEFER" "$PLAIN"; do
		for opts in "--data --points every" "--reorder --data --seed 11" "--reorder --max-states 6 --seed 3" \
			"--data --points every -j 2" "--points every --shard 2/3"; do
			# shellcheck disable=SC2086
			fresh=$(EXT4DA_NO_STATE_CACHE=1 ext4da-crash --base "$log/base.img" \
				--log "$log/log.img" $opts --json || true)
			# shellcheck disable=SC2086
			crash --base "$log/base.img" --log "$log/log.img" $opts --json
			assert_equal "$output" "$fresh"
		done
	done
	# The comparison covers failing states, not only passing ones.
	crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --points every --json
	jqs '[.[] | select(.type == "state" and .verdict == "fail")] | length > 0'
}

@test "--shard K/3: the union of the shards' state lines is the unsharded run" {
	local opts whole k shards n
	for opts in "--data" "--data --points every" "--reorder --max-states 10 --seed 5"; do
		# shellcheck disable=SC2086
		whole=$(ext4da-crash --base "$DEFER/base.img" --log "$DEFER/log.img" $opts --json | state_lines)
		shards=''
		n=0
		for k in 1 2 3; do
			# shellcheck disable=SC2086
			crash --base "$DEFER/base.img" --log "$DEFER/log.img" $opts --json --shard $k/3
			[ "$status" -eq 0 ] || [ "$status" -eq 4 ] || fail "shard $k/3: exit $status"
			shards+=$(state_lines <<<"$output")$'\n'
			n=$((n + $(summary | jq .states)))
		done
		assert_equal "$(sort <<<"${shards%$'\n'}" | sed '/^$/d')" "$whole"
		[ "$n" -eq "$(wc -l <<<"$whole")" ] || fail "$opts: the shards' summaries count $n states"
	done
	# Shards with -j at once, too.
	whole=$(ext4da-crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --points every --json |
		state_lines)
	shards=$(for k in 1 2 3; do
		ext4da-crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --points every --json \
			--shard $k/3 -j 2
	done | state_lines)
	assert_equal "$shards" "$whole"
}

@test "a base on a block device gives the same states as the image file" {
	local dev d m
	d=$(scratch)
	dev=$(losetup -f --show -r "$DEFER/base.img") || fail "losetup failed"
	crash --base "$dev" --log "$DEFER/log.img" --data --json
	local st=$status out=$output err=$stderr
	local mst=0
	m="$d/m.img"
	rm -f "$m"
	ext4da-crash -q --base "$dev" --log "$DEFER/log.img" --materialize 2 "$m" 2>"$d/err" || mst=$?
	losetup -d "$dev"
	[ "$st" -eq 4 ] || fail "exit $st on the device: $err"
	assert_equal "$out" "$(ext4da-crash --base "$DEFER/base.img" --log "$DEFER/log.img" --data --json)"
	[ "$mst" -eq 0 ] || fail "--materialize from the device: exit $mst: $(cat "$d/err")"
	materialize "$DEFER/base.img" "$DEFER/log.img" 2 "$d/ref.img"
	cmp "$m" "$d/ref.img"
}
