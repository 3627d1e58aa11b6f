#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-replay on synthetic journals written by jforge (tests/tools/jforge.c):
# every on-disk format variant. Each result must equal e2fsck -E journal_only's
# (imgcmp) and hold the expected bytes at the logged blocks.

load helpers
bats_require_minimum_version 1.5.0

# newfs IMG BS SIZE [MKFS_OPTS...]: a fresh ext4 image holding a file /f of
# $FBLOCKS (default 64) blocks of 'Z' (0x5a). Sets BS, F (the blocks of /f,
# the targets of the synthetic transactions) and ORIG (a copy of IMG before
# any journal was forged into it).
newfs() {
	local img=$1 bs=$2 size=$3 key cache nb=${FBLOCKS:-64}
	shift 3
	key=$(echo "$bs $size $nb $*" | tr -c 'a-zA-Z0-9\n' _)
	cache="$BATS_FILE_TMPDIR/base_$key.img"
	if [ ! -f "$cache" ]; then
		truncate -s "$size" "$cache.tmp"
		mkfs.ext4 -F -q -b "$bs" -E nodiscard "$@" "$cache.tmp" 2>/dev/null
		head -c $((nb * bs)) /dev/zero | tr '\0' Z >"$BATS_FILE_TMPDIR/z"
		debugfs -w -R "write $BATS_FILE_TMPDIR/z f" "$cache.tmp" >/dev/null 2>&1
		mv "$cache.tmp" "$cache"
	fi
	cp --sparse=always "$cache" "$img"
	ORIG="$BATS_TEST_TMPDIR/orig.img"
	cp --sparse=always "$cache" "$ORIG"
	BS=$bs
	read -r -a F <<<"$(file_blocks "$img" f)"
	[ "${#F[@]}" -eq "$nb" ] || fail "/f has ${#F[@]} blocks, not $nb"
}

# file_blocks IMG NAME: the data blocks of file NAME, in file order (from
# debugfs stat: "(0-11):658-669, (IND):670, (12-267):671-926, ..."; index
# and indirect blocks are left out).
file_blocks() {
	local r lo hi out=()
	for r in $(debugfs -R "stat $2" "$1" 2>/dev/null | grep -o '([0-9-]*):[0-9-]*' | cut -d: -f2); do
		lo=${r%-*}
		hi=${r#*-}
		while [ "$lo" -le "$hi" ]; do
			out+=("$lo")
			lo=$((lo + 1))
		done
	done
	echo "${out[@]}"
}

# bspec CONTENT BLK...: the blocks= list "BLK:CONTENT,..."
bspec() {
	local c=$1 spec="" b
	shift
	for b in "$@"; do spec+="$b:$c,"; done
	echo "${spec%,}"
}

# replay_vs_e2fsck IMG [WANT_EXIT]: replay IMG into $OURS with --output and
# into $REF with e2fsck; IMG must stay untouched, $OURS must equal $REF and be
# a clean filesystem whose journal is empty.
replay_vs_e2fsck() {
	local img=$1 want=${2:-0} before="$BATS_TEST_TMPDIR/before.img"
	REF="$BATS_TEST_TMPDIR/ref.img"
	OURS="$BATS_TEST_TMPDIR/ours.img"
	rm -f "$REF" "$OURS"
	cp --sparse=always "$img" "$before"
	e2fsck_replay "$img" "$REF"
	run ext4da-replay --output "$OURS" "$img"
	[ "$status" -eq "$want" ] || fail "ext4da-replay exited $status, not $want: $output"
	cmp -s "$img" "$before" || fail "--output changed the input"
	run imgcmp "$REF" "$OURS"
	[ "$status" -eq 0 ] || fail "ext4da-replay and e2fsck differ: $output"
	assert_replayed "$OURS"
}

# assert_replayed IMG: needs_recovery is clear, the journal is empty, and
# e2fsck -fn finds nothing wrong (journal superblock checksum included).
assert_replayed() {
	run dumpe2fs -h "$1"
	refute_output --partial needs_recovery
	assert_output --regexp 'Journal start: +0'
	run e2fsck -fn "$1"
	[ "$status" -eq 0 ] || fail "e2fsck -fn $1: $output"
}

jfeatures() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Journal features: *//p'
}

