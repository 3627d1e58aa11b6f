#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-check --repair (issue point 6): it frees LEAKED blocks and fixes
# group counts, always keeping an undo file (default IMAGE.ext4da-undo, or
# --undo FILE).  Afterwards e2fsck -fn is clean and ext4da-check finds no
# errors; e2undo puts back the original image byte for byte.  It refuses
# (exit 8, image unchanged) when the journal needs recovery, or when the
# undo file already exists.

load helpers

MKFAULTY="$SRCDIR/tests/fixtures/mkfaulty"
MKCRASHED="$SRCDIR/tests/fixtures/mkcrashed"

# Others rebuild the tree while suites run: wait out a binary being relinked.
ext4da-check() {
	local _
	for _ in $(seq 1 40); do
		[ -x "$BUILDDIR/ext4da-check" ] && break
		sleep 0.25
	done
	command ext4da-check "$@"
}

mk() {
	local scenario=$1 facts; shift
	IMG="$(scratch)/$scenario.img"
	facts=$("$MKFAULTY" "$scenario" "$IMG" "$@") || fail "mkfaulty $scenario failed"
	eval "$facts"
	ORIG=$(sha "$IMG")
}

# repaired_ok IMG UNDO: e2fsck -fn and ext4da-check are clean; e2undo
# restores the original ($ORIG) exactly.
repaired_ok() {
	local img=$1 undo=$2
	[ -s "$undo" ] || fail "no undo file $undo"
	[ "$(sha "$img")" != "$ORIG" ] || fail "--repair changed nothing"
	run e2fsck -fn "$img"
	[ "$status" -eq 0 ] || fail "e2fsck -fn after --repair: $output"
	run ext4da-check --json "$img"
	assert_success
	jq -e '[.findings[] | select(.severity == "error")] == []' <<<"$output" >/dev/null ||
		fail "errors left after --repair: $output"
	# the superblock totals are right too
	jq -e '.counts.GROUP_COUNTS == 0 and .counts.LEAKED == 0' <<<"$output" >/dev/null ||
		fail "counts left after --repair: $output"
	run e2undo "$undo" "$img"
	assert_success
	[ "$(sha "$img")" = "$ORIG" ] || fail "e2undo did not restore the image"
}

@test "--repair: LEAKED blocks (group counts consistent) are freed, exit 1" {
	mk leaked
	run ext4da-check --repair "$IMG"
	assert_failure 1
	assert_output --partial "undo with: e2undo $IMG.ext4da-undo $IMG"
	repaired_ok "$IMG" "$IMG.ext4da-undo"
}

@test "--repair: LEAKED plus stale group counts, default undo file" {
	mk leaked-on
	run ext4da-check --json "$IMG"
	assert_failure 4
	jq -e '.counts.LEAKED == 1 and .counts.GROUP_COUNTS >= 1' <<<"$output" >/dev/null
	run ext4da-check --repair --json "$IMG"
	assert_failure 1
	jq -e --arg u "$IMG.ext4da-undo" '.repaired == true and .undo_file == $u and .exit == 1' \
		<<<"$output" >/dev/null || fail "JSON does not name the undo file: $output"
	repaired_ok "$IMG" "$IMG.ext4da-undo"
}

@test "--repair --undo FILE: the undo file is FILE" {
	mk leaked-on
	undo="$(scratch)/my.undo"
	run ext4da-check --repair --undo "$undo" "$IMG"
	assert_failure 1
	assert_output --partial "undo with: e2undo $undo $IMG"
	[ ! -e "$IMG.ext4da-undo" ]
	repaired_ok "$IMG" "$undo"
}

@test "--repair: GROUP_COUNTS errors only (free blocks, free inodes, directories)" {
	mk counts
	run ext4da-check --repair "$IMG"
	assert_failure 1
	repaired_ok "$IMG" "$IMG.ext4da-undo"
}

@test "--repair: superblock totals only (info) is not a repair: exit 0, unchanged" {
	mk sb-totals
	run ext4da-check --repair "$IMG"
	assert_success
	[ "$(sha "$IMG")" = "$ORIG" ]
	[ ! -e "$IMG.ext4da-undo" ]
}

@test "--repair: bigalloc (16k clusters) LEAKED and counts" {
	mk leaked-on "-O bigalloc -C 16384"
	run ext4da-check --repair "$IMG"
	assert_failure 1
	repaired_ok "$IMG" "$IMG.ext4da-undo"
}

@test "--repair: 4k blocks, ^64bit, ^metadata_csum, meta_bg, indirect-mapped" {
	for opts in "-b 4096" "-O ^64bit" "-O ^metadata_csum" "-O ^metadata_csum,^uninit_bg" \
		"-O meta_bg,^resize_inode" "-O ^extent,^64bit"; do
		mk leaked-on "$opts"
		run ext4da-check --repair "$IMG"
		[ "$status" -eq 1 ] || fail "[$opts] exit $status: $output"
		repaired_ok "$IMG" "$IMG.ext4da-undo"
		rm -f "$IMG.ext4da-undo"
	done
}

