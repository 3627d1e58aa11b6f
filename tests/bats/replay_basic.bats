#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-replay on a real crashed image: list, dry run, replay to a new file.

load helpers

setup_file() {
	require_root
	export CRASHED="$BATS_FILE_TMPDIR/crashed.img"
	"$SRCDIR/tests/fixtures/mkcrashed" "$CRASHED" 7
}

@test "the crashed image needs recovery and lists committed transactions" {
	run dumpe2fs -h "$CRASHED"
	assert_output --partial "needs_recovery"
	run ext4da-replay --list "$CRASHED"
	assert_success
	assert_output --partial "committed"
}

@test "--output matches e2fsck's replay byte for byte and leaves the input alone" {
	local d; d=$(scratch)
	local before; before=$(sha "$CRASHED")
	e2fsck_replay "$CRASHED" "$d/ref.img"
	run ext4da-replay --output "$d/ours.img" "$CRASHED"
	assert_success
	run imgcmp "$d/ref.img" "$d/ours.img"
	assert_success
	[ "$(sha "$CRASHED")" = "$before" ]
}

@test "--dry-run writes nothing" {
	local before; before=$(sha "$CRASHED")
	run ext4da-replay --dry-run "$CRASHED"
	assert_success
	assert_output --partial "would replay"
	[ "$(sha "$CRASHED")" = "$before" ]
}
