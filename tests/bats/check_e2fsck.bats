#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-check's LEAKED and UNMARKED blocks against e2fsck (issue point 4).
# On real crashed images and on fault-injected ones, the blocks ext4da-check
# calls LEAKED must be exactly e2fsck's "-" block bitmap differences (set in
# the bitmap, owned by nothing) and UNMARKED exactly its "+" differences
# (owned, free in the bitmap), e2fsck run as `e2fsck -fn` after
# `e2fsck -E journal_only` on a copy.  In particular: silent when e2fsck is.
#
# bigalloc: e2fsck's pass 5 walks the bitmap one cluster at a time and names
# each cluster by its FIRST block; a run of clusters is "-(a--b)" where b is
# the first block of the LAST cluster.  ext4da-check names the whole block
# range of those clusters.  So e2fsck's -(a--b) is ext4da-check's block a,
# blocks b - a + CLUSTER_RATIO; with 1:1 clusters this is the plain range.

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

cluster_ratio() {
	local bs cs
	bs=$(dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Block size: *//p')
	cs=$(dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Cluster size: *//p')
	echo $(( ${cs:-$bs} / bs ))
}

# e2fsck_blocks IMG: "L blk" / "U blk" lines, one per block, from e2fsck's
# Block bitmap differences (clusters expanded to all their blocks).
e2fsck_blocks() {
	local img=$1 copy ratio
	copy="$(scratch)/e2fsck.$(basename "$img")"
	ratio=$(cluster_ratio "$img")
	e2fsck_replay "$img" "$copy"
	e2fsck -fn "$copy" >"$copy.log" 2>&1 || true
	awk -v r="$ratio" '
		/Block bitmap differences:/ { on = 1; sub(/.*Block bitmap differences:/, "") }
		on {
			for (i = 1; i <= NF; i++) {
				t = $i
				if (t ~ /^[-+]\(?[0-9]+(--[0-9]+)?\)?$/) {
					kind = substr(t, 1, 1) == "-" ? "L" : "U"
					gsub(/[-+()]/, " ", t); n = split(t, ab, " ")
					a = ab[1]; b = n > 1 ? ab[2] : ab[1]
					for (x = a; x <= b + r - 1; x++) print kind, x
				}
			}
			if ($0 ~ /Fix\?/) on = 0
		}' "$copy.log" | sort -u
	rm -f "$copy"
}

# ours_blocks IMG: the same from ext4da-check --json (image unchanged).
ours_blocks() {
	local img=$1 before j
	before=$(sha "$img")
	j=$(ext4da-check --json "$img") || true
	[ "$(sha "$img")" = "$before" ] || { echo "ext4da-check changed $img" >&2; return 1; }
	jq -r '.findings[] | select(.code == "LEAKED" or .code == "UNMARKED") |
		(if .code == "LEAKED" then "L" else "U" end) as $k |
		range(.block; .block + .blocks) | "\($k) \(.)"' <<<"$j" | sort -u
}

# same_as_e2fsck IMG [expect]: the two block sets are identical; with
# "silent", both are empty; with "noisy", both are not.
same_as_e2fsck() {
	local img=$1 expect=${2:-} theirs ours
	theirs=$(e2fsck_blocks "$img")
	ours=$(ours_blocks "$img")
	if [ "$theirs" != "$ours" ]; then
		echo "e2fsck (<) and ext4da-check (>) disagree on $img:" >&2
		diff <(echo "$theirs") <(echo "$ours") | head -40 >&2
		grep -A1 'Block bitmap differences' "$(scratch)/e2fsck.$(basename "$img").log" >&2 || true
		return 1
	fi
	case $expect in
	silent) [ -z "$theirs" ] || { echo "e2fsck is not silent: $theirs" | head -5 >&2; return 1; } ;;
	noisy) [ -n "$theirs" ] || { echo "no differences at all on $img" >&2; return 1; } ;;
	esac
}

crashed() {
	local seed=$1; shift
	IMG="$(scratch)/crashed-$seed.img"
	"$MKCRASHED" "$IMG" "$seed" "$*"
}

#
# Real crashed images: both silent
#

@test "crashed images (1k blocks, seeds 1-3): silent like e2fsck" {
	require_root
	for seed in 1 2 3; do
		crashed $seed
		same_as_e2fsck "$IMG" silent
	done
}

@test "crashed image (4k blocks): silent like e2fsck" {
	require_root
	crashed 4 -b 4096
	same_as_e2fsck "$IMG" silent
}

@test "crashed image (bigalloc, 1k blocks, 16k clusters): silent like e2fsck" {
	require_root
	crashed 5 -b 1024 -O bigalloc -C 16384
	same_as_e2fsck "$IMG" silent
}

@test "crashed image (bigalloc, 4k blocks, 64k clusters): silent like e2fsck" {
	require_root
	crashed 6 -b 4096 -O bigalloc
	same_as_e2fsck "$IMG" silent
}

