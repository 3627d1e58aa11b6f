#!/usr/bin/env bats
# needs root: mkcrashed and mkfaulty make their images through loop mounts
# needs fault injection: EXT4DA_FAULT_WRITE=N kills a tool before its Nth write
# Interrupted writes (lib/blockdev/fault.h, lib/blockdev/guardio.h): each
# writing run is killed before every one of its writes and flushes in turn,
# and what it left is then finished or undone:
#   - in-place replay (of full commits, and of fast commits), rerun: the
#     same bytes as an uninterrupted replay;
#   - replay --output: nothing under the final name, and a rerun gives the
#     same bytes;
#   - in-place replay --undo and ext4da-check --repair (undo file): e2undo
#     restores the original exactly.

load helpers

FAULT=99	# FAULT_EXIT_CODE in lib/blockdev/fault.h

setup_file() {
	export CRASHED="$BATS_FILE_TMPDIR/crashed.img" LEAKED="$BATS_FILE_TMPDIR/leaked.img"
	export FASTCOMMIT="$BATS_FILE_TMPDIR/fastcommit.img"
	"$SRCDIR/tests/fixtures/mkcrashed" "$CRASHED" 42 >/dev/null 2>&1
	"$SRCDIR/tests/fixtures/mkfastcommit" "$FASTCOMMIT" mkdir >/dev/null 2>&1
	"$SRCDIR/tests/fixtures/mkfaulty" leaked "$LEAKED" >/dev/null
}

# The byte offsets (1-based, from cmp -l) where images $1 and $2 differ.
diff_offsets() {
	cmp -l "$1" "$2" | awk '{ print $1 }'
}