blk() {
	dd if="$1" bs="$BS" skip="$2" count=1 status=none
}

fillblk() {
	head -c "$BS" /dev/zero | tr '\0' "\\$(printf %03o "$1")"
}

# is_fill IMG BLK BYTE: every byte of block BLK is BYTE.
is_fill() {
	cmp -s <(blk "$1" "$2") <(fillblk "$3") ||
		fail "block $2 is not all $3: $(blk "$1" "$2" | od -An -tx1 -N16)"
}

# is_pat IMG BLK TID: block BLK holds jforge's "pat" stamp for TID.
is_pat() {
	cmp -s <(blk "$1" "$2") <(jforge --pattern "$BS" "$3" "$2") ||
		fail "block $2 does not hold the pattern of tid $3: $(blk "$1" "$2" | od -An -tx1 -N16)"
}

# is_escaped IMG BLK: block BLK starts with the jbd2 magic again (jforge's
# "escape" content: c0 3b 39 98, then 0xe5 bytes).
is_escaped() {
	[ "$(blk "$1" "$2" | od -An -tx1 -N4 | tr -d ' \n')" = c03b3998 ] ||
		fail "block $2 does not start with c0 3b 39 98: $(blk "$1" "$2" | od -An -tx1 -N16)"
	cmp -s <(blk "$1" "$2" | tail -c +5) <(fillblk 0xe5 | tail -c +5) ||
		fail "block $2: the bytes after the magic are wrong"
}

# blks IMG BLK...: the blocks, concatenated (one dd per run of consecutive
# block numbers).
blks() {
	local img=$1 start=0 n=0 b
	shift
	for b in "$@" end; do
		if [ "$b" != end ] && [ "$n" -gt 0 ] && [ "$b" -eq $((start + n)) ]; then
			n=$((n + 1))
			continue
		fi
		[ "$n" -eq 0 ] || dd if="$img" bs="$BS" skip="$start" count="$n" status=none
		start=$b
		n=1
	done
}

# are_pat IMG TID BLK...: is_pat for many blocks at once.
are_pat() {
	local img=$1 tid=$2 b
	shift 2
	cmp -s <(blks "$img" "$@") <(jforge --pattern "$BS" "$tid" "$@") && return 0
	for b in "$@"; do is_pat "$img" "$b" "$tid"; done
	fail "are_pat: the blocks differ"
}

# are_orig IMG BLK...: is_orig for many blocks at once.
are_orig() {
	local img=$1 b
	shift
	cmp -s <(blks "$img" "$@") <(blks "$ORIG" "$@") && return 0
	for b in "$@"; do is_orig "$img" "$b"; done
	fail "are_orig: the blocks differ"
}

# is_orig IMG BLK: block BLK is as it was before the journal was forged.
is_orig() {
	cmp -s <(blk "$1" "$2") <(blk "$ORIG" "$2") ||
		fail "block $2 changed: $(blk "$1" "$2" | od -An -tx1 -N16)"
}

