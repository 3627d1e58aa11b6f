#!/usr/bin/env bats
# needs root: its fixtures are made on loop-mounted filesystems (mkcrashlog)
# SIGINT and SIGTERM (issue 11, point 5): ext4da-crash stops its workers and
# the --fsck-cmd commands, removes every temporary image, and exits 32
# ("cancelled", as fsck(8)).

load helpers

bats_require_minimum_version 1.5.0

# GOOD: a 2-step mkcrashlog on a 16 MiB device (two flush states).
setup_file() {
	require_root
	export GOOD="$BATS_FILE_TMPDIR/good"
	SIZE=16M "$SRCDIR/tests/fixtures/mkcrashlog" "$GOOD" 2 >/dev/null
}

# Processes whose command line holds $1 (not this shell's own).
procs_with() {
	local f
	for f in /proc/[0-9]*/cmdline; do
		tr '\0' ' ' <"$f" 2>/dev/null | grep -qF -- "$1" && echo "${f#/proc/}"
	done | grep -v "^$BASHPID/" || true
}

# wait_for N MARKER: until N processes run MARKER (20 s at most).
wait_for() {
	local i
	for i in $(seq 200); do
		[ "$(procs_with "$2" | wc -l)" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "never $1 processes running '$2': $(procs_with "$2")"
}

# interrupt SIGNAL JOBS: a campaign whose --fsck-cmd sleeps, signalled
# while every worker is inside it; checks exit 32 and that nothing is left.
interrupt() {
	local sig=$1 jobs=$2 tmp pid status=0 marker
	tmp=$(scratch)/tmp
	mkdir -p "$tmp"
	marker="sleep 47.$RANDOM"
	TMPDIR=$tmp ext4da-crash --base "$GOOD/base.img" --log "$GOOD/log.img" -j "$jobs" \
		--fsck-cmd "$marker; : %s" >"$(scratch)/out" 2>"$(scratch)/err" &
	pid=$!
	wait_for "$jobs" "$marker; : /"
	kill -"$sig" "$pid"
	wait "$pid" || status=$?
	[ "$status" -eq 32 ] || fail "SIG$sig: exit $status, expected 32; $(cat "$(scratch)/err")"
	[ -z "$(ls -A "$tmp")" ] || fail "SIG$sig left: $(ls -la "$tmp")"
	[ -z "$(procs_with "$marker")" ] || fail "SIG$sig left processes: $(procs_with "$marker")"
	[ -z "$(procs_with "$GOOD/log.img")" ] || fail "SIG$sig left workers"
	grep -qx "ext4da-crash: interrupted; temporary files removed" "$(scratch)/err" ||
		fail "stderr: $(cat "$(scratch)/err")"
	[ ! -s "$(scratch)/out" ] || fail "stdout: $(cat "$(scratch)/out")"
}

@test "SIGINT during --fsck-cmd -j 2: exit 32, no temporary image, no process left" {
	interrupt INT 2
}

@test "SIGTERM during --fsck-cmd -j 2: exit 32, no temporary image, no process left" {
	interrupt TERM 2
}

@test "SIGTERM during --fsck-cmd with one job: exit 32, nothing left" {
	interrupt TERM 1
}

@test "SIGKILL during --fsck-cmd -j 2: no image left in TMPDIR" {
	local tmp pid marker p
	tmp=$(scratch)/tmp
	mkdir -p "$tmp"
	marker="sleep 48.$RANDOM"
	TMPDIR=$tmp ext4da-crash --base "$GOOD/base.img" --log "$GOOD/log.img" -j 2 \
		--fsck-cmd "$marker; : %s" >/dev/null 2>&1 &
	pid=$!
	# Each hook is given its image as /proc/PID/fd/N: open in the tool,
	# with no name in TMPDIR.
	wait_for 2 "$marker; : /proc/"
	kill -KILL "$pid"
	wait "$pid" || true
	for p in $(procs_with "$GOOD/log.img") $(procs_with "$marker"); do
		kill -KILL "${p%%/*}" 2>/dev/null || true
	done
	[ -z "$(ls -A "$tmp")" ] || fail "SIGKILL left: $(ls -la "$tmp")"
}

@test "--fsck-cmd output of a failing state is kept: JSON, -v and --save" {
	local d
	d=$(scratch)
	run --separate-stderr ext4da-crash --base "$GOOD/base.img" --log "$GOOD/log.img" --json \
		--fsck-cmd 'echo "checked %s"; echo "bad inode 12" >&2; exit 4'
	[ "$status" -eq 4 ] || fail "exit $status"
	jq -e -s '[.[] | select(.type == "state")] | length == 2 and all(.fsck_exit == 4
		and (.fsck_output | test("^checked /proc/[0-9]+/fd/[0-9]+\nbad inode 12\n$")))' \
		<<<"$output" >/dev/null || fail "$output"
	run --separate-stderr ext4da-crash --base "$GOOD/base.img" --log "$GOOD/log.img" -v \
		--fsck-cmd 'echo "bad inode 12"; exit 4' --save "$d/save"
	[ "$status" -eq 4 ]
	assert_line "    fsck: bad inode 12"
	[ "$(cat "$d/save/state-0.fsck.txt")" = "bad inode 12" ] || fail "$(ls "$d/save")"
	# A passing state keeps nothing.
	run --separate-stderr ext4da-crash --base "$GOOD/base.img" --log "$GOOD/log.img" --json \
		--fsck-cmd 'echo fine; : %s'
	assert_success
	jq -e -s 'all(.fsck_output == null)' <<<"$output" >/dev/null || fail "$output"
}
