#!/usr/bin/env bats
# ext4da-replay's corruption policy on synthetic journals written by jforge
# (tests/tools/jforge.c). The policy is the kernel's (fs/jbd2/recovery.c):
# stop at the first bad commit or descriptor checksum, skip a data block whose
# tag checksum fails, treat a bad checksum followed by an older commit time as
# stale (the end of the log). ext4da-replay exits 4 when anything committed
# could not be replayed (e2fsck exits 0). Every case checks the message on
# stderr, the exit code, that --dry-run reports the same and writes nothing,
# and the result against e2fsck -E journal_only.
#
# Known deliberate difference: when e2fsck's recovery returns an error (bad
# tag checksum, bad descriptor or revoke checksum, bad r_count) e2fsck 1.47
# writes back the OLD journal s_sequence (recover_ext3_journal skips
# j_tail_sequence on its error path), while ext4da-replay advances it past
# the log so that old log blocks can never pass for new transactions. Those
# cases compare with imgcmp after copying ext4da-replay's s_sequence and
# s_checksum into e2fsck's result, and assert both values.

load helpers
bats_require_minimum_version 1.5.0

# newfs IMG [BS]: a fresh 16 MiB ext4 image (extra mkfs options in MKFS_OPTS)
# holding a file /f of 16 blocks of 'Z' (0x5a). Sets BS, F (the blocks of /f)
# and ORIG (a copy of IMG before any journal was forged into it).
newfs() {
	local img=$1 bs=${2:-4096} key cache
	key=$(echo "$bs ${MKFS_OPTS:-}" | tr -c 'a-zA-Z0-9\n' _)
	cache="$BATS_FILE_TMPDIR/base_$key.img"
	if [ ! -f "$cache" ]; then
		truncate -s 16M "$cache.tmp"
		# shellcheck disable=SC2086
		mkfs.ext4 -F -q -b "$bs" -E nodiscard ${MKFS_OPTS:-} "$cache.tmp"
		head -c $((16 * bs)) /dev/zero | tr '\0' Z >"$BATS_FILE_TMPDIR/z"
		debugfs -w -R "write $BATS_FILE_TMPDIR/z f" "$cache.tmp" >/dev/null 2>&1
		mv "$cache.tmp" "$cache"
	fi
	cp --sparse=always "$cache" "$img"
	ORIG="$BATS_TEST_TMPDIR/orig.img"
	cp --sparse=always "$cache" "$ORIG"
	BS=$bs
	read -r -a F <<<"$(debugfs -R 'blocks f' "$img" 2>/dev/null)"
	[ "${#F[@]}" -eq 16 ] || fail "/f has ${#F[@]} blocks"
}

blk() {
	dd if="$1" bs="$BS" skip="$2" count=1 status=none
}

fillblk() {
	head -c "$BS" /dev/zero | tr '\0' "\\$(printf %03o "$1")"
}

# is_fill IMG BLK BYTE: every byte of block BLK is BYTE (it was replayed).
is_fill() {
	cmp -s <(blk "$1" "$2") <(fillblk "$3") ||
		fail "block $2 is not all $3: $(blk "$1" "$2" | od -An -tx1 -N16)"
}

# is_orig IMG BLK: block BLK is as it was before the journal was forged.
is_orig() {
	cmp -s <(blk "$1" "$2") <(blk "$ORIG" "$2") ||
		fail "block $2 changed: $(blk "$1" "$2" | od -An -tx1 -N16)"
}

