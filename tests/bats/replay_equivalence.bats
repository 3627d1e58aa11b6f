#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-replay against e2fsck 1.47 on real crashed images (SPEC section 3,
# "Equivalence"): for a matrix of mkfs features and mount options, several
# seeds each, `ext4da-replay --output` must give the image that
# `e2fsck -y -E journal_only` gives on a copy, byte for byte except the
# superblock fields that imgcmp exempts, and the input must not change.
#
# The images come from tests/fixtures/crashgen: a seeded workload on a
# loop-mounted filesystem, copied while mounted right after an fsync (so
# the journal holds committed, not yet checkpointed transactions whose home
# blocks are stale).  Each seed gives two images: a snapshot halfway through
# the workload (NAME-sSEED.1.img) and the end state (NAME-sSEED.img).
#
# Fast commit: when the fast-commit area holds work for the log's end
# (a live fast commit), ext4da-replay replays it after the full commits and
# the reference is e2fsck on a plain copy (which replays it too), or, on a
# log that wraps, the kernel's own recovery (a loop mount of a copy),
# compared by file tree (see check_live_fast_commit; replay_fastcommit.bats
# tests fast commits of every kind).  Otherwise e2fsck 1.47.0 has two bugs
# on fast-commit journals that the kernel does not have, so the reference
# is e2fsck run on a copy whose journal superblock
# shows it the kernel's view: s_maxlen = j_last and no fast_commit feature
# (the fields are put back afterwards; whether the fast-commit area holds a
# live fast commit is checked separately).  The two bugs, each documented by
# a test at the end of this file:
#  1. a fast-commit area whose head is stale (its tid is not the log's end,
#     i.e. a full commit followed the fast commits) makes e2fsck fail with
#     "Invalid argument while recovering journal": e2fsck's
#     ext4_fc_replay_scan() returns -EINVAL where the kernel's returns
#     JBD2_FC_REPLAY_STOP (fs/ext4/fast_commit.c), and e2fsck then drops
#     every committed transaction and marks the filesystem not clean.
#  2. e2fsck's wrap() wraps the log at j_fc_last (the end of the fast-commit
#     area) instead of j_last, where the kernel's writer and recovery wrap
#     (kernel commit 2dfba3bb40ad).  On a log that wraps, e2fsck ends the log
#     at the wrap and leaves the rest unreplayed.

load helpers

# NAME|SIZE|MKFS OPTIONS|MOUNT OPTIONS|SEEDS|MORE CRASHGEN OPTIONS
MATRIX=(
	"1k|32M|-b 1024|commit=600|101 102|"
	"2k|32M|-b 2048|commit=600|201 202|"
	"4k|32M|-b 4096|commit=600|301 302|"
	"no64bit|32M|-O ^64bit|commit=600|401 402|"
	"nocsum|32M|-O ^metadata_csum|commit=600|501 502|"
	"csum_v1|32M|-O ^metadata_csum|journal_checksum,commit=600|601 602|"
	"nocsum_no64bit|32M|-O ^metadata_csum,^64bit|commit=600|701|"
	"csum_v1_no64bit|32M|-O ^metadata_csum,^64bit|journal_checksum|702|"
	"bigalloc|64M|-b 4096 -O bigalloc -C 16384|commit=600|801 802|"
	"bigalloc_1k|32M|-b 1024 -O bigalloc -C 16384|commit=600|803|"
	"fast_commit|32M|-O fast_commit||901 902 903|"
	"fast_commit_syncfs|32M|-O fast_commit -b 4096|commit=600|904 905|--syncfs"
	"wrap_1k|32M|-b 1024 -J size=1|commit=600|1001 1002|--wrap"
	"wrap_4k|32M|-b 4096 -J size=4||1101 1102|--wrap"
	"data_journal|32M|-b 4096|data=journal,commit=600|1201 1202|"
	"data_journal_wrap|32M|-b 1024 -J size=1|data=journal|1203|--wrap"
	"async_commit|32M|-b 4096|data=writeback,journal_async_commit|1301 1302|"
	"async_commit_v1|32M|-O ^metadata_csum,^64bit|data=writeback,journal_async_commit,commit=600|1303|"
	"journal_checksum|32M|-b 4096|journal_checksum,commit=600|1401 1402|"
	"commit_default|32M|-b 1024||1501 1502|"
	"fast_commit_wrap|32M|-O fast_commit -b 1024 -J size=1||1601|--wrap --syncfs"
	"meta_bg|64M|-b 1024 -O meta_bg,^resize_inode|commit=600|1701|"
	"racy_async|32M|-b 1024|data=writeback,journal_async_commit|1901|--racy"
	"racy_wrap|32M|-b 1024 -J size=1|commit=5|1902|--racy --wrap"
)
OPS=${EXT4DA_CRASHGEN_OPS:-120}
# EXT4DA_ROWS (space-separated row names) limits the images made, for a
# quick run of some tests with bats -f; EXT4DA_JOBS sets how many crashgen
# runs go in parallel (2).

