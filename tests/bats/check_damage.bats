#!/usr/bin/env bats
# ext4da-check on damaged filesystems (issue 8).  Each image of
# tests/fixtures/mkdamaged carries one kind of damage, made with debugfs on
# a small filesystem with real files.  For each: the expected finding and
# exit status; the image unchanged without --repair; --repair refuses
# (exit 4, one line on stderr, nothing written, no undo file), and every
# block an inode mapped before the damage is still in use afterwards; and
# e2fsck -fn, where it agrees: the blocks e2fsck would free ("-" bitmap
# differences) are exactly our OWNER_UNKNOWN blocks, never LEAKED ones.

bats_require_minimum_version 1.5.0
load helpers

MKDAMAGED="$SRCDIR/tests/fixtures/mkdamaged"

# Others rebuild the tree while suites run: wait out a binary being relinked.
ext4da-check() {
	local _
	for _ in $(seq 1 40); do
		[ -x "$BUILDDIR/ext4da-check" ] && break
		sleep 0.25
	done
	command ext4da-check "$@"
}

# mk SCENARIO: build $IMG (and $IMG.mapped), import the fixture's facts.
mk() {
	local facts
	IMG="$(scratch)/$1.img"
	facts=$("$MKDAMAGED" "$1" "$IMG") || fail "mkdamaged $1 failed"
	eval "$facts"
	ORIG=$(sha "$IMG")
	[ -s "$IMG.mapped" ] || fail "no list of mapped blocks"
}

# check [OPTIONS...]: ext4da-check --json on $IMG; $status, $J.  The image
# must not change by a byte.
check() {
	run ext4da-check --json "$@" "$IMG"
	J=$output
	[ "$(sha "$IMG")" = "$ORIG" ] || fail "ext4da-check $* changed $IMG"
	jq -e '.schema == "ext4da-check/1"' <<<"$J" >/dev/null || fail "not ext4da-check/1 JSON: $J"
}

jqt() {
	local filter=$1; shift
	if ! jq -e "$@" "$filter" <<<"$J" >/dev/null; then
		echo "false: $filter $*" >&2
		echo "$J" >&2
		return 1
	fi
}

# has WANT: some finding has every field of WANT (strings: substrings).
has() {
	jqt 'any(.findings[]; . as $x | $w | to_entries | all(
		.key as $k | .value as $v |
		if ($v | type) == "string" then (($x[$k] // "") | tostring | contains($v))
		else $x[$k] == $v end))' --argjson w "$1"
}

no_leaked() {
	jqt '.counts.LEAKED == 0 and .stats.leaked_blocks == 0'
}

# still_in_use [DEBUGFS_OPTS]: every block of $IMG.mapped is in use in the
# block bitmap.
still_in_use() {
	local want got
	want=$(wc -l <"$IMG.mapped")
	# shellcheck disable=SC2068
	got=$(awk '{ print "testb " $2 }' "$IMG.mapped" | debugfs $@ -f - "$IMG" 2>/dev/null |
	      grep -c "marked in use" || true)
	[ "$got" -eq "$want" ] || fail "only $got of the $want mapped blocks are still in use"
}