# replay_case IMG WANT_EXIT STDERR_REGEX: run --dry-run, then --output into
# $OURS; e2fsck's result goes to $REF. Both runs must exit WANT_EXIT, print
# the same on stderr (matching STDERR_REGEX, or nothing at all when it is
# empty) and report the same on stdout; neither may change IMG.
replay_case() {
	local img=$1 want=$2 re=$3 before="$BATS_TEST_TMPDIR/before.img" dry_err dry_out
	REF="$BATS_TEST_TMPDIR/ref.img"
	OURS="$BATS_TEST_TMPDIR/ours.img"
	rm -f "$REF" "$OURS"
	cp --sparse=always "$img" "$before"
	run --separate-stderr ext4da-replay --dry-run "$img"
	[ "$status" -eq "$want" ] || fail "--dry-run exited $status, not $want: $output $stderr"
	check_stderr "$re"
	cmp -s "$img" "$before" || fail "--dry-run wrote to the image"
	dry_err=$stderr
	dry_out=$(grep -v 'dry run, nothing written' <<<"$output" | sed 's/would replay/replayed/')
	run --separate-stderr ext4da-replay --output "$OURS" "$img"
	[ "$status" -eq "$want" ] || fail "ext4da-replay exited $status, not $want: $output $stderr"
	check_stderr "$re"
	[ "$stderr" = "$dry_err" ] || fail "--dry-run said '$dry_err', the replay '$stderr'"
	[ "$(grep -v 'journal marked empty' <<<"$output")" = "$dry_out" ] ||
		fail "--dry-run reported '$dry_out', the replay '$output'"
	cmp -s "$img" "$before" || fail "--output changed the input"
	e2fsck_replay "$img" "$REF"
	run dumpe2fs -h "$OURS"
	refute_output --partial needs_recovery
	assert_output --regexp 'Journal start: +0'
	run e2fsck -fn "$OURS"
	[ "$status" -eq 0 ] || fail "e2fsck -fn $OURS: $output"
}

check_stderr() {
	if [ -z "$1" ]; then
		[ -z "$stderr" ] || fail "unexpected message: $stderr"
	else
		[[ "$stderr" =~ $1 ]] || fail "stderr does not match '$1': $stderr"
	fi
}

same_as_e2fsck() {
	run imgcmp "$REF" "$OURS"
	[ "$status" -eq 0 ] || fail "ext4da-replay and e2fsck differ: $output"
}

jsb_off() {
	echo $(($(debugfs -R 'bmap <8> 0' "$1" 2>/dev/null) * BS))
}

# jseq IMG: the journal superblock's s_sequence, as 8 hex digits.
jseq() {
	od -An -tx1 -j $(($(jsb_off "$1") + 0x18)) -N4 "$1" | tr -d ' \n'
}

# same_but_sequence REF_SEQ OURS_SEQ: $REF's journal s_sequence is REF_SEQ,
# $OURS's is OURS_SEQ, and the images are otherwise equal: all but bytes
# 0x18-0x1b (s_sequence) and 0xfc-0xff (s_checksum) of the journal
# superblock. ($OURS's s_checksum is checked by e2fsck -fn in replay_case.)
same_but_sequence() {
	local off p="$BATS_TEST_TMPDIR/ref-seq.img"
	[ "$(jseq "$REF")" = "$1" ] || fail "e2fsck's s_sequence is $(jseq "$REF"), not $1"
	[ "$(jseq "$OURS")" = "$2" ] || fail "ext4da-replay's s_sequence is $(jseq "$OURS"), not $2"
	off=$(jsb_off "$REF")
	cp --sparse=always "$REF" "$p"
	dd if="$OURS" of="$p" bs=1 skip=$((off + 0x18)) seek=$((off + 0x18)) count=4 \
		conv=notrunc status=none
	dd if="$OURS" of="$p" bs=1 skip=$((off + 0xfc)) seek=$((off + 0xfc)) count=4 \
		conv=notrunc status=none
	run imgcmp "$p" "$OURS"
	[ "$status" -eq 0 ] || fail "beyond s_sequence, ext4da-replay and e2fsck differ: $output"
}

state_is() {
	run dumpe2fs -h "$1"
	assert_output --regexp "Filesystem state: +$2"$'\n'
}

# list_state IMG TID STATE: --list shows transaction TID in state STATE.
list_state() {
	local nl=$'\n'
	run ext4da-replay --list "$1"
	assert_success
	assert_output --regexp "(^|$nl) +$2 [^$nl]* $3($nl|\$)"
}