# The matrix row called $1.
row() {
	local r
	for r in "${MATRIX[@]}"; do
		[ "${r%%|*}" = "$1" ] && { echo "$r"; return; }
	done
	return 1
}

setup_file() {
	require_root
	export IMAGES="$BATS_FILE_TMPDIR/images"
	mkdir -p "$IMAGES"
	local r name size mkfs mount seeds more seed cmds=()
	for r in "${MATRIX[@]}"; do
		IFS='|' read -r name size mkfs mount seeds more <<<"$r"
		# EXT4DA_ROWS="a b": make only those rows' images (with bats -f).
		[ -z "${EXT4DA_ROWS:-}" ] || [[ " $EXT4DA_ROWS " == *" $name "* ]] || continue
		for seed in $seeds; do
			cmds+=("$(printf '%q ' "$SRCDIR/tests/fixtures/crashgen" \
				"$IMAGES/$name-s$seed.img" --seed "$seed" --size "$size" \
				--mkfs "$mkfs" --mount "$mount" --ops "$OPS" --snapshots 1) $more \
				>$(printf '%q' "$IMAGES/$name-s$seed.log") 2>&1")
		done
	done
	# Two at a time: each is mostly waiting on its own syncs.
	local c
	for c in "${cmds[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "${EXT4DA_JOBS:-2}" ]; do
			wait -n || true
		done
		EXT4DA_REPLAY="$BUILDDIR/ext4da-replay" bash -c "$c" &
	done
	wait || true
}

# --- helpers ---------------------------------------------------------------

# Device blocks of the journal inode's blocks $2... in image $1.
jmap() {
	local img=$1
	shift
	printf 'bmap <8> %s\n' "$@" | debugfs -f - "$img" 2>/dev/null | grep -v '^debugfs'
}

# Copy block $3 (device block number, size $4) of image $1 into image $2.
copy_block() {
	dd if="$1" of="$2" bs="$4" skip="$3" seek="$3" count=1 conv=notrunc status=none
}