# The standard log, three transactions from tid $SEQ:
#  tx1 writes F0 (0x11), F1 (escape), F2 (pat), F3 (0x14) and revokes F5;
#  tx2 rewrites F5 (0x25: revoke, then rewrite: replayed) and revokes F3
#      (rewrite, then revoke: not replayed);
#  tx3 writes F6 (0x36) and revokes it in the same transaction (not
#      replayed), and writes F0 again (0x31: the last copy wins).
SEQ=4096
# standard IMG [JFORGE_OPTS...] [-- EXTRA_TXN...]: extra transactions follow
# the three; NTX is the number of transactions written.
standard() {
	local img=$1 opts=() extra=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	extra=("$@")
	NTX=$((3 + ${#extra[@]}))
	jforge "$img" --seq "$SEQ" "${opts[@]}" \
		"blocks=${F[0]}:0x11,${F[1]}:escape,${F[2]}:pat,${F[3]}:0x14;revoke=${F[5]}" \
		"blocks=${F[5]}:0x25;revoke=${F[3]}" \
		"blocks=${F[6]}:0x36,${F[0]}:0x31;revoke=${F[6]}" \
		"${extra[@]}"
}

# check_standard IMG [JOURNAL]: JOURNAL is the external journal, if any.
check_standard() {
	local o=$1 j=${2:-$1}
	is_fill "$o" "${F[0]}" 0x31
	is_escaped "$o" "${F[1]}"
	is_pat "$o" "${F[2]}" "$SEQ"
	is_orig "$o" "${F[3]}"
	is_orig "$o" "${F[4]}"
	is_fill "$o" "${F[5]}" 0x25
	is_orig "$o" "${F[6]}"
	is_orig "$o" "${F[7]}"
	# the next tid: one past the first tid without a commit (SEQ + NTX)
	run dumpe2fs -h "$j"
	assert_output --regexp "Journal sequence: +$(printf '0x%08x' $(((SEQ + NTX + 1) & 0xffffffff)))"
}

# std_case BS MKFS_OPTS FEATURE_REGEX JFORGE_OPTS...
std_case() {
	local bs=$1 mo=$2 feat=$3 img
	shift 3
	img="$BATS_TEST_TMPDIR/fs.img"
	# shellcheck disable=SC2086
	newfs "$img" "$bs" 16M $mo
	standard "$img" "$@"
	[[ "$(jfeatures "$img")" =~ $feat ]] || fail "journal features: $(jfeatures "$img")"
	replay_vs_e2fsck "$img"
	check_standard "$OURS"
}

@test "checksum none, 32-bit tags (8 bytes) and revoke records (4 bytes)" {
	std_case 4096 "-O ^64bit" '^journal_incompat_revoke$' --csum none
}

@test "checksum none, 64-bit tags (12 bytes) and revoke records (8 bytes)" {
	std_case 4096 "" '^journal_incompat_revoke journal_64bit$' --csum none
}

@test "checksum v1 (crc32_be over descriptors and data), 32-bit tags" {
	std_case 4096 "-O ^64bit" '^journal_checksum journal_incompat_revoke$' --csum v1
}

@test "checksum v1, 64-bit tags" {
	std_case 4096 "" '^journal_checksum journal_incompat_revoke journal_64bit$' --csum v1
}

@test "checksum v2, 32-bit tags (10 bytes, 16-bit tag checksum)" {
	std_case 4096 "-O ^64bit" '^journal_incompat_revoke journal_checksum_v2$' --csum v2
}

@test "checksum v2, 64-bit tags (14 bytes)" {
	std_case 4096 "" '^journal_incompat_revoke journal_64bit journal_checksum_v2$' --csum v2
}

@test "checksum v3 (tag3, 16 bytes), 32-bit filesystem" {
	std_case 4096 "-O ^64bit" '^journal_incompat_revoke journal_checksum_v3$' --csum v3
}

@test "checksum v3 (tag3), 64-bit" {
	std_case 4096 "" '^journal_incompat_revoke journal_64bit journal_checksum_v3$' --csum v3
}

@test "checksum v1: a commit block with no checksum at all (type 0, size 0) is accepted" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img" 4096 16M
	jforge "$img" --csum v1 "blocks=${F[0]}:0x11" "blocks=${F[1]}:0x22;zerocsum" "blocks=${F[2]}:0x33"
	replay_vs_e2fsck "$img"
	is_fill "$OURS" "${F[0]}" 0x11
	is_fill "$OURS" "${F[1]}" 0x22
	is_fill "$OURS" "${F[2]}" 0x33
}

@test "SAME_UUID on and off, every tag layout" {
	local img="$BATS_TEST_TMPDIR/fs.img" cs bits mode
	for cs in none v2 v3; do
		for bits in --32bit --64bit; do
			for mode in "" --same-uuid --same-uuid=all; do
				echo "# --csum $cs $bits $mode"
				newfs "$img" 4096 16M
				# 40 more blocks in a 4th transaction
				standard "$img" --csum "$cs" "$bits" $mode -- \
					"blocks=$(bspec pat "${F[@]:10:40}")"
				replay_vs_e2fsck "$img"
				check_standard "$OURS"
				are_pat "$OURS" $((SEQ + 3)) "${F[@]:10:40}"
			done
		done
	done
}

@test "escaped blocks are restored, in every checksum version" {
	local img="$BATS_TEST_TMPDIR/fs.img" cs
	for cs in none v1 v2 v3; do
		newfs "$img" 4096 16M
		jforge "$img" --csum "$cs" --same-uuid \
			"blocks=$(bspec escape "${F[@]:0:4}")" \
			"blocks=${F[4]}:0x44,${F[5]}:escape,${F[6]}:0x66"
		replay_vs_e2fsck "$img"
		for b in "${F[@]:0:4}" "${F[5]}"; do is_escaped "$OURS" "$b"; done
		is_fill "$OURS" "${F[4]}" 0x44
		is_fill "$OURS" "${F[6]}" 0x66
	done
}

@test "64-bit revoke records: all 8 bytes count" {
	local img="$BATS_TEST_TMPDIR/fs.img" hi
	newfs "$img" 4096 16M
	hi=$(((1 << 32) + F[0]))
	# a record for 2^32+F0 must not revoke F0; 2^32+F1 then F1 revokes F1
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11,${F[1]}:0x12" "revoke=$hi,$((hi + 1)),${F[1]}"
	replay_vs_e2fsck "$img"
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
}

@test "revoke records spanning several revoke blocks, 32- and 64-bit" {
	local img="$BATS_TEST_TMPDIR/fs.img" mo b
	for mo in "-O ^64bit" ""; do
		# 1 KiB blocks: 251 32-bit or 125 64-bit records per revoke block
		# (v3 tail), so 300 records take 2 or 3 blocks
		# shellcheck disable=SC2086
		FBLOCKS=320 newfs "$img" 1024 16M $mo
		jforge "$img" --csum v3 --same-uuid \
			"blocks=$(bspec pat "${F[@]:0:310}")" \
			"revoke=$(IFS=,; echo "${F[*]:0:300}")" \
			"blocks=${F[0]}:0x30,${F[299]}:0x39"
		replay_vs_e2fsck "$img"
		is_fill "$OURS" "${F[0]}" 0x30
		is_fill "$OURS" "${F[299]}" 0x39
		are_orig "$OURS" "${F[@]:1:298}"
		are_pat "$OURS" 1 "${F[@]:300:10}"
	done
}

@test "a block revoked, rewritten and revoked again: the latest revoke counts" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img" 4096 16M
	# F0: written by tx1, revoked by tx2, rewritten by tx3, revoked by tx4:
	#     no copy is replayed (a replayer keeping only the first revoke's tid
	#     would replay tx3's)
	# F1: revoked by tx1, written by tx3: replayed
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11;revoke=${F[1]}" "revoke=${F[0]}" \
		"blocks=${F[0]}:0x33,${F[1]}:0x3b" "revoke=${F[0]}" "blocks=${F[2]}:0x55"
	replay_vs_e2fsck "$img"
	is_orig "$OURS" "${F[0]}"
	is_fill "$OURS" "${F[1]}" 0x3b
	is_fill "$OURS" "${F[2]}" 0x55
}

@test "revoke records are honoured without the REVOKE feature bit" {
	std_case 4096 "" '^journal_64bit journal_checksum_v3$' --csum v3 --no-revoke-feature
}

@test "async_commit, checksum v1 and v3" {
	std_case 4096 "" '^journal_checksum journal_incompat_revoke journal_64bit journal_async_commit$' \
		--csum v1 --async
	std_case 4096 "" '^journal_incompat_revoke journal_64bit journal_async_commit journal_checksum_v3$' \
		--csum v3 --async
}

@test "wrapped log: a commit block in the last log block, the next transaction at s_first" {
	local img="$BATS_TEST_TMPDIR/fs.img" last b
	newfs "$img" 1024 16M
	last=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Total journal blocks: *//p')
	# tx1 = descriptor, 4 data blocks, a revoke block and the commit: 7 blocks
	run standard "$img" -v --csum v3 --start $((last - 7)) -- "blocks=$(bspec pat "${F[@]:10:8}")"
	assert_success
	assert_output --partial "tid $SEQ: commit at $((last - 1)),"
	assert_output --partial "tid $((SEQ + 1)): descriptor at 1,"
	NTX=4
	replay_vs_e2fsck "$img"
	check_standard "$OURS"
	are_pat "$OURS" $((SEQ + 3)) "${F[@]:10:8}"
}

@test "wrapped log: the wrap inside a multi-descriptor transaction (v1 crc across it, v3)" {
	local img="$BATS_TEST_TMPDIR/fs.img" last cs back at b
	# the three standard transactions take 16 log blocks; tx4 holds 30
	# blocks, 7 tags per descriptor. v1: tx4's first descriptor is 4 blocks
	# before the end, so the wrap falls among its data blocks. v3: its second
	# descriptor is the last log block, and its data start at s_first.
	for cs in v1:20:4 v3:25:1; do
		IFS=: read -r cs back at <<<"$cs"
		echo "# --csum $cs"
		newfs "$img" 1024 16M
		last=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Total journal blocks: *//p')
		run standard "$img" -v --csum "$cs" --max-tags 7 --start $((last - back)) -- \
			"blocks=$(bspec pat "${F[@]:10:30}")"
		assert_success
		assert_output --partial "tid $((SEQ + 3)): descriptor at $((last - at)),"
		NTX=4
		replay_vs_e2fsck "$img"
		check_standard "$OURS"
		are_pat "$OURS" $((SEQ + 3)) "${F[@]:10:30}"
	done
}

@test "block size 1 KiB" {
	std_case 1024 "" 'journal_checksum_v3' --csum v3
	std_case 1024 "-O ^64bit" '^journal_checksum journal_incompat_revoke$' --csum v1 --same-uuid
}

@test "block size 2 KiB" {
	std_case 2048 "" 'journal_checksum_v3' --csum v3 --same-uuid
	std_case 2048 "-O ^64bit" 'journal_checksum_v2' --csum v2
}

@test "block size 4 KiB, 32-bit tags in a 64-bit filesystem" {
	std_case 4096 "" '^journal_incompat_revoke journal_checksum_v2$' --csum v2 --32bit
}

@test "block size 64 KiB" {
	local img="$BATS_TEST_TMPDIR/fs.img" cs
	for cs in v1 v3; do
		newfs "$img" 65536 128M
		standard "$img" --csum "$cs" --same-uuid
		replay_vs_e2fsck "$img"
		check_standard "$OURS"
	done
}

@test "a transaction spanning several descriptor blocks" {
	local img="$BATS_TEST_TMPDIR/fs.img" b
	# 4 KiB, tag3 with SAME_UUID: 254 tags fill a descriptor exactly, so
	# 600 blocks need 3 descriptors
	FBLOCKS=700 newfs "$img" 4096 16M
	run jforge "$img" -v --csum v3 --same-uuid "blocks=$(bspec pat "${F[@]:0:600}")"
	assert_output --partial "254 tags"
	[ "$(grep -c descriptor <<<"$output")" -eq 3 ]
	replay_vs_e2fsck "$img"
	are_pat "$OURS" 1 "${F[@]:0:600}"
	is_orig "$OURS" "${F[600]}"
	# 1 KiB, v2 32-bit tags each with a UUID (26 bytes): 38 per descriptor
	FBLOCKS=320 newfs "$img" 1024 16M -O ^64bit
	run jforge "$img" -v --csum v2 "blocks=$(bspec pat "${F[@]:0:300}")" "blocks=${F[0]}:0x99"
	[ "$(grep -c descriptor <<<"$output")" -eq 9 ]
	replay_vs_e2fsck "$img"
	is_fill "$OURS" "${F[0]}" 0x99
	are_pat "$OURS" 1 "${F[@]:1:299}"
}

@test "full descriptors without LAST_TAG: the block end ends the tag list" {
	local img="$BATS_TEST_TMPDIR/fs.img" b
	FBLOCKS=700 newfs "$img" 4096 16M
	jforge "$img" --csum v3 --same-uuid "blocks=$(bspec pat "${F[@]:0:508}");nolasttag" \
		"blocks=${F[600]}:0x66"
	replay_vs_e2fsck "$img"
	are_pat "$OURS" 1 "${F[@]:0:508}"
	is_fill "$OURS" "${F[600]}" 0x66
}

@test "transaction IDs wrapping from 0xffffffff to 0" {
	SEQ=$((0xfffffffe))
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img" 4096 16M
	# tids fffffffe, ffffffff, 0 and 1; tx4 (tid 1) revokes F5, last
	# written by tid ffffffff: 1 comes after ffffffff, so F5 keeps its
	# old content
	standard "$img" --csum v3 -- "revoke=${F[5]}"
	replay_vs_e2fsck "$img"
	is_fill "$OURS" "${F[0]}" 0x31
	is_escaped "$OURS" "${F[1]}"
	is_pat "$OURS" "${F[2]}" "$SEQ"
	is_orig "$OURS" "${F[3]}"
	is_orig "$OURS" "${F[5]}"
	is_orig "$OURS" "${F[6]}"
	run dumpe2fs -h "$OURS"
	assert_output --regexp 'Journal sequence: +0x00000003'
}

@test "s_maxlen smaller than the journal inode: the log wraps at s_maxlen" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	# a 4096-block journal whose superblock says 2000
	FBLOCKS=100 newfs "$img" 1024 16M -J size=4
	run standard "$img" -v --csum v3 --maxlen 2000 --start 1980 -- \
		"blocks=$(bspec pat "${F[@]:10:40}")"
	assert_success
	assert_output --partial "tid $((SEQ + 3)): descriptor at 1996,"
	NTX=4
	replay_vs_e2fsck "$img"
	check_standard "$OURS"
	are_pat "$OURS" $((SEQ + 3)) "${F[@]:10:40}"
}