# The image's journal superblock: its byte range "FIRST LAST" (0-based).
jsb_range() {
	local bs blk
	bs=$(dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Block size: *//p')
	blk=$(debugfs -R "bmap <8> 0" "$1" 2>/dev/null)
	echo $((blk * bs)) $((blk * bs + bs - 1))
}

@test "the crashed image has several transactions to replay" {
	run ext4da-replay --list "$CRASHED"
	assert_success
	[ "$(grep -c ' committed$' <<<"$output")" -ge 3 ] || fail "$output"
}

# rerun_at_every_write IMAGE: in-place replay of a copy of IMAGE, killed
# before each write in turn, then run again: the bytes of an uninterrupted
# replay.
rerun_at_every_write() {
	local img=$1 d n=1 rc kills=0 seq_only=0 jsb first last off
	d=$(scratch)
	cp --sparse=always "$img" "$d/ref.img"
	run ext4da-replay -q "$d/ref.img"
	assert_success
	read -r first last < <(jsb_range "$d/ref.img")
	while :; do
		cp --sparse=always "$img" "$d/k.img"
		rc=0
		EXT4DA_FAULT_WRITE=$n ext4da-replay -q "$d/k.img" 2>/dev/null || rc=$?
		[ "$rc" -eq "$FAULT" ] || break
		kills=$((kills + 1))
		run ext4da-replay -q "$d/k.img"
		[ "$status" -eq 0 ] || fail "killed before write $n: the rerun exits $status: $output"
		if ! cmp -s "$d/k.img" "$d/ref.img"; then
			# Killed after the journal was marked empty, before the
			# superblock's needs_recovery was cleared: the rerun bumps
			# the journal's s_sequence once more, as e2fsck and the
			# kernel do on an empty journal.  Only that may differ.
			for off in $(diff_offsets "$d/k.img" "$d/ref.img"); do
				[ $((off - 1)) -ge "$first" ] && [ $((off - 1)) -le "$last" ] ||
					fail "killed before write $n: byte $off differs outside the journal superblock"
			done
			jsb=$(dumpe2fs -h "$d/k.img" 2>/dev/null | sed -n 's/^Journal sequence: *//p')
			[ $((jsb)) -eq $(($(dumpe2fs -h "$d/ref.img" 2>/dev/null |
				sed -n 's/^Journal sequence: *//p') + 1)) ] ||
				fail "killed before write $n: journal sequence $jsb"
			seq_only=$((seq_only + 1))
		fi
		n=$((n + 1))
	done
	[ "$rc" -eq 0 ] || fail "EXT4DA_FAULT_WRITE=$n: exit $rc"
	# Replay writes adjacent home blocks as one run, so a small journal
	# has few write points; there must still be several to kill at.
	[ "$kills" -ge 10 ] || fail "only $kills write points"
	# the window is the superblock's write and its flush
	[ "$seq_only" -le 2 ] || fail "$seq_only kill points left a bumped journal sequence"
	echo "# $kills kill points, $seq_only left only the journal sequence bumped" >&3
}

@test "in-place replay killed before each write, then rerun: the bytes of an uninterrupted replay" {
	rerun_at_every_write "$CRASHED"
}

@test "the same with fast commits to replay after the log" {
	# The fast-commit replay stamps the superblock's write time: one
	# clock for every run (libext2fs honours E2FSPROGS_FAKE_TIME).
	export E2FSPROGS_FAKE_TIME=1700000000
	rerun_at_every_write "$FASTCOMMIT"
}

@test "replay --output killed before each write: nothing under the final name, and a rerun gives the same bytes" {
	local d n=1 rc kills=0
	d=$(scratch)
	run ext4da-replay -q --output "$d/ref.img" "$CRASHED"
	assert_success
	while :; do
		rm -f "$d/out.img" "$d/out.img.partial"
		rc=0
		EXT4DA_FAULT_WRITE=$n ext4da-replay -q --output "$d/out.img" "$CRASHED" 2>/dev/null || rc=$?
		[ "$rc" -eq "$FAULT" ] || break
		kills=$((kills + 1))
		[ ! -e "$d/out.img" ] || fail "killed before write $n: $d/out.img exists"
		run ext4da-replay -q --output "$d/out.img" "$CRASHED"
		[ "$status" -eq 0 ] || fail "killed before write $n: the rerun exits $status: $output"
		cmp -s "$d/out.img" "$d/ref.img" || fail "killed before write $n: the rerun differs"
		n=$((n + 1))
	done
	[ "$rc" -eq 0 ] || fail "EXT4DA_FAULT_WRITE=$n: exit $rc"
	# Replay writes adjacent home blocks as one run, so a small journal
	# has few write points; there must still be several to kill at.
	[ "$kills" -ge 10 ] || fail "only $kills write points"
}

@test "replay --output with nothing to replay (a plain copy) killed before each write: nothing under the final name" {
	local d n=1 rc kills=0
	d=$(scratch)
	cp --sparse=always "$CRASHED" "$d/clean.img"
	run ext4da-replay -q "$d/clean.img"
	assert_success
	while :; do
		rm -f "$d/out.img"
		rc=0
		EXT4DA_FAULT_WRITE=$n ext4da-replay -q --output "$d/out.img" "$d/clean.img" 2>/dev/null || rc=$?
		[ "$rc" -eq "$FAULT" ] || break
		kills=$((kills + 1))
		[ ! -e "$d/out.img" ] || fail "killed before write $n: $d/out.img exists"
		# the rerun starts over, whatever the killed run left beside it
		run ext4da-replay -q --output "$d/out.img" "$d/clean.img"
		[ "$status" -eq 0 ] || fail "killed before write $n: the rerun exits $status: $output"
		cmp -s "$d/out.img" "$d/clean.img" || fail "killed before write $n: the rerun differs"
		[ ! -e "$d/out.img.partial" ] || fail "killed before write $n: the rerun left out.img.partial"
		n=$((n + 1))
	done
	[ "$rc" -eq 0 ] || fail "EXT4DA_FAULT_WRITE=$n: exit $rc"
	cmp -s "$d/out.img" "$d/clean.img" || fail "the copy differs from its image"
	[ ! -e "$d/out.img.partial" ] || fail "out.img.partial was left"
	# the copy's chunks, then its length
	[ "$kills" -ge 2 ] || fail "only $kills write points"
}

# undo_at_every_write IMAGE WANT_RC SB_WRITES TOOL ARGS...: run TOOL ARGS
# --undo U IMAGE, killed before each write in turn; e2undo must restore
# IMAGE exactly.  For each of the run's SB_WRITES writes of the primary
# superblock there is one instant where it cannot: after the undo file
# has taken the new superblock, before the image has (lib/blockdev/guardio.h).
# There e2undo must refuse and change nothing.
undo_at_every_write() {
	local img=$1 want=$2 sb_writes=$3 d n=1 rc kills=0 refused=0 before
	shift 3
	d=$(scratch)
	while :; do
		cp --sparse=always "$img" "$d/k.img"
		rm -f "$d/k.undo"
		rc=0
		EXT4DA_FAULT_WRITE=$n "$@" --undo "$d/k.undo" "$d/k.img" >/dev/null 2>&1 || rc=$?
		[ "$rc" -eq "$FAULT" ] || break
		kills=$((kills + 1))
		[ -s "$d/k.undo" ] || fail "killed before write $n: no undo file"
		before=$(sha "$d/k.img")
		run e2undo "$d/k.undo" "$d/k.img"
		if [ "$status" -ne 0 ]; then
			[[ $output == *"superblock doesn't match"* ]] || fail "killed before write $n: e2undo: $output"
			[ "$(sha "$d/k.img")" = "$before" ] || fail "killed before write $n: a refusing e2undo wrote"
			refused=$((refused + 1))
		else
			[[ $output != *"Incomplete undo"* ]] || fail "killed before write $n: $output"
			cmp -s "$d/k.img" "$img" || fail "killed before write $n: e2undo did not restore the image"
		fi
		n=$((n + 1))
	done
	[ "$rc" -eq "$want" ] || fail "EXT4DA_FAULT_WRITE=$n: exit $rc"
	[ "$kills" -ge 10 ] || fail "only $kills write points"
	[ "$refused" -le "$sb_writes" ] || fail "e2undo refused $refused interrupted runs"
	# and the whole run undoes too
	run e2undo "$d/k.undo" "$d/k.img"
	assert_success
	cmp -s "$d/k.img" "$img" || fail "e2undo did not restore the finished run"
	echo "# $kills kill points, e2undo refused $refused" >&3
}

@test "in-place replay --undo killed before each write: e2undo restores the original" {
	# the superblock is written once, when recovery finishes
	undo_at_every_write "$CRASHED" 0 1 ext4da-replay -q
}

@test "in-place replay --undo of fast commits killed before each write: e2undo restores the original" {
	# twice: with the fast commit's changes, then when recovery finishes
	undo_at_every_write "$FASTCOMMIT" 0 2 ext4da-replay -q
}

@test "ext4da-check --repair killed before each write: e2undo restores the original" {
	# once, with the new free counts
	undo_at_every_write "$LEAKED" 1 1 ext4da-check -q --repair
}

@test "an undo file made before the first write is already complete for e2undo" {
	local d
	d=$(scratch)
	cp --sparse=always "$CRASHED" "$d/k.img"
	run env EXT4DA_FAULT_WRITE=1 ext4da-replay -q --undo "$d/k.undo" "$d/k.img"
	[ "$status" -eq "$FAULT" ] || fail "exit $status: $output"
	run e2undo "$d/k.undo" "$d/k.img"
	assert_success
	refute_output --partial "Incomplete"
	cmp -s "$d/k.img" "$CRASHED" || fail "the image changed"
}
