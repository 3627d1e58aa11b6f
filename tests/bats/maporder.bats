#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# tests/tools/maporder, the map-after-data checker of the deferred_map
# proof: on a log whose disk wrote every data block before the journal
# commit that maps it, no flush state maps a block before its data; on a
# log that held a file's data back past its commit (a disk that reordered
# them), the states between commit and data are found, naming the file's
# inode.  Logs from tests/fixtures/mkcrashlog (loop mounts: root).

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
	export GOOD="$BATS_FILE_TMPDIR/good" HELD="$BATS_FILE_TMPDIR/held"
	"$SRCDIR/tests/fixtures/mkcrashlog" "$GOOD" 3 >/dev/null
	DEFER_FILE=d0/f3 "$SRCDIR/tests/fixtures/mkcrashlog" "$HELD" 3 >/dev/null
}

@test "data before its map: no violation, exit 0" {
	run --separate-stderr "$BUILDDIR/tests/tools/maporder" "$GOOD/base.img" "$GOOD/log.img"
	assert_success
	assert_output --regexp '^states 3, new-mappings [1-9][0-9]*, violations 0, unwritten 0$'
}

@test "a commit before the data it maps: the file's blocks, exit 4" {
	local ino
	ino=$(debugfs -R "stat /d0/f3" "$HELD/final.img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
	[ -n "$ino" ]
	run --separate-stderr "$BUILDDIR/tests/tools/maporder" "$HELD/base.img" "$HELD/log.img"
	assert_failure 4
	assert_line --regexp "^state at entry [0-9]+: inode $ino logical 0 block [0-9]+ mapped before its data \(never written\)$"
	assert_line --regexp '^states 4, new-mappings [0-9]+, violations [1-9][0-9]*, unwritten 0$'
	# Only the held-back file is named.
	[ -z "$(grep '^state at' <<<"$output" | grep -v "inode $ino ")" ]
}

@test "bad input: exit 8 naming the input; usage: exit 16" {
	run --separate-stderr "$BUILDDIR/tests/tools/maporder" "$GOOD/base.img" /nonexistent
	assert_failure 8
	[[ $stderr == "maporder: /nonexistent: "* ]]
	run --separate-stderr "$BUILDDIR/tests/tools/maporder" "$GOOD/base.img"
	assert_failure 16
}