@test "s_maxlen below 1024 blocks: replayed, as e2fsck 1.47 and Linux 6.1 do" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	# e2fsck_journal_load and 6.1's journal_get_superblock only refuse an
	# s_maxlen larger than the journal (the 1024-block minimum applies to
	# the journal's area); Linux 6.6 added a stricter check.  The recorded
	# kernels are 6.1, so ext4da-replay follows 6.1 and e2fsck here.
	FBLOCKS=100 newfs "$img" 1024 16M
	standard "$img" --csum v3 --maxlen 900 --start 880
	replay_vs_e2fsck "$img"
	is_fill "$OURS" "${F[0]}" 0x31
}

@test "s_start holding another tid than s_sequence: nothing is replayed" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img" 4096 16M
	standard "$img" --csum v3 --sb-seq $((SEQ + 1))
	replay_vs_e2fsck "$img"
	is_orig "$OURS" "${F[0]}"
	is_orig "$OURS" "${F[1]}"
	is_orig "$OURS" "${F[5]}"
	run dumpe2fs -h "$OURS"
	assert_output --regexp "Journal sequence: +$(printf '0x%08x' $((SEQ + 2)))"
}

@test "journal superblock version 1" {
	local img="$BATS_TEST_TMPDIR/fs.img"
	newfs "$img" 4096 16M -O ^64bit
	standard "$img" --sb-v1
	run od -An -tx1 -j $(( $(debugfs -R 'bmap <8> 0' "$img" 2>/dev/null) * 4096 + 4)) -N4 "$img"
	assert_output " 00 00 00 03"
	replay_vs_e2fsck "$img"
	check_standard "$OURS"
}