@test "torn last transaction: silently dropped, exit 0" {
	local img="$BATS_TEST_TMPDIR/fs.img" cs
	for cs in none v1 v3; do
		echo "# --csum $cs"
		newfs "$img"
		jforge "$img" --csum "$cs" "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22,${F[2]}:0x23;nocommit"
		list_state "$img" 2 torn
		replay_case "$img" 0 ""
		same_as_e2fsck
		is_fill "$OURS" "${F[0]}" 0x11
		is_orig "$OURS" "${F[1]}"
		is_orig "$OURS" "${F[2]}"
		state_is "$OURS" clean
	done
}

@test "torn last transaction with a bad descriptor and a bad tag: dropped, exit 0" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11" \
		"blocks=${F[1]}:0x22,${F[2]}:0x23;baddesc;badtag=${F[2]};nocommit"
	replay_case "$img" 0 ""
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	is_orig "$OURS" "${F[2]}"
}

@test "bad commit checksum in tx 2 of 3 (v1, v2, v3): tx 1 replayed, exit 4" {
	local img="$BATS_TEST_TMPDIR/fs.img" cs
	for cs in v1 v2 v3; do
		echo "# --csum $cs"
		newfs "$img"
		jforge "$img" --csum "$cs" "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;badcommit" \
			"blocks=${F[2]}:0x33"
		list_state "$img" 2 corrupt
		replay_case "$img" 4 "transaction 2 "
		# e2fsck: "Journal transaction 2 was corrupt", s_errno = -EINVAL
		same_as_e2fsck
		is_fill "$OURS" "${F[0]}" 0x11
		is_orig "$OURS" "${F[1]}"
		is_orig "$OURS" "${F[2]}"
		state_is "$OURS" "clean with errors"
	done
}

@test "bad commit checksum in the first transaction: nothing replayed, exit 4" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11;badcommit" "blocks=${F[1]}:0x22"
	replay_case "$img" 4 "transaction 1 "
	same_as_e2fsck
	is_orig "$OURS" "${F[0]}"
	is_orig "$OURS" "${F[1]}"
}

@test "v3 commit block without a checksum (type, size, value 0) is a bad commit" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;zerocsum"
	replay_case "$img" 4 "transaction 2 "
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
}

@test "bad commit checksum with an older commit time: stale, the log ends there, exit 0" {
	local img="$BATS_TEST_TMPDIR/fs.img" cs
	for cs in v1 v3; do
		echo "# --csum $cs"
		newfs "$img"
		jforge "$img" --csum "$cs" "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;badcommit;oldtime" \
			"blocks=${F[2]}:0x33"
		replay_case "$img" 0 ""
		same_as_e2fsck
		is_fill "$OURS" "${F[0]}" 0x11
		is_orig "$OURS" "${F[1]}"
		is_orig "$OURS" "${F[2]}"
		state_is "$OURS" clean
	done
}

@test "bad tag checksum (v2, v3): only that block is skipped, exit 4" {
	local img="$BATS_TEST_TMPDIR/fs.img" cs
	for cs in v2 v3; do
		echo "# --csum $cs"
		newfs "$img"
		jforge "$img" --csum "$cs" "blocks=${F[0]}:0x11" \
			"blocks=${F[1]}:0x21,${F[2]}:0x22,${F[3]}:0x23;badtag=${F[2]}" "blocks=${F[4]}:0x44"
		replay_case "$img" 4 "block ${F[2]} of transaction 2 .*checksum"
		is_fill "$OURS" "${F[0]}" 0x11
		is_fill "$OURS" "${F[1]}" 0x21
		is_orig "$OURS" "${F[2]}"
		is_fill "$OURS" "${F[3]}" 0x23
		is_fill "$OURS" "${F[4]}" 0x44
		# e2fsck: "Invalid checksum recovering data block", fs not clean,
		# old s_sequence; the log ends before tid 4, so the next is 5
		same_but_sequence 00000001 00000005
		state_is "$OURS" "not clean"
	done
}

@test "v3 tag checksums are 32 bits: a difference in the high half is caught" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11,${F[1]}:0x12;badtaghi=${F[1]}"
	replay_case "$img" 4 "block ${F[1]} of transaction 1 .*checksum"
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	same_but_sequence 00000001 00000003
}