# refuses_repair: --repair writes nothing, says why in one line, exits 4.
refuses_repair() {
	run --separate-stderr ext4da-check --repair "$IMG"
	[ "$status" -eq 4 ] || fail "--repair exit $status: $stderr"
	[ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "not one line on stderr: $stderr"
	[[ $stderr == "ext4da-check: $IMG: not repairing: "* ]] || fail "stderr: $stderr"
	[ "$(sha "$IMG")" = "$ORIG" ] || fail "--repair wrote to $IMG"
	[ ! -e "$IMG.ext4da-undo" ] || fail "--repair left an undo file"
	still_in_use
}

# e2fsck_frees: blocks e2fsck -fn would free (its "-" bitmap differences).
e2fsck_frees() {
	e2fsck -fn "$IMG" 2>&1 | awk '
		/Block bitmap differences:/ { on = 1; sub(/.*Block bitmap differences:/, "") }
		on {
			for (i = 1; i <= NF; i++) {
				t = $i
				if (t ~ /^-\(?[0-9]+(--[0-9]+)?\)?$/) {
					gsub(/[-()]/, " ", t); n = split(t, ab, " ")
					for (x = ab[1]; x <= (n > 1 ? ab[2] : ab[1]); x++) print x
				}
			}
			if ($0 ~ /Fix\?/) on = 0
		}' | sort -n
}

ours_unknown() {
	jq -r '.findings[] | select(.code == "OWNER_UNKNOWN") | range(.block; .block + .blocks)' \
		<<<"$J" | sort -n
}

# frees_like_e2fsck: e2fsck exits 4, and what it would free is exactly
# what we call OWNER_UNKNOWN (and nothing is LEAKED).
frees_like_e2fsck() {
	local theirs ours
	run e2fsck -fn "$IMG"
	[ "$status" -eq 4 ] || fail "e2fsck -fn exit $status: $output"
	theirs=$(e2fsck_frees)
	ours=$(ours_unknown)
	[ -n "$theirs" ] || fail "e2fsck would free nothing"
	if [ "$theirs" != "$ours" ]; then
		diff <(echo "$theirs") <(echo "$ours") | head -20 >&2
		fail "e2fsck (<) and OWNER_UNKNOWN (>) differ"
	fi
}

@test "the undamaged bases are clean, and every mapped block is in use" {
	for s in base base-ind; do
		mk "$s"
		run e2fsck -fn "$IMG"
		assert_success
		check
		assert_success
		jqt '.findings == [] and .stats.inodes_in_use >= 20'
		still_in_use
	done
}

@test "extent leaf with a bad header: CORRUPT for its range, the other leaf still owned" {
	mk leaf-header
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"inode\":$INO,\"logical_block\":$LBLK,\"logical_blocks\":$LBLOCKS,\"detail\":\"extent header magic\"}"
	jqt '[.findings[] | select(.severity == "error") | .code] | unique == ["CORRUPT"]'
	no_leaked
	# its entries survive the header: they may well be the file's
	has "{\"code\":\"OWNER_UNKNOWN\",\"severity\":\"warning\",\"inode\":$INO}"
	# e2fsck would free the first leaf's blocks (and no more): the second
	# leaf is walked and owned
	frees_like_e2fsck
	refuses_repair
}

@test "one bad entry in an extent leaf: CORRUPT for that entry, the rest of the leaf owned" {
	mk leaf-entry
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"inode\":$INO,\"block\":4294967295,\"logical_block\":$LBLK,\"logical_blocks\":1}"
	jqt '.counts.CORRUPT == 1'
	no_leaked
	# the block the entry named before: in use, owner unknown
	jqt "[.findings[] | select(.code == \"OWNER_UNKNOWN\") | [.block, .blocks]] == [[$PBLK, 1]]"
	frees_like_e2fsck
	refuses_repair
}

@test "an extent index entry beyond the device: CORRUPT, the next leaf still walked" {
	mk index-beyond
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"inode\":$INO,\"block\":50000000,\"logical_block\":$LBLK}"
	jqt '.counts.CORRUPT == 1'
	no_leaked
	# the unreachable leaf and its blocks: in use, owner unknown
	jqt "any(.findings[]; .code == \"OWNER_UNKNOWN\" and .block <= $LEAF0 and .block + .blocks > $LEAF0)"
	jqt "all(.findings[]; .block == null or .block > $LEAF1 or .block + .blocks <= $LEAF1)"
	frees_like_e2fsck
	refuses_repair
}

@test "a zeroed extent root in the inode: CORRUPT, its surviving extent owner unknown" {
	mk root-header
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"inode\":$INO,\"logical_block\":0,\"logical_blocks\":4294967296,\"detail\":\"bad extent tree root\"}"
	jqt '.counts.CORRUPT == 1'
	no_leaked
	has "{\"code\":\"OWNER_UNKNOWN\",\"inode\":$INO,\"blocks\":60,\"detail\":\"inode $INO damaged\"}"
	frees_like_e2fsck
	refuses_repair
}

@test "block map: an indirect block pointer beyond the device, the double indirect tree still owned" {
	mk ind-beyond
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"inode\":$INO,\"logical_block\":$LBLK,\"logical_blocks\":$LBLOCKS,\"detail\":\"indirect block 99999999\"}"
	jqt '.counts.CORRUPT == 1'
	no_leaked
	# e2fsck frees the lost indirect block and the 256 blocks it mapped
	frees_like_e2fsck
	jqt '.stats.unknown_blocks == 257'
	refuses_repair
}

@test "block map: half an indirect block of garbage, one finding, the other half owned" {
	mk ind-garbage
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"inode\":$INO,\"logical_block\":$LBLK,\"logical_blocks\":$LBLOCKS,\"detail\":\"128 block pointer(s)\"}"
	jqt '.counts.CORRUPT == 1'
	no_leaked
	frees_like_e2fsck
	refuses_repair
}

# Contradictory inodes.  e2fsck disagrees on purpose in each: it reads the
# inode one way, and would clear it or its map and free its blocks; we keep
# them owned under the reading that shows them.

@test "extent header in a block-mapped inode: CORRUPT, its extents owned" {
	mk extent-flag-clear
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"inode\":$INO,\"detail\":\"extent header in a block-mapped inode\"}"
	jqt '.counts == (.counts | map_values(0)) + {"CORRUPT": 1}'
	# e2fsck -n reads the extent root as a block map: an illegal block and
	# blocks "shared" with the resize inode; it would set EXTENTS_FL again
	run e2fsck -fn "$IMG"
	assert_failure 4
	assert_output --partial "missing EXTENT_FL, but is in extents format"
	refuses_repair
}

@test "the root directory's mode made a socket: CORRUPT, its blocks stay owned" {
	mk socket-root
	check
	assert_failure 4
	has '{"code":"CORRUPT","inode":2,"detail":"the mode says a socket"}'
	no_leaked
	jqt '.counts.OWNER_UNKNOWN == 0'
	# e2fsck sees the same contradiction (and can fix it only by guessing)
	run e2fsck -fn "$IMG"
	[ "$status" -ge 4 ]
	assert_output --partial "Inode 2 is a socket but it looks like it is really a directory"
	refuses_repair
}

@test "inline data flag next to an extent tree: CORRUPT, the extents owned" {
	mk inline-extents
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"inode\":$INO,\"detail\":\"inline data flag together with an extent tree\"}"
	jqt '.counts == (.counts | map_values(0)) + {"CORRUPT": 1}'
	# e2fsck would clear the inode and free its 30 blocks; we keep them
	run e2fsck -fn "$IMG"
	assert_failure 4
	assert_output --partial "has extent header but inline data flag is set"
	refuses_repair
}

@test "a bad blocks list naming an inode table block: CORRUPT, its inodes read anyway" {
	mk base
	check
	local base_inodes
	base_inodes=$(jq .stats.inodes_in_use <<<"$J")
	mk badblocks-itable
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"group\":0,\"block\":$ITABLE,\"inode\":1,\"detail\":\"bad blocks list\"}"
	# not "0 inodes in use": every inode was read, the root directory too
	jqt ".stats.inodes_in_use == $base_inodes"
	no_leaked
	jqt '.counts.OWNER_UNKNOWN == 0'
	# the list claims an inode table block: metadata, also claimed by inode 1
	has "{\"code\":\"MULTIPLY_OWNED\",\"block\":$ITABLE,\"other_inode\":1}"
	# e2fsck cannot check it at all (the root inode is in a "bad" block)
	run e2fsck -fn "$IMG"
	[ "$status" -ge 8 ]
	assert_output --partial "aborting"
	refuses_repair
}

@test "an inode table block of garbage: CORRUPT inodes, the lost inodes' blocks not LEAKED" {
	mk itable-garbage
	check
	assert_failure 4
	for i in 1 2 3 4; do
		has "{\"code\":\"CORRUPT\",\"inode\":$i,\"detail\":\"invalid file type\"}"
	done
	no_leaked
	# the root directory's block is in use, and its owner cannot be read
	root_blk=$(awk '$1 == 2 { print $2; exit }' "$IMG.mapped")
	jqt "any(.findings[]; .code == \"OWNER_UNKNOWN\" and .block <= $root_blk and .block + .blocks > $root_blk)"
	run e2fsck -fn "$IMG"
	[ "$status" -ge 8 ]
	refuses_repair
}

# Audit what can be read: damage outside the inodes.

@test "a group's block bitmap location beyond the device: CORRUPT for the group, audit goes on" {
	mk bg-block-bitmap
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"group\":$GROUP,\"detail\":\"block bitmap at block 99999999\"}"
	jqt '[.findings[] | select(.severity == "error") | .code] | unique == ["CORRUPT"]'
	jqt '.stats.inodes_in_use >= 20'
	no_leaked
	# the real bitmap block, which nothing points at now: owner unknown
	jqt '.counts.OWNER_UNKNOWN == 1'
	# e2fsck falls back to the backup descriptors instead (and then finds
	# the uninitialised group 1 of the backups): both say "errors"
	run e2fsck -fn "$IMG"
	assert_failure 4
	assert_output --partial "bad block for block bitmap"
	refuses_repair
}

@test "a group's inode table location beyond the device: CORRUPT, its blocks owner unknown" {
	mk bg-inode-table
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"group\":$GROUP,\"detail\":\"inode table at block 99999999\"}"
	jqt '[.findings[] | select(.severity == "error") | .code] | unique == ["CORRUPT"]'
	no_leaked
	# the table the descriptor lost is in use, and nothing that can be
	# read owns it
	has '{"code":"OWNER_UNKNOWN","detail":"group descriptor of group 1 is damaged"}'
	run e2fsck -fn "$IMG"
	assert_failure 4
	assert_output --partial "bad block for inode table"
	refuses_repair
}

@test "a zeroed primary superblock: the backup is used, as e2fsck does; --superblock N" {
	mk sb-zeroed
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"severity\":\"error\",\"detail\":\"backup superblock at block $BACKUP\"}"
	# with the backup's descriptors, group 1's bitmap was never written:
	# exactly what e2fsck -fn finds (+8193-8449, group 1's free count)
	run e2fsck -fn "$IMG"
	assert_failure 4
	assert_output --partial "Superblock invalid, trying backup blocks"
	assert_output --partial "+(8193--8449)"
	jqt '[.findings[] | select(.code == "UNMARKED") | [.block, .blocks]] == [[8193, 257]]'
	has '{"code":"GROUP_COUNTS","group":1,"detail":"free blocks count is 7935, the bitmaps say 8192"}'
	# --superblock names it: an info finding, the same audit otherwise
	check --superblock "$BACKUP"
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"severity\":\"info\",\"detail\":\"superblock at block $BACKUP (--superblock)\"}"
	jqt '.counts.UNMARKED == 1'
	check -b "$BACKUP"
	assert_failure 4
	# no superblock there: one line, exit 8
	run --separate-stderr ext4da-check --superblock 12345 "$IMG"
	[ "$status" -eq 8 ] || fail "exit $status"
	[ "$stderr" = "ext4da-check: $IMG: no usable superblock at block 12345" ] || fail "$stderr"
	run --separate-stderr ext4da-check --superblock 0 "$IMG"
	[ "$status" -eq 16 ] || fail "--superblock 0: exit $status"
	run --separate-stderr ext4da-check --repair "$IMG"
	[ "$status" -eq 4 ] || fail "--repair exit $status"
	[[ $stderr == "ext4da-check: $IMG: not repairing: "*"e2fsck -b $BACKUP" ]] || fail "$stderr"
	[ "$(sha "$IMG")" = "$ORIG" ]
	[ ! -e "$IMG.ext4da-undo" ]
	# (debugfs, too, needs to be told where the superblock is)
	still_in_use -n -s "$BACKUP" -b 1024
}

# journal_damaged WHAT: the audit goes on without replay (exit 4, a
# CORRUPT finding on the journal inode), with and without --no-replay;
# e2fsck -fn cannot proceed on these (it needs -y to clear the journal).
journal_damaged() {
	check
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"inode\":8,\"detail\":\"journal damaged ($1\"}"
	jqt '.audited == "on-disk" and .replayed_transactions == 0 and .stats.inodes_in_use >= 20'
	jqt '[.findings[] | select(.severity == "error") | .code] | unique == ["CORRUPT"]'
	check --no-replay
	assert_failure 4
	has '{"code":"CORRUPT","inode":8,"detail":"journal damaged"}'
	run e2fsck -fn "$IMG"
	[ "$status" -ge 8 ] || fail "e2fsck -fn exit $status"
	assert_output --partial "Cannot proceed"
	refuses_repair
}

@test "journal superblock with a bad magic: audited without replay, CORRUPT" {
	mk journal-magic
	journal_damaged "journal superblock has a bad magic number"
}

@test "journal superblock with a bad checksum: audited without replay, CORRUPT" {
	mk journal-csum
	journal_damaged "journal superblock checksum does not match"
}

@test "journal superblock with an absurd size: audited without replay, CORRUPT" {
	mk journal-size
	journal_damaged "journal superblock says 2130710528 blocks"
}