@test "the high word of a 64-bit tag is honoured (a block beyond the filesystem)" {
	local img="$BATS_TEST_TMPDIR/fs.img" before
	newfs "$img" 1024 16M
	jforge "$img" --csum v3 "blocks=${F[0]}:0x11,$(((1 << 32) + F[1])):0x22,${F[2]}:0x33"
	before=$(stat -c %s "$img")
	OURS="$BATS_TEST_TMPDIR/ours.img"
	# e2fsck writes the block 4 TiB into the image file; ext4da-replay must
	# neither do that nor write it to F1, and must say it could not replay it
	run --separate-stderr ext4da-replay --output "$OURS" "$img"
	[ "$status" -eq 4 ] || fail "exit $status: $output $stderr"
	assert_equal "$(stat -c %s "$OURS")" "$before"
	[[ "$stderr" == *"$(((1 << 32) + F[1]))"* ]] || fail "stderr: $stderr"
	is_fill "$OURS" "${F[0]}" 0x11
	is_orig "$OURS" "${F[1]}"
	is_fill "$OURS" "${F[2]}" 0x33
}

@test "fast-commit area: the log wraps before it (e2fsck 1.47 does not: kernel 2dfba3bb40ad)" {
	local img="$BATS_TEST_TMPDIR/fs.img" maxlen fc b
	newfs "$img" 4096 16M -O fast_commit
	maxlen=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Total journal blocks: *//p')
	fc=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Fast commit length: *//p')
	# the log is [1, maxlen - fc): tx1 starts 3 blocks before its end and
	# wraps to block 1
	run jforge "$img" -v --fast-commit --csum v3 --start $((maxlen - fc - 3)) \
		"blocks=$(bspec pat "${F[@]:0:6}")"
	assert_output --partial "commit at 5,"
	REF="$BATS_TEST_TMPDIR/ref.img"
	OURS="$BATS_TEST_TMPDIR/ours.img"
	run ext4da-replay --output "$OURS" "$img"
	assert_success
	are_pat "$OURS" 1 "${F[@]:0:6}"
	assert_replayed "$OURS"
	# e2fsck 1.47 wraps at s_maxlen, finds no commit, and drops tx1. If
	# this fails, e2fsck was fixed: compare with imgcmp instead.
	e2fsck_replay "$img" "$REF"
	are_orig "$REF" "${F[@]:0:6}"
}