@test "bad tag checksum on a block revoked later: no error, exit 0" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11,${F[1]}:0x12;badtag=${F[1]}" "revoke=${F[1]}"
	replay_case "$img" 0 ""
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	state_is "$OURS" clean
}

@test "bad descriptor checksum in the last live transaction: nothing replayed, exit 4" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;baddesc"
	list_state "$img" 2 corrupt
	replay_case "$img" 4 "nothing replayed.*transaction 2 .*checksum"
	is_orig "$OURS" "${F[0]}"
	is_orig "$OURS" "${F[1]}"
	# e2fsck: "Journal checksum error found", not clean, old s_sequence
	same_but_sequence 00000001 00000003
	state_is "$OURS" "not clean"
}

@test "bad descriptor checksum in tx 1 of 3: nothing replayed, s_sequence covers tx 3" {
	local img="$BATS_TEST_TMPDIR/fs.img" seq
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11;baddesc" "blocks=${F[1]}:0x22" "blocks=${F[2]}:0x33"
	replay_case "$img" 4 "nothing replayed.*transaction 1 .*checksum"
	is_orig "$OURS" "${F[0]}"
	is_orig "$OURS" "${F[1]}"
	is_orig "$OURS" "${F[2]}"
	# tx 2 and 3 stay in the log with valid descriptors and commit blocks.
	# With s_start 0 the kernel's next tid is s_sequence + 1 (recovery.c,
	# jbd2_journal_recover), so s_sequence must be at least 3, or the next
	# tid 3 can chain into the old tx 3's blocks after a crash (e2fsck's
	# old s_sequence 1 is that bug, with tid 2).
	seq=$((16#$(jseq "$OURS")))
	[ "$seq" -ge 3 ] ||
		fail "s_sequence $seq: the kernel's next tid, $((seq + 1)), is still in the log"
	same_but_sequence 00000001 "$(jseq "$OURS")"
}

@test "stale descriptor (bad checksum, older commit time): the log ends there, exit 0" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;baddesc;oldtime" \
		"blocks=${F[2]}:0x33"
	list_state "$img" 2 stale
	replay_case "$img" 0 ""
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	is_orig "$OURS" "${F[2]}"
	state_is "$OURS" clean
}

@test "stale revoke block (bad checksum, older commit time): the log ends there, exit 0" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v2 "blocks=${F[0]}:0x11" "revoke=${F[0]};badrevoke;oldtime"
	replay_case "$img" 0 ""
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
}

@test "bad revoke block checksum in a live transaction: nothing replayed, exit 4" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;revoke=${F[2]};badrevoke"
	replay_case "$img" 4 "nothing replayed.*transaction 2 .*checksum"
	is_orig "$OURS" "${F[0]}"
	is_orig "$OURS" "${F[1]}"
	same_but_sequence 00000001 00000003
	state_is "$OURS" "not clean"
}

@test "revoke r_count overflowing the block: nothing replayed, exit 4" {
	local img="$BATS_TEST_TMPDIR/fs.img" cs max
	for cs in none:4096 v3:4092; do
		IFS=: read -r cs max <<<"$cs"
		echo "# --csum $cs"
		newfs "$img"
		jforge "$img" --csum "$cs" "blocks=${F[0]}:0x11" \
			"blocks=${F[1]}:0x22;revoke=${F[2]};rcount=$((max + 1))"
		replay_case "$img" 4 "nothing replayed.*transaction 2 "
		is_orig "$OURS" "${F[0]}"
		is_orig "$OURS" "${F[1]}"
		# e2fsck: "Invalid argument while recovering journal"
		same_but_sequence 00000001 00000004
		state_is "$OURS" "not clean"
	done
}

@test "revoke r_count filling the block exactly is valid" {
	local img="$BATS_TEST_TMPDIR/fs.img" cs max
	for cs in none:4096 v3:4092; do
		IFS=: read -r cs max <<<"$cs"
		echo "# --csum $cs"
		newfs "$img"
		jforge "$img" --csum "$cs" "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;revoke=${F[0]};rcount=$max"
		replay_case "$img" 0 ""
		same_as_e2fsck
		is_orig "$OURS" "${F[0]}"
		is_fill "$OURS" "${F[1]}" 0x22
	done
}

