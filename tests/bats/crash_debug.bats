#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# Debugging a failing crash state without extra steps (ext4da-crash(8)):
# --list prints the log one entry a line with what each write hit, --explain
# N tells one state's whole story, and --save/--materialize never leave a
# partial image under the final name, even when killed.

load helpers

bats_require_minimum_version 1.5.0

# DEFER: POISON=1 DEFER_FILE=d0/f3, 3 steps (state 2 is STALE, crash.bats);
# MARKED: MARKS=1, 3 steps, so the log writes ext4da-mark records.
setup_file() {
	require_root
	local d=$BATS_FILE_TMPDIR
	export DEFER="$d/defer" MARKED="$d/marked"
	POISON=1 DEFER_FILE=d0/f3 "$SRCDIR/tests/fixtures/mkcrashlog" "$DEFER" 3 >/dev/null
	MARKS=1 "$SRCDIR/tests/fixtures/mkcrashlog" "$MARKED" 3 >/dev/null
}

crash() {
	run --separate-stderr ext4da-crash "$@"
}

@test "--list: one line per log entry, with flags and what each write hit" {
	crash --list --base "$DEFER/base.img" --log "$DEFER/log.img"
	assert_success
	assert_line --index 0 --regexp '^ +entry +sector +sectors +flags +what$'
	# Entry 0 is mkfs's first write: the superblock and descriptors.
	assert_line --index 1 --regexp '^ +0 +0 +[0-9]+ +- +superblock, group descriptor'
	assert_line --regexp '^ +[0-9]+ +0 +0 +FLUSH *$'
	assert_line --regexp ' journal$'
	assert_line --regexp ' inode table'
	assert_line --regexp ' data$'
	# The JSON Lines: one object per entry, the same count as the text.
	crash --list --json --base "$DEFER/base.img" --log "$DEFER/log.img"
	assert_success
	[ "$(jq -s 'length' <<<"$output")" -eq $(( $(ext4da-crash --list --base "$DEFER/base.img" --log "$DEFER/log.img" | wc -l) - 1 )) ]
	jq -e -s 'all(.type == "entry" and .sector_size == 512 and (.flags | type) == "array")
		and (.[0].entry == 0) and ([.[] | select(.flags == ["FLUSH"])] | length == 4)
		and ([.[] | select(.hits != null and (.hits | index("journal")))] | length > 0)' \
		<<<"$output" >/dev/null || fail "$output"
}

@test "--list: ext4da-mark records are named, and the mark area is outside the filesystem" {
	crash --list --base "$MARKED/base.img" --log "$MARKED/log.img"
	assert_success
	assert_line --regexp 'outside the filesystem; mark record [^ ]+$'
	crash --list --json --base "$MARKED/base.img" --log "$MARKED/log.img"
	jq -e -s '[.[] | select(.mark_record != null)] | length == 3' <<<"$output" >/dev/null ||
		fail "$output"
}

@test "--explain N: entries held and dropped, the journal replayed, findings with paths, the verdict" {
	crash --explain 2 --fsck-cmd 'e2fsck -fn %s' --base "$DEFER/base.img" --log "$DEFER/log.img"
	[ "$status" -eq 4 ]
	assert_line --index 0 --partial 'state 2 (after entry '
	assert_line --regexp '^  held +[0-9]+ '
	# Step 3's deferred data reached the disk only after the flush.
	assert_line --regexp '^  dropped +[0-9]+ +[0-9]+ +[0-9]+ +- +data$'
	assert_line --regexp '^journal: needed recovery; replayed [0-9]+ transaction'
	assert_line --regexp '^  tid [0-9]+ +replayed '
	assert_line --regexp '^  STALE inode [0-9]+ \(/d0/f3\) blocks [0-9]+-[0-9]+ logical 0-[0-9]+: never written'
	# The hook's exit status and everything it printed.
	assert_line --regexp '^fsck exit [0-9]+, it printed:$'
	assert_line --regexp '^  \| Pass 5: Checking group summary information$'
	assert_line 'verdict: fail (STALE)'
	# A passing state, and one past the plan.
	crash --explain 0 --base "$DEFER/base.img" --log "$DEFER/log.img"
	assert_success
	assert_line 'verdict: pass'
	crash --explain 9 --base "$DEFER/base.img" --log "$DEFER/log.img"
	[ "$status" -eq 16 ]
	[ "$stderr" = "ext4da-crash: --explain 9: the plan has 4 states (0 to 3)" ]
	crash --explain 1 --list --base "$DEFER/base.img" --log "$DEFER/log.img"
	[ "$status" -eq 16 ]
}

@test "--explain on a reordered state: the writes it holds and those it drops" {
	crash --explain 1 --reorder --seed 1 --base "$DEFER/base.img" --log "$DEFER/log.img"
	assert_line --regexp '^reordered: [0-9]+ write'
	assert_line --regexp '^  held '
	assert_line --regexp '^  dropped '
}

# killed_runs CMD...: run CMD, killed with SIGKILL after 0.1, 0.2, ... s.
killed_runs() {
	local t
	for t in 0.1 0.2 0.3 0.5 0.8 1.2; do
		"$@" >/dev/null 2>&1 &
		sleep "$t"
		kill -KILL $! 2>/dev/null || true
		wait $! 2>/dev/null || true
		"${check_after[@]}"
	done
}

@test "--save and --materialize killed outright: never a partial file under the final name" {
	local d m
	d=$(scratch)
	m="$d/whole.img"
	ext4da-crash -q --base "$DEFER/base.img" --log "$DEFER/log.img" --materialize 2 "$m"
	whole_or_absent() {
		local f
		for f in "$d"/out.img "$d"/save/state-2.img; do
			[ ! -e "$f" ] || cmp -s "$f" "$m" || fail "$f is partial"
		done
		rm -f "$d/out.img"
	}
	check_after=(whole_or_absent)
	# Partial outputs of SIGKILLed runs (never under a final name) stay
	# in the test's dir.
	mkdir -p "$d/tmp"
	export TMPDIR=$d/tmp
	killed_runs ext4da-crash -q --base "$DEFER/base.img" --log "$DEFER/log.img" \
		--materialize 2 "$d/out.img"
	killed_runs ext4da-crash -q --base "$DEFER/base.img" --log "$DEFER/log.img" \
		--fsck-cmd 'sleep 0.1; true' --save "$d/save"
	# SIGTERM also removes the temporary files.
	ext4da-crash -q --base "$DEFER/base.img" --log "$DEFER/log.img" --fsck-cmd 'sleep 5 # %s' \
		--save "$d/term" >/dev/null 2>&1 &
	sleep 1
	local pid=$! st=0
	kill -TERM "$pid"
	wait "$pid" || st=$?
	[ "$st" -eq 32 ] || fail "exit $st"
	[ -z "$(ls -A "$d/term" 2>/dev/null)" ] || fail "left: $(ls -A "$d/term")"
}