@test "crashed image (indirect-mapped, ^extent): silent like e2fsck" {
	require_root
	crashed 7 -O ^extent,^64bit
	same_as_e2fsck "$IMG" silent
}

#
# Crashed, then faulted in a bitmap the journal leaves alone
#

@test "crashed + leaked blocks (1k blocks): same blocks as e2fsck after its replay" {
	require_root
	for seed in 1 2; do
		IMG="$(scratch)/cf$seed.img"
		"$MKFAULTY" crashed-faulty "$IMG" $seed
		same_as_e2fsck "$IMG" noisy
	done
}

@test "crashed + leaked blocks (bigalloc): same clusters as e2fsck after its replay" {
	# 2k clusters of 1k blocks: four groups, so one bitmap the journal
	# leaves alone (with 16k clusters the image is a single group).
	require_root
	IMG="$(scratch)/cfb.img"
	"$MKFAULTY" crashed-faulty "$IMG" 3 "-b 1024 -O bigalloc -C 2048"
	same_as_e2fsck "$IMG" noisy
}

@test "bigalloc: e2fsck's -(a--b) is ext4da-check's blocks a to b + ratio - 1" {
	IMG="$(scratch)/bg.img"
	"$MKFAULTY" fresh "$IMG" "-b 1024 -O bigalloc -C 16384"
	# four whole clusters leaked; part of one cluster (the rest follows it)
	debugfs -w -R "setb 40000 64" "$IMG" 2>/dev/null
	debugfs -w -R "setb 50005 3" "$IMG" 2>/dev/null
	run e2fsck -fn "$IMG"
	assert_output --partial "Block bitmap differences:  -(40000--40048) -50000"
	run ext4da-check --json "$IMG"
	assert_failure 4
	jq -e '[.findings[] | select(.code == "LEAKED") | [.block, .blocks]] == [[40000, 64], [50000, 16]]' \
		<<<"$output" >/dev/null || fail "$output"
	same_as_e2fsck "$IMG" noisy
}

#
# Fault-injected: random setb / freeb, blocks shared between files
#

@test "fault-injected (1k blocks, seeds 1-4): LEAKED and UNMARKED are e2fsck's differences" {
	require_root
	for seed in 1 2 3 4; do
		IMG="$(scratch)/r$seed.img"
		"$MKFAULTY" random "$IMG" $seed "-b 1024"
		same_as_e2fsck "$IMG" noisy
	done
}

@test "fault-injected (4k blocks): LEAKED and UNMARKED are e2fsck's differences" {
	require_root
	for seed in 11 12; do
		IMG="$(scratch)/r$seed.img"
		"$MKFAULTY" random "$IMG" $seed "-b 4096"
		same_as_e2fsck "$IMG" noisy
	done
}

@test "fault-injected (bigalloc, 1k blocks, 16k clusters): e2fsck's clusters" {
	require_root
	for seed in 21 22; do
		IMG="$(scratch)/r$seed.img"
		"$MKFAULTY" random "$IMG" $seed "-b 1024 -O bigalloc -C 16384"
		same_as_e2fsck "$IMG" noisy
	done
}

@test "fault-injected (indirect-mapped, ^extent): LEAKED and UNMARKED are e2fsck's" {
	require_root
	for seed in 31 32; do
		IMG="$(scratch)/r$seed.img"
		"$MKFAULTY" random "$IMG" $seed "-b 1024 -O ^extent,^64bit"
		same_as_e2fsck "$IMG" noisy
	done
}

@test "fault-injected (meta_bg, ^flex_bg): LEAKED and UNMARKED are e2fsck's" {
	require_root
	IMG="$(scratch)/r41.img"
	"$MKFAULTY" random "$IMG" 41 "-b 1024 -O meta_bg,^resize_inode,^flex_bg"
	same_as_e2fsck "$IMG" noisy
}

#
# The scripted single-fault images
#

@test "scripted images: leaked, unmarked, shared, span, beyond agree with e2fsck" {
	for s in leaked unmarked shared shared-meta shared-ind leaked-span beyond; do
		IMG="$(scratch)/$s.img"
		"$MKFAULTY" $s "$IMG" >/dev/null
		case $s in
		shared | shared-meta | shared-ind | beyond) same_as_e2fsck "$IMG" silent ;;
		*) same_as_e2fsck "$IMG" noisy ;;
		esac
	done
}

@test "clean images (mke2fs -d, written, 64k blocks): silent like e2fsck" {
	require_root
	IMG="$(scratch)/w.img"
	"$MKFAULTY" written "$IMG" "-b 1024"
	same_as_e2fsck "$IMG" silent
	IMG="$(scratch)/p.img"
	"$MKFAULTY" populated "$IMG" "-b 65536" 128M
	same_as_e2fsck "$IMG" silent
}

@test "mkfs -l (a bad blocks list): silent like e2fsck" {
	IMG="$(scratch)/bb.img"
	"$MKFAULTY" badblocks "$IMG" >/dev/null
	same_as_e2fsck "$IMG" silent
}