@test "a revoke in a transaction with a bad commit is not applied" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11" "revoke=${F[0]};badcommit"
	replay_case "$img" 4 "transaction 2 "
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
}

@test "async_commit, v1: a bad commit followed by a good one: tx 1 only, exit 4" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v1 --async "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;badcommit" \
		"blocks=${F[2]}:0x33"
	replay_case "$img" 4 "transaction 2 "
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	is_orig "$OURS" "${F[2]}"
	state_is "$OURS" "clean with errors"
}

@test "async_commit, v3: a bad commit followed by a good one: tx 1 only, exit 4" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 --async "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;badcommit" \
		"blocks=${F[2]}:0x33"
	# tx 3 was committed (good commit block) and cannot be replayed: the
	# policy says exit 4 and say so, even though e2fsck is silent here (its
	# recovery.c only sets j_failed_commit on this path for checksum v1)
	replay_case "$img" 4 "transaction 2 "
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	is_orig "$OURS" "${F[2]}"
}

@test "async_commit, v3: a bad last commit is an interrupted commit: dropped, exit 0" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 --async "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;badcommit"
	replay_case "$img" 0 ""
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	state_is "$OURS" clean
}

@test "async_commit, v1: two bad commits in a row: tx 1 only, exit 4" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v1 --async "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;badcommit" \
		"blocks=${F[2]}:0x33;badcommit"
	replay_case "$img" 4 "transaction 2 "
	same_as_e2fsck
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	is_orig "$OURS" "${F[2]}"
}

@test "async_commit, v3: two bad commits in a row: tx 2 is not replayed (e2fsck does)" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img"
	jforge "$img" --csum v3 --async "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;badcommit" \
		"blocks=${F[2]}:0x33;badcommit"
	# A commit block after tx 2's proves tx 2's commit was written whole:
	# its bad checksum is corruption (recovery.c's own diagram, and v1 above).
	# recovery.c's v2/v3 path instead moves end_transaction to 3 at the second
	# bad commit and replays tx 2. SPEC: stop at the first bad commit.
	replay_case "$img" 4 "transaction 2 "
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	is_orig "$OURS" "${F[2]}"
	# the e2fsck 1.47 behaviour this differs from
	is_fill "$REF" "${F[1]}" 0x22
}

@test "home blocks inside the log itself: the copies after them come from the log as it was" {
	local img=$BATS_TEST_TMPDIR/j.img mine=$BATS_TEST_TMPDIR/inplace.img j h b
	newfs "$img"
	j=$(debugfs -R 'bmap <8> 0' "$img" 2>/dev/null)
	h=$(($(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Block count: *//p') - 1))
	[ "$h" -gt $((j + 7)) ] || fail "the journal ends the filesystem"
	# tid 1: descriptor at log block 1, copies at 2 to 7, commit at 8.  The
	# first five copies' homes are log blocks 3 to 7 (one run, which
	# libext2fs writes through at once, over the copies it is made of),
	# and the sixth copy lies in log block 7; its home comes after them in
	# block order, so it is written after them.  ext4da-replay reads every
	# copy from the log as it was before its first write (where it maps
	# the log, it reads it into memory first here).  The kernel and e2fsck
	# replay tag by tag and read blocks they have just overwritten: this
	# log is damaged beyond what either policy was made for, and this pins
	# ours.
	jforge "$img" --csum v3 "blocks=$((j + 3))-$((j + 7)):0x11,$h:pat" >/dev/null
	cp --sparse=always "$img" "$mine"
	# in place: the log being read is the image being written
	run ext4da-replay -q "$mine"
	assert_success
	for b in $(seq $((j + 3)) $((j + 7))); do
		is_fill "$mine" "$b" 17
	done
	cmp -s <(blk "$mine" "$h") <(jforge --pattern "$BS" 1 "$h") ||
		fail "block $h is not the copy logged for it: $(blk "$mine" "$h" | od -An -tx1 -N16)"
}