CRC32C_PY='
table = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    table.append(c)
def crc32c(crc, data):
    for b in data:
        crc = table[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc
'

# Rewrite fields of the journal superblock at byte offset $2 of image $1
# (maxlen=, sequence=, incompat=, num_fc=) and recompute its crc32c if it
# has one.
jsb_edit() {
	python3 -c "$CRC32C_PY"'
import struct, sys
img, off = sys.argv[1], int(sys.argv[2])
with open(img, "r+b") as f:
    f.seek(off)
    sb = bytearray(f.read(1024))
    for arg in sys.argv[3:]:
        k, v = arg.split("=")
        struct.pack_into(">I", sb, {"maxlen": 0x10, "sequence": 0x18, "incompat": 0x28,
                                    "num_fc": 0x54}[k], int(v, 0))
    if struct.unpack_from(">I", sb, 0x28)[0] & 0x18:	# checksum v2 or v3
        struct.pack_into(">I", sb, 0xfc, 0)
        struct.pack_into(">I", sb, 0xfc, crc32c(0xffffffff, sb))
    f.seek(off)
    f.write(sb)
' "$@"
}

# A field of a journal superblock, as --list --json reports it.
jfield() {
	jq -r "$2" <<<"$1"
}

# Why do two images differ?  For each differing fs block (from imgcmp's
# output in $1), which transactions of image $2 log it.
explain_diff() {
	local cmpout=$1 img=$2 bs=$3 json a b blk n=0
	json=$(ext4da-replay --list -v --json "$img" 2>/dev/null || true)
	while read -r a b; do
		for blk in $(seq $((a / bs)) $((b / bs))); do
			n=$((n + 1))
			[ $n -le 12 ] || return 0
			echo "  fs block $blk (bytes $a-$b): logged by $(jq -c --argjson b "$blk" \
				'[.transactions[] | {tid, state, logs: [.tags[] | select(.fs_block == $b) | .log_block]} | select(.logs | length > 0)]' <<<"$json")"
		done
	done < <(sed -n 's/^differ: bytes \([0-9]*\)-\([0-9]*\).*/\1 \2/p' <<<"$cmpout")
}

# Keep a failing image for a post-mortem, and say where.
keep() {
	local dir="${TMPDIR:-/tmp}/ext4da-equivalence-failures"
	mkdir -p "$dir"
	cp --sparse=always "$1" "$dir/"
	echo "(kept as $dir/$(basename "$1"))"
}

fail_image() {
	local img=$1
	shift
	fail "$(printf '%s\n' "$(basename "$img"): $*" "recipe: $(recipe "$img")" "$(keep "$img")")"
}

# The crashgen command line that made image $1.
recipe() {
	local b name seed r size mkfs mount seeds more
	b=$(basename "$1" .img)
	b=${b%.1}
	name=${b%-s*}
	seed=${b##*-s}
	r=$(row "$name")
	IFS='|' read -r name size mkfs mount seeds more <<<"$r"
	echo "crashgen OUT.img --seed $seed --size $size --mkfs '$mkfs' --mount '$mount' --ops $OPS --snapshots 1 $more" \
		"($(basename "$1"))"
}

# Unsigned big-endian 32-bit number at byte $2 of file $1.
be32() {
	echo $((0x$(od -An -tx1 -j "$2" -N4 "$1" | tr -d ' \n')))
}

# The meta_bg group descriptor blocks of image $1 outside the primary
# copy, each as "BACKUP PRIMARY" (the primary copy of its meta group).
metabg_backups() {
	local bs ds
	bs=$(dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Block size: *//p')
	ds=$(dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Group descriptor size: *//p')
	dumpe2fs "$1" 2>/dev/null | awk -v dpb=$((bs / ${ds:-32})) '
		/^Group [0-9]+:/ { g = $2; sub(":", "", g) }
		/Group descriptor at [0-9]+/ {
			match($0, /Group descriptor at [0-9]+/)
			b = substr($0, RSTART + 20, RLENGTH - 20)
			if (g % dpb == 0) prim[int(g / dpb)] = b
			else { n++; bk[n] = b; mg[n] = int(g / dpb) }
		}
		END { for (i = 1; i <= n; i++) print bk[i], prim[mg[i]] }'
}

# The reference for image $1: e2fsck -E journal_only on a copy, made into
# $2 (or a message in $2.err and return 1).  E2FSCK_NOTE says what, if
# anything, was done beyond that; each is one of the documented e2fsck
# differences tested at the end of this file.
#
# Fast commit: e2fsck gets the kernel's view of the log (see the top of
# this file): its copy's journal superblock says s_maxlen = j_last and has
# no fast_commit feature, so that e2fsck wraps the log where the kernel does
# and leaves the fast-commit area alone; the superblock fields are put back
# afterwards.  Whether the area holds a live fast commit (a head for the tid
# that ends the log, which the kernel would replay) is then checked here,
# independently of ext4da-replay: the log's end is e2fsck's new
# s_sequence - 1.
#
# meta_bg: e2fsck's ext2fs_close() writes the in-memory group descriptors
# to every meta_bg descriptor block, backups included (lib/ext2fs/closefs.c
# ignores EXT2_FLAG_MASTER_SB_ONLY for them); recovery writes no backup.
# Those backup blocks are checked to hold the primary copy in e2fsck's
# result, and put back from the input.
reference() {
	local img=$1 ref=$2 bs d0 jsb maxlen incompat nfc jlast e2out seq fcdev tag tid
	local feat bk pr
	E2FSCK_NOTE=
	bs=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Block size: *//p')
	feat=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Filesystem features: *//p')
	cp --sparse=always "$img" "$ref"
	d0=$(jmap "$img" 0)
	jsb=$((d0 * bs))
	incompat=$(be32 "$img" $((jsb + 0x28)))
	if [ $((incompat & 0x20)) != 0 ]; then
		maxlen=$(be32 "$img" $((jsb + 0x10)))
		nfc=$(be32 "$img" $((jsb + 0x54)))
		jlast=$((maxlen - (nfc ? nfc : 256)))
		jsb_edit "$ref" "$jsb" maxlen="$jlast" incompat=$((incompat & ~0x20)) num_fc=0
		E2FSCK_NOTE="e2fsck shown the kernel's log end j_last=$jlast, without the fast-commit area"
	fi
	e2out=$(e2fsck -y -E journal_only "$ref" 2>&1) || true
	e2out=${e2out//"$ref"/COPY}
	if grep -qiE 'error|invalid|corrupt|abort|illegal|bad' <<<"$e2out"; then
		echo "e2fsck could not recover it${E2FSCK_NOTE:+ ($E2FSCK_NOTE)}: $e2out" >"$ref.err"
		return 1
	fi
	if [ $((incompat & 0x20)) != 0 ]; then
		seq=$(be32 "$ref" $((jsb + 0x18)))
		jsb_edit "$ref" "$jsb" maxlen="$maxlen" incompat="$incompat" num_fc="$nfc"
		fcdev=$(jmap "$img" $((jlast + 1)))
		tag=$(od -An -tu2 -j $((fcdev * bs)) -N2 "$img" | tr -d ' ')
		tid=$(od -An -tu4 -j $((fcdev * bs + 8)) -N4 "$img" | tr -d ' ')
		if [ "$tag" = 9 ] && [ "$tid" = $(((seq - 1) & 0xffffffff)) ]; then
			echo "the fast-commit area holds a live fast commit (head for tid $tid, the log's end)" \
				"that --list did not report" >"$ref.err"
			return 1
		fi
	fi
	if [[ " $feat " == *" meta_bg "* ]]; then
		while read -r bk pr; do
			if ! cmp -s <(dd if="$ref" bs="$bs" skip="$bk" count=1 status=none) \
				<(dd if="$ref" bs="$bs" skip="$pr" count=1 status=none); then
				echo "e2fsck's meta_bg backup descriptor block $bk is not a copy of the primary $pr" >"$ref.err"
				return 1
			fi
			copy_block "$img" "$ref" "$bk" "$bs"
		done < <(metabg_backups "$img")
		E2FSCK_NOTE="${E2FSCK_NOTE:+$E2FSCK_NOTE; }meta_bg backup descriptors put back"
	fi
}

# The whole check for one crashed image.
check_image() {
	local img=$1 d name before json bs
	name=$(basename "$img" .img)
	d="$BATS_TEST_TMPDIR/$name"
	mkdir -p "$d"
	before=$(sha "$img")

	run dumpe2fs -h "$img"
	[[ $output == *needs_recovery* ]] || fail_image "$img" "needs_recovery is not set"
	json=$(ext4da-replay --list --json "$img") || fail_image "$img" "--list failed"
	[ "$(jfield "$json" .replayable)" -gt 0 ] ||
		fail_image "$img" "no committed transaction to replay"
	bs=$(jfield "$json" .journal.blocksize)

	run ext4da-replay --output "$d/ours.img" "$img"
	[ "$status" -eq 0 ] || fail_image "$img" "ext4da-replay exited $status: $output"
	[ "$(sha "$img")" = "$before" ] || fail_image "$img" "the input changed"
	if [ "$(jfield "$json" .fast_commit_present)" = true ]; then
		check_live_fast_commit "$img" "$d" "$bs"
		return 0
	fi

	reference "$img" "$d/ref.img" || fail_image "$img" "$(cat "$d/ref.img.err")"
	run imgcmp "$d/ref.img" "$d/ours.img"
	if [ "$status" -ne 0 ]; then
		local why
		why=$(explain_diff "$output" "$img" "$bs")
		fail_image "$img" "differs from e2fsck${E2FSCK_NOTE:+ ($E2FSCK_NOTE)}:" "$output" "$why"
	fi
	[ "$(sha "$img")" = "$before" ] || fail_image "$img" "the input changed"

	# Documented difference: e2fsck -E journal_only also releases orphan
	# inodes, which is not journal replay.  crashgen leaves none; if one
	# shows up here, the images above could only agree by chance.
	run dumpe2fs -h "$d/ours.img"
	if [[ $output == *"First orphan inode"* ]]; then
		fail_image "$img" "DOCUMENTED DIFFERENCE, not a replay bug: the replayed image has a" \
			"non-empty orphan list ($(grep 'First orphan inode' <<<"$output")), which" \
			"e2fsck -E journal_only releases; crashgen must not leave one"
	fi
	COMPARED=$((COMPARED + 1))
	[ -z "$E2FSCK_NOTE" ] || NOTED=$((NOTED + 1))
	rm -rf "$d"
}

# A live fast commit (one the kernel replays at mount): e2fsck replays it
# too, so its result on a plain copy is the reference where it is right:
# not on a log that wraps, whose fast commit e2fsck drops, nor when its
# result fails e2fsck -fn (a directory created by the fast commit, which it
# leaves without a block; a deep extent tree: replay_fastcommit.bats
# documents both).  There the kernel's own recovery is the reference, by
# file tree, and ours must pass e2fsck -fn.
check_live_fast_commit() {
	local img=$1 d=$2 bs=$3 why
	[[ $output == *"replayed fast commit for tid"* ]] ||
		fail_image "$img" "--list reports a fast commit, replay does not say it replayed it: $output"
	LIVE_FC=$((LIVE_FC + 1))
	e2fsck_replay "$img" "$d/ref.img"
	if wrapped "$img" || ! e2fsck -fn "$d/ref.img" >/dev/null 2>&1; then
		fsck_clean "$d/ours.img"
		same_tree_as_kernel "$img" "$d/ours.img"
		KERNEL_REF=$((KERNEL_REF + 1))
		rm -rf "$d"
		return 0
	fi
	run imgcmp "$d/ref.img" "$d/ours.img"
	if [ "$status" -ne 0 ]; then
		why=$(explain_diff "$output" "$img" "$bs")
		fail_image "$img" "differs from e2fsck (live fast commit):" "$output" "$why"
	fi
	COMPARED=$((COMPARED + 1))
	rm -rf "$d"
}

# Check every image of matrix row $1.
check_config() {
	local name=$1 r size mkfs mount seeds more seed img
	r=$(row "$name") || fail "no matrix row $name"
	IFS='|' read -r name size mkfs mount seeds more <<<"$r"
	COMPARED=0 LIVE_FC=0 KERNEL_REF=0 NOTED=0
	for seed in $seeds; do
		for img in "$IMAGES/$name-s$seed.1.img" "$IMAGES/$name-s$seed.img"; do
			[ -f "$img" ] || fail "$(basename "$img") was not made: $(cat "$IMAGES/$name-s$seed.log")" \
				"recipe: $(recipe "$img")"
			check_image "$img"
		done
	done
	local note=
	[ "$NOTED" = 0 ] || note=", $NOTED of them with a documented e2fsck difference set aside"
	echo "# $name: $COMPARED compared$note; $LIVE_FC with a live fast commit replayed" \
		"($KERNEL_REF of them against the kernel's recovery)" >&3
}

# Does any image of row $1 have a tag with flag $2 / a log that wraps?
any_tag_flag() {
	local img
	for img in "$IMAGES/$1"-s*.img; do
		ext4da-replay --list -v --json "$img" |
			jq -e --arg f "$2" 'any(.transactions[].tags[]; .flags | index($f))' >/dev/null && return 0
	done
	return 1
}

wrapped() {
	ext4da-replay --list --json "$1" | jq -e '.journal.start as $s |
		any(.transactions[] | select(.state == "committed");
		    .last_block < .first_block or .first_block < $s)' >/dev/null
}

journal_features() {
	ext4da-replay --list --json "$1" | jq -r '.journal.features | join(" ")'
}

# --- the matrix ------------------------------------------------------------

@test "equivalence: 1 KiB blocks" {
	check_config 1k
}

@test "equivalence: 2 KiB blocks" {
	check_config 2k
}

@test "equivalence: 4 KiB blocks" {
	check_config 4k
}

@test "equivalence: -O ^64bit (32-bit block tags)" {
	[[ $(journal_features "$IMAGES/no64bit-s401.img") != *64bit* ]] || fail "the journal is 64-bit"
	check_config no64bit
}

@test "equivalence: -O ^metadata_csum (no journal checksum)" {
	[[ $(journal_features "$IMAGES/nocsum-s501.img") != *checksum* ]] || fail "the journal has checksums"
	check_config nocsum
}

@test "equivalence: -O ^metadata_csum, mounted journal_checksum (checksum v1)" {
	[[ $(journal_features "$IMAGES/csum_v1-s601.img") == *checksum_v1* ]] || fail "not checksum v1"
	check_config csum_v1
}

@test "equivalence: -O ^metadata_csum,^64bit, without and with journal_checksum" {
	check_config nocsum_no64bit
	[[ $(journal_features "$IMAGES/csum_v1_no64bit-s702.img") == checksum_v1* ]] || fail "not checksum v1"
	check_config csum_v1_no64bit
}

@test "equivalence: -O bigalloc -C 16384 (4 KiB and 1 KiB blocks)" {
	check_config bigalloc
	check_config bigalloc_1k
}

@test "equivalence: -O fast_commit (live fast commits replayed and compared too)" {
	check_config fast_commit
	local live=$LIVE_FC
	check_config fast_commit_syncfs
	[ "$COMPARED" -gt 0 ] || fail "no fast_commit image was replayed and compared"
	[ $((live + LIVE_FC)) -gt 0 ] || fail "no image had a live fast commit: its replay went untested"
}

@test "equivalence: 1 KiB blocks, 1 MiB journal that wraps (-J size=1)" {
	wrapped "$IMAGES/wrap_1k-s1001.img" || fail "the log does not wrap"
	wrapped "$IMAGES/wrap_1k-s1002.img" || fail "the log does not wrap"
	check_config wrap_1k
}

@test "equivalence: 4 KiB blocks, 4 MiB journal that wraps (-J size=4)" {
	wrapped "$IMAGES/wrap_4k-s1101.img" || fail "the log does not wrap"
	check_config wrap_4k
}

@test "equivalence: data=journal (escaped blocks), and with a wrapping log" {
	check_config data_journal
	wrapped "$IMAGES/data_journal_wrap-s1203.img" || fail "the log does not wrap"
	check_config data_journal_wrap
	any_tag_flag data_journal escape || any_tag_flag data_journal_wrap escape ||
		fail "no escaped block in any data=journal image"
}

@test "equivalence: journal_async_commit (checksum v3 and v1)" {
	[[ $(journal_features "$IMAGES/async_commit-s1301.img") == *async_commit* ]] || fail "no async_commit"
	check_config async_commit
	[[ $(journal_features "$IMAGES/async_commit_v1-s1303.img") == "checksum_v1 async_commit" ]] ||
		fail "not checksum v1 with async_commit: $(journal_features "$IMAGES/async_commit_v1-s1303.img")"
	check_config async_commit_v1
}

@test "equivalence: journal_checksum" {
	check_config journal_checksum
}

@test "equivalence: default commit interval (commit=5)" {
	check_config commit_default
}

@test "equivalence: fast_commit with a log that wraps" {
	wrapped "$IMAGES/fast_commit_wrap-s1601.img" || fail "the log does not wrap"
	check_config fast_commit_wrap
}

@test "equivalence: meta_bg (e2fsck's writes to backup descriptors set aside)" {
	[ -n "$(metabg_backups "$IMAGES/meta_bg-s1701.img")" ] || fail "no meta_bg backup descriptor"
	check_config meta_bg
}

@test "equivalence: copies taken while commits are in flight" {
	check_config racy_async
	wrapped "$IMAGES/racy_wrap-s1902.img" || fail "the log does not wrap"
	check_config racy_wrap
}

# --- async commit: states a real crash can leave that a copy rarely catches --
# With journal_async_commit the commit block goes to the disk with the
# transaction's other blocks, without a flush in between, so a crash can
# keep the commit block and lose one of the others (the checksums exist to
# find that).  These states are made from a real crashed image by zeroing
# or damaging one block of its log.

# Copy image $1 to $2 with byte $4 of journal block $3 changed: "zero" for
# the whole block, else XORed with 0xff.
damage() {
	local img=$1 out=$2 jblk=$3 what=$4 bs dev
	bs=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Block size: *//p')
	dev=$(jmap "$img" "$jblk")
	cp --sparse=always "$img" "$out"
	if [ "$what" = zero ]; then
		dd if=/dev/zero of="$out" bs="$bs" seek="$dev" count=1 conv=notrunc status=none
	else
		python3 -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2]); f.seek(o); b = f.read(1)
f.seek(o); f.write(bytes([b[0] ^ 0xff]))' "$out" $((dev * bs + what))
	fi
}

@test "async commit, a committed block lost: e2fsck's image, except that e2fsck keeps s_sequence" {
	# Documented e2fsck difference: when recovery meets a data block whose
	# tag checksum fails, e2fsck (like the kernel) replays everything else,
	# and then its recover_ext3_journal() skips "j_tail_sequence =
	# j_transaction_sequence" because jbd2_journal_recover() returned
	# -EFSBADCRC: the journal is marked empty with s_sequence left at the old
	# log's first tid, so the next mount reuses tids that are still in the
	# log.  ext4da-replay advances s_sequence past the log, as the SPEC says.
	local img="$IMAGES/async_commit-s1301.img" d json tid jblk bs d0 seq
	d=$(scratch)
	json=$(ext4da-replay --list -v --json "$img")
	[[ $(journal_features "$img") == *checksum_v3* ]] || fail "no tag checksums"
	tid=$(jq '[.transactions[] | select(.replayable and (.tags | length) > 0)] | .[length - 2].tid' <<<"$json")
	jblk=$(jq --argjson t "$tid" '.transactions[] | select(.tid == $t) | .tags[-1].log_block' <<<"$json")
	damage "$img" "$d/lost.img" "$jblk" zero
	run ext4da-replay --output "$d/ours.img" "$d/lost.img"
	[ "$status" -eq 4 ] || fail "exit $status, not 4: $output"
	assert_output --partial "tag checksum"
	cp --sparse=always "$d/lost.img" "$d/e2.img"
	run e2fsck -y -E journal_only "$d/e2.img"
	assert_output --partial "Journal checksum error"
	bs=$(jfield "$json" .journal.blocksize)
	d0=$(jmap "$img" 0)
	[ "$(be32 "$d/e2.img" $((d0 * bs + 0x18)))" = "$(jfield "$json" .journal.sequence)" ]
	seq=$(be32 "$d/ours.img" $((d0 * bs + 0x18)))
	[ "$seq" = $(($(jfield "$json" .end_tid) + 1)) ] || fail "ours: s_sequence $seq"
	# Apart from that, the same image.
	jsb_edit "$d/e2.img" $((d0 * bs)) sequence="$seq"
	run imgcmp "$d/e2.img" "$d/ours.img"
	assert_success
}

@test "async commit, a bad commit block before good ones: e2fsck's image, and exit 4" {
	# Checksum v3 with async commit: a commit block whose checksum fails
	# ends the log there (kernel and e2fsck alike: the "interrupted commit"
	# case), even though later transactions have good commit blocks.  Those
	# later transactions were committed and are not replayed, so the SPEC
	# wants exit 4 and a report saying so; the image is e2fsck's.
	local img="$IMAGES/async_commit-s1301.img" d json tid jblk
	d=$(scratch)
	json=$(ext4da-replay --list --json "$img")
	tid=$(jq '[.transactions[] | select(.replayable)] | .[length - 3].tid' <<<"$json")
	jblk=$(jq --argjson t "$tid" '.transactions[] | select(.tid == $t) | .last_block' <<<"$json")
	damage "$img" "$d/bad.img" "$jblk" 100
	cp --sparse=always "$d/bad.img" "$d/e2.img"
	e2fsck -y -E journal_only "$d/e2.img" >/dev/null 2>&1 || true
	run ext4da-replay --output "$d/ours.img" "$d/bad.img"
	[ "$status" -eq 4 ] ||
		fail "exit $status, not 4, though transactions $((tid + 1)) and $((tid + 2)) were committed and not replayed: $output"
	run imgcmp "$d/e2.img" "$d/ours.img"
	assert_success
}

@test "async commit with checksum v1, a committed block lost: e2fsck's image, exit 4, honest --list" {
	# Checksum v1 sums a transaction's blocks into its commit block: a lost
	# block fails that sum, and the next commit block found makes it a
	# failed commit (j_failed_commit): recovery stops before it, e2fsck
	# reports "Journal transaction N was corrupt", and the filesystem gets
	# its error flag.  --list must not call the next transaction "torn"
	# (no commit block): its commit block is there.
	local img="$IMAGES/async_commit_v1-s1303.img" d json tid jblk
	d=$(scratch)
	json=$(ext4da-replay --list -v --json "$img")
	tid=$(jq '[.transactions[] | select(.replayable and (.tags | length) > 0)] | .[length - 3].tid' <<<"$json")
	jblk=$(jq --argjson t "$tid" '.transactions[] | select(.tid == $t) | .tags[0].log_block' <<<"$json")
	damage "$img" "$d/lost.img" "$jblk" zero
	cp --sparse=always "$d/lost.img" "$d/e2.img"
	run e2fsck -y -E journal_only "$d/e2.img"
	assert_output --partial "Journal transaction $tid was corrupt"
	run ext4da-replay --output "$d/ours.img" "$d/lost.img"
	[ "$status" -eq 4 ] || fail "exit $status, not 4: $output"
	run imgcmp "$d/e2.img" "$d/ours.img"
	assert_success
	run ext4da-replay --list --json "$d/lost.img"
	jq -e --argjson t "$tid" '.transactions[] | select(.tid == $t) | .state == "corrupt"' <<<"$output" >/dev/null ||
		fail "transaction $tid is not listed as corrupt: $output"
	jq -e --argjson t $((tid + 1)) '.transactions[] | select(.tid == $t) | .state != "torn"' <<<"$output" >/dev/null ||
		fail "transaction $((tid + 1)) has a commit block and is listed as torn (no commit block)"
}

# --- the documented e2fsck 1.47.0 differences ---------------------------------

@test "documented: e2fsck 1.47.0 fails on a stale fast-commit head; the kernel ignores it" {
	local img="$IMAGES/fast_commit_syncfs-s904.img" d json head
	d=$(scratch)
	json=$(ext4da-replay --list --json "$img")
	[ "$(jfield "$json" .fast_commit_present)" = false ]
	# The area's first block is a head tag (9) for an older tid.
	local bs blocks fcb dev
	bs=$(jfield "$json" .journal.blocksize)
	blocks=$(jfield "$json" .journal.blocks)
	fcb=$(jfield "$json" .journal.fast_commit_blocks)
	dev=$(jmap "$img" $((blocks - fcb + 1)))
	head=$(od -An -tu2 -j $((dev * bs)) -N2 "$img" | tr -d ' ')
	[ "$head" = 9 ] || fail "the fast-commit area does not start with a head tag ($head)"
	local tid
	tid=$(od -An -tu4 -j $((dev * bs + 8)) -N4 "$img" | tr -d ' ')
	[ "$tid" -lt "$(jfield "$json" .end_tid)" ] || fail "the head (tid $tid) is not stale"
	# e2fsck: "Invalid argument", nothing replayed, not clean.
	cp --sparse=always "$img" "$d/e2.img"
	run e2fsck -y -E journal_only "$d/e2.img"
	assert_output --partial "Invalid argument while recovering journal"
	run ext4da-replay --output "$d/ours.img" "$img"
	assert_success
	run imgcmp "$d/e2.img" "$d/ours.img"
	assert_failure
}

@test "documented: e2fsck 1.47.0 wraps a fast-commit journal's log at the wrong block" {
	local img="$IMAGES/fast_commit_wrap-s1601.img" d json bs blocks fcb jlast
	d=$(scratch)
	json=$(ext4da-replay --list --json "$img")
	bs=$(jfield "$json" .journal.blocksize)
	blocks=$(jfield "$json" .journal.blocks)
	fcb=$(jfield "$json" .journal.fast_commit_blocks)
	jlast=$((blocks - fcb))
	# The kernel wrote the log wrapping at j_last: the first transaction
	# past the wrap either runs from below j_last to the start of the log,
	# or starts at the start of the log.
	local wrapping
	wrapping=$(jq -r '.journal.start as $s | [.transactions[] |
		select(.last_block < .first_block or .first_block < $s)][0].tid // empty' <<<"$json")
	[ -n "$wrapping" ] || fail "the log does not wrap"
	jq -e --argjson t "$wrapping" --argjson l "$jlast" --argjson f "$(jfield "$json" .journal.first)" \
		'.transactions[] | select(.tid == $t) |
		 (.last_block < .first_block and .first_block < $l) or .first_block == $f' <<<"$json" >/dev/null ||
		fail "transaction $wrapping does not wrap at j_last=$jlast"
	[ "$wrapping" -gt "$(jfield "$json" .journal.sequence)" ] ||
		fail "the log wraps in its first transaction"
	# e2fsck with only the stale area cleared ends the log at the wrap: it
	# equals ext4da-replay --upto the transaction before, and not a full
	# replay.
	cp --sparse=always "$img" "$d/e2.img"
	local dev
	for dev in $(jmap "$img" $(seq "$jlast" $((blocks - 1)))); do
		dd if=/dev/zero of="$d/e2.img" bs="$bs" seek="$dev" count=1 conv=notrunc status=none
	done
	e2fsck -y -E journal_only "$d/e2.img" >/dev/null 2>&1 || true
	for dev in $(jmap "$img" $(seq "$jlast" $((blocks - 1)))); do
		copy_block "$img" "$d/e2.img" "$dev" "$bs"
	done
	run ext4da-replay --upto $((wrapping - 1)) --output "$d/upto.img" "$img"
	assert_success
	run imgcmp "$d/e2.img" "$d/upto.img"
	assert_success
	run ext4da-replay --output "$d/ours.img" "$img"
	assert_success
	run imgcmp "$d/e2.img" "$d/ours.img"
	assert_failure
}

@test "documented: e2fsck 1.47.0 writes the primary descriptors into meta_bg backups" {
	local img="$IMAGES/meta_bg-s1701.img" d bs bk pr ranges
	d=$(scratch)
	bs=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Block size: *//p')
	cp --sparse=always "$img" "$d/e2.img"
	e2fsck -y -E journal_only "$d/e2.img" >/dev/null 2>&1 || true
	run ext4da-replay --output "$d/ours.img" "$img"
	assert_success
	run imgcmp "$d/e2.img" "$d/ours.img"
	assert_failure
	# Every differing byte is in a backup descriptor block, which holds the
	# primary copy in e2fsck's result and the input's in ours.
	ranges=$(sed -n 's/^differ: bytes \([0-9]*\)-\([0-9]*\).*/\1 \2/p' <<<"$output")
	local a b blk ok
	while read -r a b; do
		for blk in $(seq $((a / bs)) $((b / bs))); do
			ok=0
			while read -r bk pr; do
				[ "$blk" = "$bk" ] && ok=1
			done < <(metabg_backups "$img")
			[ $ok = 1 ] || fail "block $blk differs and is no meta_bg backup descriptor"
		done
	done <<<"$ranges"
	while read -r bk pr; do
		cmp -s <(dd if="$d/e2.img" bs="$bs" skip="$bk" count=1 status=none) \
			<(dd if="$d/e2.img" bs="$bs" skip="$pr" count=1 status=none)
		cmp -s <(dd if="$d/ours.img" bs="$bs" skip="$bk" count=1 status=none) \
			<(dd if="$img" bs="$bs" skip="$bk" count=1 status=none)
	done < <(metabg_backups "$img")
}
