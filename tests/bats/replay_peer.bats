#!/usr/bin/env bats
# ext4da-replay against e2fsck 1.47.0 on e2fsprogs' own journal test images
# (tests/data/e2fsprogs-journal).  Where e2fsck only recovers the journal,
# our result must be byte-identical (imgcmp).  Where e2fsck does more (it
# rewrites or clears a corrupt journal superblock), we must refuse with exit 8
# and change nothing.  One documented difference: when e2fsck's recovery
# returns an error, e2fsck 1.47 writes back the journal's OLD s_sequence (its
# error path skips updating j_tail_sequence), so transactions still in the
# log could later be taken for new ones (the bug class of e2fsprogs #120);
# ext4da-replay advances s_sequence past the log on every path.

load helpers

DATA="$SRCDIR/tests/data/e2fsprogs-journal"

unpack() {
	local name=$1 d; d=$(scratch)
	case $(ls "$DATA/$name".img.*) in
	*.gz) gunzip -c "$DATA/$name.img.gz" >"$d/$name.img" ;;
	*.tar.bz2) tar -xjf "$DATA/$name.img.tar.bz2" -C "$d" ;;
	*.bz2) bunzip2 -c "$DATA/$name.img.bz2" >"$d/$name.img" ;;
	esac
	echo "$d/$name.img"
}

state_of() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Filesystem state: *//p'
}

journal_sequence() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Journal sequence: *//p'
}

# Byte offset of the internal journal's superblock.
jsb_offset() {
	local img=$1 bs blk
	bs=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Block size: *//p')
	blk=$(debugfs -R 'bmap <8> 0' "$img" 2>/dev/null)
	echo $((blk * bs))
}

# Replay with both tools; $status and $output are ours.
replay_both() {
	IMG=$(unpack "$1")
	REF="$IMG.e2fsck"
	OURS="$IMG.ours"
	BEFORE=$(sha "$IMG")
	e2fsck_replay "$IMG" "$REF"
	run ext4da-replay --output "$OURS" "$IMG"
	[ "$(sha "$IMG")" = "$BEFORE" ]
}

# Same bytes as e2fsck, except the journal superblock's s_sequence and checksum.
assert_same_but_sequence() {
	local off; off=$(jsb_offset "$REF")
	run imgcmp "$REF" "$OURS" -x $((off + 0x18)):4 -x $((off + 0xfc)):4
	assert_success
	[ $(( $(journal_sequence "$OURS") )) -gt $(( $(journal_sequence "$REF") )) ]
}

assert_refused() {
	local img; img=$(unpack "$1"); shift
	local before; before=$(sha "$img")
	run ext4da-replay "$@" "$img"
	assert_failure 8
	[ "${#lines[@]}" -eq 1 ]
	assert_output --partial "ext4da-replay: $img: "
	[ "$(sha "$img")" = "$before" ]
}

@test "j_recover_csum2_32bit: recovered, identical to e2fsck" {
	replay_both j_recover_csum2_32bit
	assert_success
	run imgcmp "$REF" "$OURS"
	assert_success
}

@test "j_recover_csum2_64bit: recovered, identical to e2fsck" {
	replay_both j_recover_csum2_64bit
	assert_success
	run imgcmp "$REF" "$OURS"
	assert_success
}

@test "j_recover_csum3_64bit: recovered, identical to e2fsck" {
	replay_both j_recover_csum3_64bit
	assert_success
	assert_output --partial "replayed 2 transaction(s)"
	run imgcmp "$REF" "$OURS"
	assert_success
}

@test "j_corrupt_commit_csum: transaction 3 not replayed, fs marked with errors, exit 4" {
	replay_both j_corrupt_commit_csum
	assert_failure 4
	assert_output --partial "transaction 3 has a bad commit checksum"
	run imgcmp "$REF" "$OURS"
	assert_success
	[ "$(state_of "$OURS")" = "clean with errors" ]
}

@test "j_corrupt_commit_tid: log ends at the wrong tid, identical to e2fsck" {
	replay_both j_corrupt_commit_tid
	assert_success
	run imgcmp "$REF" "$OURS"
	assert_success
}

@test "j_corrupt_descr_csum: nothing replayed, fs not clean, exit 4" {
	replay_both j_corrupt_descr_csum
	assert_failure 4
	assert_output --partial "nothing replayed"
	assert_same_but_sequence
	[ "$(state_of "$OURS")" = "not clean" ]
}

@test "j_corrupt_descr_tid: identical to e2fsck" {
	replay_both j_corrupt_descr_tid
	assert_success
	run imgcmp "$REF" "$OURS"
	assert_success
}

@test "j_corrupt_journal_block: the bad copy of block 1090 skipped, the rest replayed, exit 4" {
	replay_both j_corrupt_journal_block
	assert_failure 4
	assert_output --partial "skipped fs block 1090"
	assert_same_but_sequence
	[ "$(state_of "$OURS")" = "not clean" ]
}

@test "j_corrupt_revoke_block: identical to e2fsck" {
	replay_both j_corrupt_revoke_block
	assert_success
	run imgcmp "$REF" "$OURS"
	assert_success
}

@test "j_corrupt_revoke_csum: identical to e2fsck" {
	replay_both j_corrupt_revoke_csum
	assert_success
	run imgcmp "$REF" "$OURS"
	assert_success
}

@test "j_corrupt_revoke_rcount: nothing replayed, fs not clean, exit 4" {
	replay_both j_corrupt_revoke_rcount
	assert_failure 4
	assert_output --partial "record count overflows"
	assert_same_but_sequence
	[ "$(state_of "$OURS")" = "not clean" ]
}

@test "j_corrupt_sb_csum: e2fsck rewrites the journal superblock; we refuse" {
	assert_refused j_corrupt_sb_csum
	assert_output --partial "journal superblock checksum"
}

@test "j_corrupt_sb_magic: e2fsck deletes the journal; we refuse" {
	assert_refused j_corrupt_sb_magic
	assert_output --partial "bad magic"
}

@test "j_ext_dumpe2fs: a journal device is not a filesystem" {
	assert_refused j_ext_dumpe2fs
	assert_output --partial "external journal device"
}

@test "j_recover_fast_commit: the full commit and the fast commit replayed, identical to e2fsck" {
	replay_both j_recover_fast_commit
	assert_success
	assert_output --partial "replayed fast commit for tid 6: 15 tag(s)"
	run imgcmp "$REF" "$OURS"
	assert_success
	run e2fsck -fn "$OURS"
	assert_success
}

@test "j_corrupt_ext_jnl_sb_block: the external journal belongs to another filesystem" {
	local d; d=$(scratch)
	img=$(unpack j_corrupt_ext_jnl_sb_block)
	assert_refused j_corrupt_ext_jnl_sb_block --journal "$img.jnl"
	assert_output --partial "does not belong to this filesystem"
}

@test "j_corrupt_ext_jnl_sb_csum: e2fsck fixes the journal device's checksum; we refuse" {
	img=$(unpack j_corrupt_ext_jnl_sb_csum)
	local before; before=$(sha "$img.jnl")
	assert_refused j_corrupt_ext_jnl_sb_csum --journal "$img.jnl"
	assert_output --partial "superblock checksum does not match"
	[ "$(sha "$img.jnl")" = "$before" ]
}