@test "needs_recovery clear but s_start set: replayed, as e2fsck -y does" {
	local img="$BATS_TEST_TMPDIR/fs.img" p="$BATS_TEST_TMPDIR/ref-lastcheck.img"
	newfs "$img" 4096 16M
	standard "$img" --csum v3 --no-recover-flag
	run dumpe2fs -h "$img"
	refute_output --partial needs_recovery
	OURS="$BATS_TEST_TMPDIR/ours.img"
	REF="$BATS_TEST_TMPDIR/ref.img"
	run ext4da-replay --output "$OURS" "$img"
	assert_success
	check_standard "$OURS"
	assert_replayed "$OURS"
	# e2fsck answers "Run journal anyway? yes" and then forces a full check
	# (E2F_OPT_FORCE, journal.c), which sets s_lastcheck (0x40): not part of
	# the replay, so it is left out of the comparison
	e2fsck_replay "$img" "$REF"
	cp --sparse=always "$REF" "$p"
	dd if="$OURS" of="$p" bs=1 skip=$((1024 + 0x40)) seek=$((1024 + 0x40)) count=4 \
		conv=notrunc status=none
	run imgcmp "$p" "$OURS"
	[ "$status" -eq 0 ] || fail "ext4da-replay and e2fsck differ: $output"
	cmp -s <(dd if="$OURS" bs=1 skip=$((1024 + 0x40)) count=4 status=none) \
		<(dd if="$ORIG" bs=1 skip=$((1024 + 0x40)) count=4 status=none) ||
		fail "ext4da-replay changed s_lastcheck"
}

