#!/usr/bin/env bats
# needs root: most of its images are populated through loop mounts
# ext4da-check on legal but unusual layouts (tests/fixtures/mklegal): each
# image is clean for e2fsck -fn and must be clean for ext4da-check: exit 0,
# no error finding, the image unchanged.  And an INODE_UNINIT group whose
# descriptor checksum verifies is not read, as e2fsck does not read it.

load helpers

MKLEGAL="$SRCDIR/tests/fixtures/mklegal"

# Others rebuild the tree while suites run: wait out a binary being relinked.
ext4da-check() {
	local _
	for _ in $(seq 1 40); do
		[ -x "$BUILDDIR/ext4da-check" ] && break
		sleep 0.25
	done
	command ext4da-check "$@"
}

# mk SCENARIO: build $IMG and import the fixture's KEY=VALUE facts.
mk() {
	local facts
	IMG="$(scratch)/$1.img"
	facts=$("$MKLEGAL" "$1" "$IMG") || fail "mklegal $1 failed"
	eval "$facts"
}

# clean_both: e2fsck -fn exits 0 (unless told why not), and ext4da-check
# --json exits 0 with no error finding and leaves the image as it was.
# Sets $J to the JSON report.
clean_both() {
	local before
	if [ "${1:-}" != no-e2fsck ]; then
		run e2fsck -fn "$IMG"
		assert_success
	fi
	before=$(image_sha "$IMG")
	run ext4da-check --json "$IMG"
	J=$output
	assert_success
	[ "$(image_sha "$IMG")" = "$before" ] || fail "ext4da-check changed $IMG"
	jqt '.exit == 0 and ([.findings[] | select(.severity == "error")] | length) == 0'
	jqt '.counts.LEAKED == 0 and .counts.UNMARKED == 0 and .counts.MULTIPLY_OWNED == 0'
}

# The image's sha256; for an image past 4 GiB (sparse: reading its holes
# would take an hour) that of its data regions, their offsets and its size.
# (Which regions the host filesystem reports as data may change as it
# writes back, so small images are hashed whole.)
image_sha() {
	if [ "$(stat -c %s "$1")" -le $((4 << 30)) ]; then
		sha "$1"
		return
	fi
	python3 - "$1" <<-'EOF'
	import hashlib, os, sys
	h = hashlib.sha256()
	fd = os.open(sys.argv[1], os.O_RDONLY)
	end = os.fstat(fd).st_size
	off = 0
	while off < end:
	    try:
	        off = os.lseek(fd, off, os.SEEK_DATA)
	    except OSError:
	        break
	    hole = os.lseek(fd, off, os.SEEK_HOLE)
	    h.update(b"%d:" % off)
	    while off < hole:
	        chunk = os.pread(fd, min(1 << 20, hole - off), off)
	        h.update(chunk)
	        off += len(chunk)
	print(h.hexdigest(), end)
	EOF
}

jqt() {
	local filter=$1; shift
	if ! jq -e "$@" "$filter" <<<"$J" >/dev/null; then
		echo "false: $filter $*" >&2
		echo "$J" >&2
		return 1
	fi
}

@test "legal: shared_blocks: blocks shared by two files are not MULTIPLY_OWNED" {
	mk shared-blocks
	clean_both
	# the shared blocks are owned (once), not free
	jqt '.stats.leaked_blocks == 0 and .stats.unmarked_blocks == 0'
}

@test "legal: without shared_blocks the same sharing is MULTIPLY_OWNED" {
	mk shared-blocks
	debugfs -w -R "feature -shared_blocks" "$IMG" >/dev/null 2>&1
	run ext4da-check --json "$IMG"
	assert_failure 4
	J=$output
	jqt '.counts.MULTIPLY_OWNED > 0'
}

@test "legal: fs-verity: the Merkle tree past i_size is not PAST_EOF" {
	require_root
	mk verity
	clean_both
	jqt '.counts.PAST_EOF == 0'
	# and the tree's blocks are owned: past i_size, mapped by /v
	blk=$(debugfs -R "bmap <$VE_INO> 80" "$IMG" 2>/dev/null)
	[ "${blk:-0}" -gt 0 ] || fail "/v's logical block 80 is not mapped"
}

@test "legal: the bad blocks inode listing a backup superblock is not MULTIPLY_OWNED" {
	mk badblocks-meta
	clean_both
}

@test "legal: i_file_acl without ext_attr is ignored: its block stays free, not UNMARKED" {
	# e2fsck -fn disagrees on the exit status only: its pass 2 offers to
	# zero the field ("i_file_acl ... should be zero") and exits 4; it too
	# leaves the block free (no block bitmap difference).
	mk acl-no-xattr
	run e2fsck -fn "$IMG"
	assert_failure 4
	assert_output --partial "i_file_acl for inode $AX_INO"
	refute_output --partial "Block bitmap differences"
	clean_both no-e2fsck
	run debugfs -R "testb $AX_BLOCK" "$IMG"
	assert_output --partial "not in use"
}

@test "legal: an EA inode (ea_inode) owns its value's blocks" {
	require_root
	mk ea-inode
	clean_both
	jqt '.stats.inodes_in_use >= 7'
}

@test "legal: orphan_file: the orphan file is not an orphan and owns its blocks" {
	require_root
	mk orphan-file
	clean_both
	jqt '.counts.ORPHAN == 0'
}

@test "legal: quota inodes (user, group, project) own their blocks" {
	mk quota
	clean_both
}

@test "legal: huge_file: a 2 TiB file whose i_blocks needs i_blocks_hi" {
	require_root
	mk huge-file
	clean_both
	# fallocated: unwritten inside i_size, information only
	jqt '.counts.UNCONVERTED == 1 and .stats.unconverted_files == 1'
}

@test "legal: dir_nlink: a directory with 65,001 subdirectories (links 1)" {
	require_root
	mk dir-nlink
	clean_both
	jqt '.stats.directories >= 65003'
}

@test "scale: INODE_UNINIT groups with verifying checksums are skipped, tables unread" {
	require_root
	mk lazy
	clean_both
	jqt '.stats.uninit_groups_skipped == $n and .stats.uninit_itable_blocks_read == 0' \
		--argjson n "$LZ_UNINIT"
}

@test "scale: an INODE_UNINIT flag whose checksum does not verify is not trusted" {
	require_root
	mk lazy
	# group 5's flags kept, its checksum broken: the table is read
	debugfs -w -R "set_bg 5 checksum 0x1234" "$IMG" >/dev/null 2>&1
	dumpe2fs "$IMG" 2>/dev/null | grep -A1 '^Group 5:' | grep -q INODE_UNINIT ||
		fail "group 5 is not INODE_UNINIT"
	run ext4da-check --json "$IMG"
	J=$output
	jqt '.stats.uninit_groups_skipped == $n - 1 and .stats.uninit_itable_blocks_read > 0' \
		--argjson n "$LZ_UNINIT"
}
