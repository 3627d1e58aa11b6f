#!/usr/bin/env bats
# needs root: it makes its images on loop-mounted filesystems, and mounts them as the reference
# Fast-commit replay on images the kernel wrote (tests/fixtures/mkfastcommit:
# a loop-mounted -O fast_commit filesystem, small changes each fsync'd, the
# image copied while mounted).  Two references:
#  - e2fsck -E journal_only (1.47): byte for byte, except the superblock
#    fields imgcmp exempts and what each test names;
#  - the kernel itself: a copy loop-mounted (recovery at mount) and
#    unmounted, compared by file tree (names, modes, sizes, contents)
#    through debugfs rdump.  This is the reference where e2fsck is wrong,
#    and each such case has a test of its own saying how e2fsck is wrong.

load helpers

setup_file() {
	require_root
	export IMAGES="$BATS_FILE_TMPDIR/images"
	mkdir -p "$IMAGES"
	local c
	for c in tags stale mkdir wrap; do
		EXT4DA_REPLAY="$BUILDDIR/ext4da-replay" "$SRCDIR/tests/fixtures/mkfastcommit" \
			"$IMAGES/$c.img" "$c" >"$IMAGES/$c.log" 2>&1 ||
			{ cat "$IMAGES/$c.log" >&2; return 1; }
	done
	# For ext4da-crash: 4 KiB blocks (snaplog's chunk), a fast-commit area
	# big enough for every fast commit (the default 16 blocks fills up, and
	# the kernel then falls back to a full commit), and the snapshots
	# before the mount and after the first full commit.
	EXT4DA_REPLAY="$BUILDDIR/ext4da-replay" "$SRCDIR/tests/fixtures/mkfastcommit" \
		"$IMAGES/crash.img" tags --mkfs "-b 4096 -J size=8,fast_commit_size=1024" --base "$IMAGES/crash-base.img" \
		--staged "$IMAGES/crash-staged.img" >"$IMAGES/crash.log" 2>&1 ||
		{ cat "$IMAGES/crash.log" >&2; return 1; }
	snaplog "$IMAGES/crash-writes.log" "$IMAGES/crash-base.img" "$IMAGES/crash-staged.img" \
		"$IMAGES/crash.img"
}

list_json() {
	ext4da-replay --list --json -v "$1"
}

# Byte offset in image $1 of byte $3 of fast-commit area block $2.
fc_byte() {
	local j bs blocks fcb dev
	j=$(ext4da-replay --list --json "$1")
	bs=$(jq .journal.blocksize <<<"$j")
	blocks=$(jq .journal.blocks <<<"$j")
	fcb=$(jq .journal.fast_commit_blocks <<<"$j")
	dev=$(debugfs -R "bmap <8> $((blocks - fcb + 1 + $2))" "$1" 2>/dev/null)
	[[ $dev =~ ^[0-9]+$ ]] && [ "$dev" -gt 0 ] || { echo "fc_byte: bmap gave '$dev'" >&2; return 1; }
	# The area's first block starts with a head tag (9).
	if [ "$2" = 0 ] && [ "$(od -An -tu2 -j $((dev * bs)) -N2 "$1" | tr -d ' ')" != 9 ]; then
		echo "fc_byte: no head at device block $dev" >&2
		return 1
	fi
	echo $((dev * bs + $3))
}

# Set byte $2 of file $1 to hex $3, and make sure it changed.
poke() {
	local old
	[[ $2 =~ ^[0-9]+$ ]] || fail "poke: bad offset '$2'"
	old=$(od -An -tx1 -j "$2" -N1 "$1" | tr -d ' ')
	[ "$old" != "$3" ] || fail "poke: byte $2 is already $3"
	printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
	[ "$(od -An -tx1 -j "$2" -N1 "$1" | tr -d ' ')" = "$3" ] || fail "poke: byte $2 did not change"
}