@test "a block-mapped journal inode (no extents: indirect and double-indirect blocks)" {
	local img="$BATS_TEST_TMPDIR/fs.img" last
	FBLOCKS=300 newfs "$img" 1024 16M -O ^extent,^64bit,^flex_bg
	run debugfs -R 'stat <8>' "$img"
	assert_output --partial "(DIND)"
	last=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Total journal blocks: *//p')
	# 280 blocks from 60 before the end: across the wrap and many indirect blocks
	standard "$img" --csum v3 --same-uuid --start $((last - 60)) -- \
		"blocks=$(bspec pat "${F[@]:10:280}")"
	replay_vs_e2fsck "$img"
	check_standard "$OURS"
	are_pat "$OURS" $((SEQ + 3)) "${F[@]:10:280}"
}

@test "a fragmented journal inode (hundreds of extents under an index block)" {
	local img="$BATS_TEST_TMPDIR/fs.img" cache="$BATS_FILE_TMPDIR/frag.img" i
	if [ ! -f "$cache" ]; then
		truncate -s 16M "$cache.tmp"
		mkfs.ext4 -F -q -b 4096 -O ^has_journal -E nodiscard -N 4096 "$cache.tmp"
		head -c 4096 /dev/zero | tr '\0' Z >"$BATS_FILE_TMPDIR/one"
		# fill the filesystem with one-block files, then free two of every
		# three: the journal gets two-block extents
		for i in $(seq 1 3900); do echo "write $BATS_FILE_TMPDIR/one f$i"; done |
			debugfs -w -f - "$cache.tmp" >/dev/null 2>&1
		for i in $(seq 1 3900); do [ $((i % 3)) -eq 0 ] || echo "rm f$i"; done |
			debugfs -w -f - "$cache.tmp" >/dev/null 2>&1
		tune2fs -J size=4 "$cache.tmp" >/dev/null
		mv "$cache.tmp" "$cache"
	fi
	cp --sparse=always "$cache" "$img"
	ORIG="$BATS_TEST_TMPDIR/orig.img"
	cp --sparse=always "$cache" "$ORIG"
	BS=4096
	run debugfs -R 'stat <8>' "$img"
	assert_output --partial "(ETB0)"
	[ "$(grep -o '([0-9-]*):' <<<"$output" | wc -l)" -ge 300 ] || fail "journal not fragmented: $output"
	read -r -a F <<<"$(for i in $(seq 3 3 300); do echo "blocks f$i"; done |
		debugfs -f - "$img" 2>/dev/null | grep -v '^debugfs' | tr '\n' ' ')"
	[ "${#F[@]}" -eq 100 ] || fail "${#F[@]} target blocks"
	standard "$img" --csum v3 --start 1000 -- "blocks=$(bspec pat "${F[@]:10:80}")"
	replay_vs_e2fsck "$img"
	check_standard "$OURS"
	are_pat "$OURS" $((SEQ + 3)) "${F[@]:10:80}"
}