@test "--repair: LEAKED freed, UNMARKED left: exit 4, and e2fsck agrees" {
	require_root
	IMG="$(scratch)/r.img"
	"$MKFAULTY" random "$IMG" 2 "-b 1024"
	ORIG=$(sha "$IMG")
	run ext4da-check --json "$IMG"
	jq -e '.counts.LEAKED > 0 and .counts.UNMARKED > 0' <<<"$output" >/dev/null
	run ext4da-check --repair "$IMG"
	assert_failure 4
	[ -s "$IMG.ext4da-undo" ]
	run ext4da-check --json "$IMG"
	assert_failure 4
	jq -e '.counts.LEAKED == 0 and .counts.UNMARKED > 0' <<<"$output" >/dev/null ||
		fail "after --repair: $output"
	# e2fsck: no "-" (set, unowned) bitmap differences any more
	run e2fsck -fn "$IMG"
	refute_output --regexp 'Block bitmap differences:.* -[0-9(]'
	run e2undo "$IMG.ext4da-undo" "$IMG"
	assert_success
	[ "$(sha "$IMG")" = "$ORIG" ]
}

@test "--repair never frees the blocks of in-use inodes an unused-inodes count hides" {
	mk itable-unused
	# /o1 and /o2 are in use (inode bitmap, directory entries); their blocks:
	owned=$(for i in "$IU_O1" "$IU_O2"; do debugfs -R "blocks <$i>" "$IMG" 2>/dev/null; done)
	[ -n "$owned" ]
	run ext4da-check --repair "$IMG"
	for b in $owned; do
		run debugfs -R "testb $b" "$IMG"
		assert_output --partial "marked in use"
	done
	# and, as for every image --repair takes on, e2fsck finds nothing more
	run e2fsck -fn "$IMG"
	[ "$status" -eq 0 ] || fail "e2fsck -fn after --repair: $output"
}

@test "--repair never hands out the bad blocks list (mkfs -l)" {
	mk badblocks
	run ext4da-check --repair "$IMG"
	for b in $BB_BLOCKS; do
		run debugfs -R "testb $b" "$IMG"
		assert_output --partial "marked in use"
	done
	run e2fsck -fn "$IMG"
	assert_success
}

@test "--repair on a clean image changes nothing, exit 0, no undo file" {
	mk base
	run ext4da-check --repair "$IMG"
	assert_success
	assert_output --partial "clean"
	[ "$(sha "$IMG")" = "$ORIG" ]
	[ ! -e "$IMG.ext4da-undo" ]
	run ext4da-check --repair --json "$IMG"
	assert_success
	jq -e '.repaired == false and .undo_file == null and .exit == 0' <<<"$output" >/dev/null
}

@test "--repair refuses when the journal needs recovery (errors after replay): exit 8" {
	require_root
	IMG="$(scratch)/cf.img"
	"$MKFAULTY" crashed-faulty "$IMG" 1 >/dev/null
	ORIG=$(sha "$IMG")
	run ext4da-check "$IMG"
	assert_failure 4
	run ext4da-check --repair "$IMG"
	assert_failure 8
	[ "${#lines[@]}" -eq 1 ]
	assert_output --regexp "^ext4da-check: $IMG: .*journal needs recovery"
	[ "$(sha "$IMG")" = "$ORIG" ]
	[ ! -e "$IMG.ext4da-undo" ]
}

@test "--repair when the journal needs recovery but the recovered state is clean: nothing written" {
	# ext4da-check(8), REPAIR: "If it finds no error, nothing is written and
	# no undo file is made" comes before the journal refusal; so exit 0.
	require_root
	IMG="$(scratch)/crashed.img"
	"$MKCRASHED" "$IMG" 1
	ORIG=$(sha "$IMG")
	run ext4da-check --repair --json "$IMG"
	assert_success
	jq -e '.audited == "recovered" and .repaired == false and .undo_file == null' \
		<<<"$output" >/dev/null || fail "$output"
	[ "$(sha "$IMG")" = "$ORIG" ]
	[ ! -e "$IMG.ext4da-undo" ]
}

@test "--repair refuses an existing undo file: exit 8, image and file unchanged" {
	mk leaked
	echo "precious" >"$IMG.ext4da-undo"
	run ext4da-check --repair "$IMG"
	assert_failure 8
	[ "${#lines[@]}" -eq 1 ]
	assert_output --regexp "^ext4da-check: $IMG: .*undo file.*exists"
	[ "$(sha "$IMG")" = "$ORIG" ]
	[ "$(cat "$IMG.ext4da-undo")" = precious ]
	undo="$(scratch)/mine.undo"
	: >"$undo"
	run ext4da-check --repair --undo "$undo" "$IMG"
	assert_failure 8
	[ "$(sha "$IMG")" = "$ORIG" ]
	[ ! -s "$undo" ]
}

@test "--undo without --repair, --repair with --no-replay: usage errors (16)" {
	mk leaked
	run ext4da-check --undo "$(scratch)/u" "$IMG"
	assert_failure 16
	run ext4da-check --repair --no-replay "$IMG"
	assert_failure 16
	[ "$(sha "$IMG")" = "$ORIG" ]
	[ ! -e "$(scratch)/u" ]
	[ ! -e "$IMG.ext4da-undo" ]
}