# imgcmp -x arguments exempting inode $2's i_blocks and checksum in image $1.
inode_iblocks_exempt() {
	local loc blk off
	loc=$(debugfs -R "imap <$2>" "$1" 2>/dev/null | sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p')
	read -r blk off <<<"$loc"
	local bs
	bs=$(dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Block size: *//p')
	local base=$((blk * bs + off))
	echo "-x $((base + 0x1c)):4 -x $((base + 0x7c)):2 -x $((base + 0x82)):2"
}

@test "mkfastcommit: the tags image holds every kind of fast-commit tag the kernel writes" {
	run list_json "$IMAGES/tags.img"
	assert_success
	local t
	for t in head inode add_range del_range create link unlink pad tail; do
		jq -e --arg t "$t" 'any(.fast_commit.tags[]; .tag == $t and .replay)' <<<"$output" >/dev/null ||
			fail "no replayed '$t' tag"
	done
	[ "$(jq -r .fast_commit.verdict <<<"$output")" = replay ]
	jq -e 'any(.fast_commit.tags[]; .tag == "add_range" and (.detail | test("unwritten")))' \
		<<<"$output" >/dev/null || fail "no unwritten add_range"
}

@test "--list -v: one row per fast-commit tag, marked replayed or not" {
	local img="$IMAGES/tags.img" n
	n=$(list_json "$img" | jq '.fast_commit.tags | length')
	run ext4da-replay --list -v "$img"
	assert_success
	assert_output --partial "fast commit for tid"
	[ "$(grep -cE '^ +[0-9]+ +[0-9]+ (head|inode|add_range|del_range|create|link|unlink|pad|tail) +(yes|no) ' <<<"$output")" -eq "$n" ]
	run ext4da-replay --list "$img"
	refute_output --partial " add_range "
}

@test "replay --output equals e2fsck -E journal_only, except the i_blocks e2fsck gets wrong" {
	local d; d=$(scratch)
	local img="$IMAGES/tags.img" sum ino
	sum=$(sha "$img")
	run ext4da-replay --output "$d/ours.img" "$img"
	assert_success
	assert_output --partial "replayed fast commit for tid"
	[ "$(sha "$img")" = "$sum" ]
	e2fsck_replay "$img" "$d/e2.img"
	ino=$(debugfs -R "stat /sparse" "$d/ours.img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
	# shellcheck disable=SC2046
	run imgcmp "$d/e2.img" "$d/ours.img" $(inode_iblocks_exempt "$d/ours.img" "$ino")
	assert_success
	fsck_clean "$d/ours.img"
}

@test "documented: e2fsck 1.47.0 leaves i_blocks short of the tree blocks on a deep extent tree" {
	# ext2fs_count_blocks() misses the extent tree's leaf blocks below the
	# root, so /sparse (260 extents, several leaf blocks) gets i_blocks short
	# by all but one of them; the kernel and ext4da-replay count them.
	local d; d=$(scratch)
	local img="$IMAGES/tags.img"
	e2fsck_replay "$img" "$d/e2.img"
	run e2fsck -fn "$d/e2.img"
	[ "$status" -eq 4 ]
	assert_output --partial "i_blocks is"
	ext4da-replay --output "$d/ours.img" "$img"
	fsck_clean "$d/ours.img"
	kernel_replay "$img" "$d/k.img"
	[ "$(debugfs -R 'stat /sparse' "$d/k.img" 2>/dev/null | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')" = \
	  "$(debugfs -R 'stat /sparse' "$d/ours.img" 2>/dev/null | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')" ]
}

@test "replay agrees with the kernel's own recovery on the file tree" {
	local d; d=$(scratch)
	ext4da-replay --output "$d/ours.img" "$IMAGES/tags.img"
	same_tree_as_kernel "$IMAGES/tags.img" "$d/ours.img"
	# The fast commits are there: files created and changed only by them.
	debugfs -R "stat /dir/m40" "$d/ours.img" 2>&1 | grep -q "Size: 1480"
	debugfs -R "stat /dir/gone" "$d/ours.img" 2>&1 | grep -q "File not found"
}

@test "replay in place gives the --output image; --undo restores the input with e2undo" {
	local d; d=$(scratch)
	ext4da-replay --output "$d/out.img" "$IMAGES/tags.img"
	cp --sparse=always "$IMAGES/tags.img" "$d/in.img"
	run ext4da-replay --undo "$d/undo" "$d/in.img"
	assert_success
	assert_output --partial "replayed fast commit"
	run imgcmp "$d/out.img" "$d/in.img"
	assert_success
	e2undo "$d/undo" "$d/in.img" >/dev/null
	cmp "$d/in.img" "$IMAGES/tags.img"
}

@test "--dry-run replays nothing and says what the fast commit would do" {
	local d; d=$(scratch)
	local img="$IMAGES/tags.img" sum
	cp --sparse=always "$img" "$d/in.img"
	sum=$(sha "$d/in.img")
	run ext4da-replay --dry-run "$d/in.img"
	assert_success
	assert_output --partial "would replay fast commit for tid"
	[ "$(sha "$d/in.img")" = "$sum" ]
	run ext4da-replay --dry-run --json "$d/in.img"
	[ "$(jq '.replay.fast_commit.applied' <<<"$output")" -eq \
	  "$(list_json "$img" | jq .fast_commit.tags_to_replay)" ]
}

@test "--upto replays full commits only: the fast commit is dropped and the output says so" {
	local d; d=$(scratch)
	local img="$IMAGES/tags.img" last
	last=$(list_json "$img" | jq '.end_tid - 1')
	run ext4da-replay --upto "$last" --output "$d/ours.img" "$img"
	assert_success
	assert_output --partial "not replayed: --upto replays full commits only"
	run ext4da-replay --upto "$last" --dry-run --json "$img"
	[ "$(jq .replay.fast_commit.dropped_by_upto <<<"$output")" = true ]
	# The state of the last full commit: consistent, without the fast commits.
	fsck_clean "$d/ours.img"
	debugfs -R "stat /dir/m40" "$d/ours.img" 2>&1 | grep -q "File not found"
}

@test "ext4da-check replays the fast commit in memory and audits the result" {
	run ext4da-check "$IMAGES/tags.img"
	assert_success
	assert_output --partial "then the fast commit for tid"
	run ext4da-check --json "$IMAGES/tags.img"
	[ "$(jq .replayed_fast_commit_tags <<<"$output")" -gt 0 ]
}

@test "stale head: ignored as the kernel does; the full commits are replayed" {
	local d; d=$(scratch)
	local img="$IMAGES/stale.img"
	run list_json "$img"
	[ "$(jq -r .fast_commit.verdict <<<"$output")" = nothing ]
	jq -e '.fast_commit.why | test("stale head")' <<<"$output" >/dev/null
	run ext4da-replay --output "$d/ours.img" "$img"
	assert_success
	refute_output --partial "fast commit for tid"
	fsck_clean "$d/ours.img"
	same_tree_as_kernel "$img" "$d/ours.img"
}

@test "documented: e2fsck 1.47.0 gives up on a stale fast-commit head and replays nothing" {
	# Its scan returns -EINVAL for a head of another tid where the kernel's
	# returns JBD2_FC_REPLAY_STOP; recovery fails and no transaction is
	# replayed, so files the full commits made are missing.
	local d; d=$(scratch)
	local img="$IMAGES/stale.img"
	cp --sparse=always "$img" "$d/e2.img"
	run e2fsck -y -E journal_only "$d/e2.img"
	assert_output --partial "Invalid argument while recovering journal"
	ext4da-replay --output "$d/ours.img" "$img"
	debugfs -R "stat /later" "$d/ours.img" 2>&1 | grep -q "Size: 100"
	debugfs -R "stat /later" "$d/e2.img" 2>&1 | grep -q "File not found"
}

@test "wrapped log: full and fast commits replayed as the kernel does" {
	local d; d=$(scratch)
	local img="$IMAGES/wrap.img"
	run list_json "$img"
	jq -e '.journal.start as $s | any(.transactions[] | select(.state == "committed");
		.last_block < .first_block or .first_block < $s)' <<<"$output" >/dev/null
	[ "$(jq -r .fast_commit.verdict <<<"$output")" = replay ]
	run ext4da-replay --output "$d/ours.img" "$img"
	assert_success
	assert_output --partial "replayed fast commit for tid"
	fsck_clean "$d/ours.img"
	same_tree_as_kernel "$img" "$d/ours.img"
}

@test "documented: e2fsck 1.47.0 drops the fast commit of a wrapped log" {
	# e2fsck wraps the log at the end of the fast-commit area instead of
	# j_last (fixed in the kernel by 2dfba3bb40ad): its walk ends early, the
	# fast commit's tid is not the end it found, and the fast commit is lost.
	local d; d=$(scratch)
	local img="$IMAGES/wrap.img"
	e2fsck_replay "$img" "$d/e2.img"
	ext4da-replay --output "$d/ours.img" "$img"
	debugfs -R "stat /dir/m40" "$d/ours.img" 2>&1 | grep -q "Size: 1480"
	! debugfs -R "stat /dir/m40" "$d/e2.img" 2>&1 | grep -q "Size: 1480"
}

@test "a bad tail before any good one: refused, as the kernel refuses to mount" {
	local d; d=$(scratch)
	cp --sparse=always "$IMAGES/tags.img" "$d/bad.img"
	poke "$d/bad.img" "$(fc_byte "$d/bad.img" 0 20)" ff
	run ext4da-replay --list "$d/bad.img"
	assert_output --partial "a tail with a bad checksum"
	run ext4da-replay --output "$d/ours.img" "$d/bad.img"
	[ "$status" -eq 4 ]
	assert_output --partial "the kernel would refuse to mount"
	! kernel_replay "$d/bad.img" "$d/k.img"
}

@test "a bad tag after good tails: replay stops at the last good tail, as the kernel" {
	local d; d=$(scratch)
	local blk before after
	cp --sparse=always "$IMAGES/tags.img" "$d/bad.img"
	# The third block's first tag belongs to a later fast commit.
	blk=$(list_json "$d/bad.img" | jq '[.fast_commit.tags[] | select(.tag == "tail") | .block] | .[2]')
	poke "$d/bad.img" "$(fc_byte "$d/bad.img" "$blk" 6)" 7f
	before=$(list_json "$IMAGES/tags.img" | jq .fast_commit.tags_to_replay)
	after=$(list_json "$d/bad.img" | jq .fast_commit.tags_to_replay)
	[ "$after" -gt 0 ] && [ "$after" -lt "$before" ]
	run ext4da-replay --output "$d/ours.img" "$d/bad.img"
	assert_success
	fsck_clean "$d/ours.img"
	same_tree_as_kernel "$d/bad.img" "$d/ours.img"
}

@test "a head asking for unknown features: refused, as the kernel refuses" {
	local d; d=$(scratch)
	cp --sparse=always "$IMAGES/tags.img" "$d/bad.img"
	poke "$d/bad.img" "$(fc_byte "$d/bad.img" 0 4)" 01
	run ext4da-replay --dry-run "$d/bad.img"
	[ "$status" -eq 4 ]
	assert_output --partial "unknown features"
	! kernel_replay "$d/bad.img" "$d/k.img"
}

@test "directories created by fast commits: replayed as the kernel does, and consistent" {
	local d; d=$(scratch)
	local img="$IMAGES/mkdir.img"
	run ext4da-replay --output "$d/ours.img" "$img"
	assert_success
	assert_output --partial "replayed fast commit for tid"
	fsck_clean "$d/ours.img"
	same_tree_as_kernel "$img" "$d/ours.img"
	debugfs -R "cat /top/deeper/g" "$d/ours.img" 2>/dev/null | grep -q "mkfastcommit deeper"
}

@test "documented: e2fsck 1.47.0 leaves a directory made by a fast commit inconsistent" {
	# It links the new directory but neither gives it a block with "." and
	# ".." (the kernel's replay does) nor fixes the group's counters, so
	# its result fails e2fsck -fn; ext4da-replay's passes.
	local d; d=$(scratch)
	e2fsck_replay "$IMAGES/mkdir.img" "$d/e2.img"
	run e2fsck -fn "$d/e2.img"
	[ "$status" -eq 4 ]
	ext4da-replay --output "$d/ours.img" "$IMAGES/mkdir.img"
	fsck_clean "$d/ours.img"
}

@test "ext4da-crash replays a crash state's fast commit in memory" {
	# Two states: after the first full commit, and with the fast commits
	# (the crash image).  The second is audited with its fast commit
	# replayed: it passes, and the file only a fast commit made is there.
	local log="$IMAGES/crash-writes.log" base="$IMAGES/crash-base.img"
	run ext4da-crash --base "$base" --log "$log" --json \
		--fsck-cmd "debugfs -R 'cat /dir/m40' %s 2>/dev/null | grep -q many-40"
	[ "$(jq -s '[.[] | select(.type == "state")] | length' <<<"$output")" -eq 2 ]
	jq -e -s '.[] | select(.type == "state" and .state == 1) | .verdict == "pass" and .fsck_exit == 0' \
		<<<"$output" >/dev/null || fail "the fast-commit state: $output"
	run ext4da-crash --base "$base" --log "$log" --fsck-cmd "e2fsck -fn %s"
	assert_success
	assert_output --partial "2 crash state(s), none failed"
}

# Index of the first replayed tag of kind $2 in image $1.
first_tag() {
	list_json "$1" | jq --arg t "$2" '[.fast_commit.tags | to_entries[] |
		select(.value.tag == $t and .value.replay)][0].key'
}

@test "a range for an inode that does not exist is skipped, as the kernel skips it" {
	# fcedit changes the tag and recomputes the tail checksums, so the
	# scan accepts it: inode 8000 (free) instead of the file's own.
	local d; d=$(scratch)
	local n
	cp --sparse=always "$IMAGES/tags.img" "$d/edit.img"
	n=$(first_tag "$d/edit.img" add_range)
	fcedit "$d/edit.img" "$n" 0 $((8000 & 255))
	fcedit "$d/edit.img" "$n" 1 $((8000 >> 8))
	list_json "$d/edit.img" | jq -e --argjson n "$n" '.fast_commit.tags[$n].inode == 8000 and
		.fast_commit.verdict == "replay"' >/dev/null
	run ext4da-replay --output "$d/ours.img" "$d/edit.img"
	assert_success
	same_tree_as_kernel "$d/edit.img" "$d/ours.img"
}

@test "an inode record beyond the filesystem stops the replay with exit 4, as the kernel fails" {
	local d; d=$(scratch)
	local n
	cp --sparse=always "$IMAGES/tags.img" "$d/edit.img"
	n=$(first_tag "$d/edit.img" inode)
	fcedit "$d/edit.img" "$n" 3 255
	run ext4da-replay --output "$d/ours.img" "$d/edit.img"
	[ "$status" -eq 4 ]
	assert_output --partial "fast-commit replay stopped at inode tag $n"
	# The full commits are in, the filesystem is marked with errors.
	dumpe2fs -h "$d/ours.img" 2>/dev/null | grep -q "^Filesystem state:.*with errors"
	! kernel_replay "$d/edit.img" "$d/k.img"
}