# mkext DIR BS: DIR/fs.img with an external journal DIR/j.img (needs root and
# a loop device for mkfs.ext4 -J device=), and /f as in newfs.
mkext() {
	local dir=$1 bs=$2 loop
	truncate -s 8M "$dir/j.img"
	mke2fs -q -F -O journal_dev -b "$bs" "$dir/j.img"
	truncate -s 16M "$dir/fs.img"
	loop=$(losetup -f --show "$dir/j.img")
	mkfs.ext4 -F -q -b "$bs" -E nodiscard -J device="$loop" "$dir/fs.img" 2>/dev/null ||
		{ losetup -d "$loop"; return 1; }
	losetup -d "$loop"
	head -c $((64 * bs)) /dev/zero | tr '\0' Z >"$dir/z"
	debugfs -w -R "write $dir/z f" "$dir/fs.img" >/dev/null 2>&1
	ORIG="$dir/orig.img"
	cp --sparse=always "$dir/fs.img" "$ORIG"
	BS=$bs
	read -r -a F <<<"$(debugfs -R 'blocks f' "$dir/fs.img" 2>/dev/null)"
}

ext_case() {
	local bs=$1 d
	shift
	d=$(scratch)
	mkext "$d" "$bs"
	standard "$d/fs.img" --journal "$d/j.img" "$@"
	run ext4da-replay --output "$d/out.img" --journal "$d/j.img" "$d/fs.img"
	[ "$status" -eq 8 ] || fail "--output with an external journal: exit $status"
	[ ! -e "$d/out.img" ]
	# e2fsck -j on copies, ext4da-replay --journal in place on other copies
	cp "$d/fs.img" "$d/ref.img"
	cp "$d/j.img" "$d/jref.img"
	e2fsck -y -E journal_only -j "$d/jref.img" "$d/ref.img" >/dev/null 2>&1 || true
	cp "$d/fs.img" "$d/ours.img"
	cp "$d/j.img" "$d/jours.img"
	run ext4da-replay --journal "$d/jours.img" "$d/ours.img"
	assert_success
	run imgcmp "$d/ref.img" "$d/ours.img"
	[ "$status" -eq 0 ] || fail "filesystems differ: $output"
	run cmp "$d/jref.img" "$d/jours.img"
	[ "$status" -eq 0 ] || fail "journals differ: $output"
	check_standard "$d/ours.img" "$d/jours.img"
	run dumpe2fs -h "$d/ours.img"
	refute_output --partial needs_recovery
	run e2fsck -fn -j "$d/jours.img" "$d/ours.img"
	[ "$status" -eq 0 ] || fail "e2fsck -fn: $output"
	run dumpe2fs -h "$d/jours.img"
	assert_output --regexp 'Journal start: +0'
}

@test "external journal, 4 KiB blocks" {
	require_root
	ext_case 4096 --csum v3 --same-uuid
}

@test "external journal, 1 KiB blocks (journal superblock in block 2), checksum v2" {
	require_root
	ext_case 1024 --csum v2
}
