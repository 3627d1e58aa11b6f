#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-check, one finding class at a time (issue point 1): each scripted
# image (tests/fixtures/mkfaulty) must trigger exactly its finding, at its
# exact location (group, block range, inode, logical range), and no other
# error; clean images of many shapes must find nothing; and no check may
# change a byte of its image.

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

# The source tree of the mke2fs -d images, built once for the file.
# ... and a poisoned 32 MiB device, copied for each poisoned image.
setup_file() {
	export MKFAULTY_TREE="$BATS_FILE_TMPDIR/tree"
	export MKFAULTY_POISON="$BATS_FILE_TMPDIR/poison-32M"
	"$SRCDIR/tests/fixtures/mkfaulty" tree "$MKFAULTY_TREE"
}

# mk SCENARIO [ARGS...]: build $IMG and import the fixture's KEY=VALUE facts.
mk() {
	local scenario=$1 facts; shift
	IMG="$(scratch)/$scenario.img"
	facts=$("$MKFAULTY" "$scenario" "$IMG" "$@") || fail "mkfaulty $scenario failed"
	eval "$facts"
}

# check IMG [OPTIONS...]: ext4da-check --json; $status, $output, and $J.
# Fails the test if the image changed by a single byte.
check() {
	local img=$1 before; shift
	before=$(sha "$img")
	run ext4da-check --json "$@" "$img"
	J=$output
	[ "$(sha "$img")" = "$before" ] || fail "ext4da-check $* changed $img"
	jq -e '.schema == "ext4da-check/1"' <<<"$J" >/dev/null || fail "not ext4da-check/1 JSON: $J"
}

# jqt FILTER [jq args]: the filter must be true on $J.
jqt() {
	local filter=$1; shift
	if ! jq -e "$@" "$filter" <<<"$J" >/dev/null; then
		echo "false: $filter $*" >&2
		echo "$J" >&2
		return 1
	fi
}

# counts_are JSON: .counts are exactly these, every other code 0.
counts_are() {
	jqt '.counts == ((.counts | map_values(0)) + $want)' --argjson want "$1"
}

# no_errors_but CODE...: the error-severity findings have only these codes.
no_errors_but() {
	jqt '[.findings[] | select(.severity == "error") | .code] | unique - $ok == []' \
		--argjson ok "$(printf '%s\n' "$@" | jq -R . | jq -s .)"
}

# has WANT: some finding has every field of WANT (strings: substrings).
has() {
	jqt 'any(.findings[]; . as $x | $w | to_entries | all(
		.key as $k | .value as $v |
		if ($v | type) == "string" then (($x[$k] // "") | tostring | contains($v))
		else $x[$k] == $v end))' --argjson w "$1"
}

# exactly WANT: has WANT, and it is the only finding of its code.
exactly() {
	local code
	code=$(jq -r .code <<<"$1")
	has "$1"
	jqt '[.findings[] | select(.code == $c)] | length == 1' --arg c "$code"
}

#
# LEAKED
#

@test "LEAKED: blocks set in the bitmap, owned by nothing (two groups)" {
	mk leaked
	check "$IMG"
	assert_failure 4
	counts_are '{"LEAKED": 2}'
	has "{\"code\":\"LEAKED\",\"severity\":\"error\",\"group\":$LEAK1_GROUP,\"block\":$LEAK1_START,\"blocks\":$LEAK1_N,\"inode\":null,\"other_inode\":null,\"logical_block\":null}"
	has "{\"code\":\"LEAKED\",\"severity\":\"error\",\"group\":$LEAK2_GROUP,\"block\":$LEAK2_START,\"blocks\":$LEAK2_N,\"inode\":null,\"other_inode\":null,\"logical_block\":null}"
	jqt ".stats.leaked_blocks == $((LEAK1_N + LEAK2_N)) and .exit == 4"
}

@test "LEAKED: a run across a group boundary is one finding per group" {
	mk leaked-span
	check "$IMG"
	assert_failure 4
	counts_are '{"LEAKED": 2}'
	has "{\"code\":\"LEAKED\",\"group\":1,\"block\":$SPAN_START,\"blocks\":$SPAN_N1}"
	has "{\"code\":\"LEAKED\",\"group\":2,\"block\":$((SPAN_START + SPAN_N1)),\"blocks\":$SPAN_N2}"
}

@test "LEAKED: the -v text line names group and block range" {
	mk leaked
	before=$(sha "$IMG")
	run ext4da-check -v "$IMG"
	assert_failure 4
	assert_line --regexp "^LEAKED +error +group $LEAK1_GROUP blocks $LEAK1_START-$((LEAK1_START + LEAK1_N - 1)): "
	assert_line --regexp "^LEAKED +error +group $LEAK2_GROUP blocks $LEAK2_START-$((LEAK2_START + LEAK2_N - 1)): "
	[ "$(sha "$IMG")" = "$before" ]
}

#
# UNMARKED
#

@test "UNMARKED: a file's blocks free in the bitmap, one range naming its owner" {
	mk unmarked
	check "$IMG"
	assert_failure 4
	counts_are '{"UNMARKED": 1}'
	# three single blocks, one finding: the owner /a and its logical range
	exactly "{\"code\":\"UNMARKED\",\"severity\":\"error\",\"group\":$UNM_GROUP,\"block\":$UNM_START,\"blocks\":$UNM_N,\"inode\":$UNM_INO,\"path\":\"/a\",\"other_inode\":null,\"logical_block\":10,\"logical_blocks\":$UNM_N,\"detail\":\"owned by the inode but free in the bitmap\"}"
	jqt ".stats.unmarked_blocks == $UNM_N"
	run ext4da-check -v "$IMG"
	assert_failure 4
	assert_line --regexp "^UNMARKED +error +group $UNM_GROUP blocks $UNM_START-$((UNM_START + UNM_N - 1)) inode $UNM_INO \\(/a\\) logical 10-$((10 + UNM_N - 1)): owned by the inode but free in the bitmap"
}

@test "UNMARKED: two files' blocks, split where the owner changes" {
	mk base
	a=$(debugfs -R "bmap /a 58" "$IMG" 2>/dev/null)
	b=$(debugfs -R "bmap /b 0" "$IMG" 2>/dev/null)
	[ "$b" -eq $((a + 2)) ] || fail "/b does not follow /a ($a, $b)"
	# /a's last two blocks and /b's first two: one run in the bitmap
	debugfs -w -R "freeb $a 4" "$IMG" >/dev/null 2>&1
	check "$IMG"
	assert_failure 4
	jqt '.counts.UNMARKED == 2'
	has "{\"code\":\"UNMARKED\",\"block\":$a,\"blocks\":2,\"path\":\"/a\",\"logical_block\":58,\"logical_blocks\":2}"
	has "{\"code\":\"UNMARKED\",\"block\":$b,\"blocks\":2,\"path\":\"/b\",\"logical_block\":0,\"logical_blocks\":2}"
	jqt '.stats.unmarked_blocks == 4'
}

@test "UNMARKED: filesystem metadata free in the bitmap says so" {
	mk base
	itab=$(dumpe2fs "$IMG" 2>/dev/null | sed -n 's/^  Inode table at \([0-9]*\)-.*/\1/p' | sed -n 1p)
	debugfs -w -R "freeb $itab 3" "$IMG" >/dev/null 2>&1
	check "$IMG"
	assert_failure 4
	exactly "{\"code\":\"UNMARKED\",\"block\":$itab,\"blocks\":3,\"inode\":null,\"path\":null,\"detail\":\"filesystem metadata but free in the bitmap\"}"
}

#
# Paths: every finding that names an inode names its path
#

@test "paths: PAST_EOF, MULTIPLY_OWNED and CORRUPT findings name their inodes' paths" {
	mk past-eof
	check "$IMG"
	jqt '[.findings[] | select(.inode != null)] | length > 0 and all(.path == "/a")'
	run ext4da-check -v "$IMG"
	assert_line --regexp "^PAST_EOF +error +group [0-9]+ blocks [0-9]+-[0-9]+ inode $(debugfs -R 'stat /a' "$IMG" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p') \\(/a\\) logical "
	mk shared
	check "$IMG"
	exactly "{\"code\":\"MULTIPLY_OWNED\",\"inode\":$SH_INO_A,\"path\":\"/a\",\"other_inode\":$SH_INO_B,\"other_path\":\"/b\",\"blocks\":$SH_N}"
	mk bad-header
	check "$IMG"
	jqt '[.findings[] | select(.inode != null and .inode >= 11)] | length > 0 and all(.path != null)'
}

@test "paths: a file in a subdirectory, and special inodes by their role" {
	mk base
	s=$(debugfs -R "bmap /sub/s 0" "$IMG" 2>/dev/null)
	debugfs -w -R "freeb $s" "$IMG" >/dev/null 2>&1
	check "$IMG"
	has '{"code":"UNMARKED","path":"/sub/s"}'
	# the journal's first block free in the bitmap: named <journal>
	mk base
	j=$(debugfs -R "bmap <8> 0" "$IMG" 2>/dev/null)
	debugfs -w -R "freeb $j" "$IMG" >/dev/null 2>&1
	check "$IMG"
	has '{"code":"UNMARKED","inode":8,"path":"<journal>"}'
}

@test "paths: an unlinked orphan has no path (null; \"no path\" in text)" {
	mk orphan
	check "$IMG"
	has "{\"code\":\"ORPHAN\",\"inode\":$O1_INO,\"path\":null}"
	run ext4da-check -v "$IMG"
	assert_line --regexp "^ORPHAN +info +inode $O1_INO \\(no path\\): "
}

#
# MULTIPLY_OWNED
#

@test "MULTIPLY_OWNED: two extent-mapped files share five blocks, both named" {
	mk shared
	check "$IMG"
	assert_failure 4
	counts_are '{"MULTIPLY_OWNED": 1}'
	exactly "{\"code\":\"MULTIPLY_OWNED\",\"severity\":\"error\",\"group\":$SH_GROUP,\"block\":$SH_START,\"blocks\":$SH_N,\"inode\":$SH_INO_A,\"other_inode\":$SH_INO_B,\"logical_block\":$SH_LBLK,\"logical_blocks\":$SH_N}"
}

@test "MULTIPLY_OWNED: two indirect-mapped files share a block, both named" {
	mk shared-ind
	check "$IMG"
	assert_failure 4
	counts_are '{"MULTIPLY_OWNED": 1}'
	exactly "{\"code\":\"MULTIPLY_OWNED\",\"severity\":\"error\",\"group\":$SI_GROUP,\"block\":$SI_BLOCK,\"blocks\":1,\"inode\":$SI_INO_A,\"other_inode\":$SI_INO_B,\"logical_block\":$SI_LBLK,\"logical_blocks\":1}"
}

@test "MULTIPLY_OWNED: a file block on an inode-table block names the inode" {
	mk shared-meta
	check "$IMG"
	assert_failure 4
	counts_are '{"MULTIPLY_OWNED": 1}'
	# ext4da-check(8): inode = first claimant (null for metadata), other_inode
	# = the later claimant, logical range in the later claimant.
	exactly "{\"code\":\"MULTIPLY_OWNED\",\"severity\":\"error\",\"group\":$SM_GROUP,\"block\":$SM_BLOCK,\"blocks\":1,\"inode\":null,\"other_inode\":$SM_INO,\"logical_block\":$SM_LBLK,\"logical_blocks\":1,\"detail\":\"filesystem metadata, also claimed by inode $SM_INO\"}"
}

@test "MULTIPLY_OWNED: metadata vs inode, the text line follows the documented grammar" {
	# ext4da-check(8): CODE SEVERITY [group G] [blocks A-B] [inode I [and inode J]] [logical L-M]: detail
	mk shared-meta
	run ext4da-check -v "$IMG"
	assert_failure 4
	assert_line --partial "MULTIPLY_OWNED"
	assert_line --regexp "^MULTIPLY_OWNED +error +group $SM_GROUP blocks $SM_BLOCK-$SM_BLOCK( inode [0-9]+ \\([^)]*\\)( and inode [0-9]+ \\([^)]*\\))?)? logical 0-0: filesystem metadata, also claimed by inode $SM_INO\$"
}

@test "MULTIPLY_OWNED: one file mapping one block at two logical offsets" {
	mk shared-self
	check "$IMG"
	assert_failure 4
	counts_are '{"MULTIPLY_OWNED": 1}'
	exactly "{\"code\":\"MULTIPLY_OWNED\",\"severity\":\"error\",\"group\":$SS_GROUP,\"block\":$SS_BLOCK,\"blocks\":1,\"inode\":$SS_INO}"
}

#
# PAST_EOF
#

@test "PAST_EOF: written blocks past i_size are an error (extents)" {
	mk past-eof
	check "$IMG"
	assert_failure 4
	counts_are '{"PAST_EOF": 1}'
	exactly "{\"code\":\"PAST_EOF\",\"severity\":\"error\",\"group\":$PE_GROUP,\"block\":$PE_START,\"blocks\":$PE_N,\"inode\":$PE_INO,\"logical_block\":$PE_LBLK,\"logical_blocks\":$PE_N}"
}

@test "PAST_EOF: written blocks past i_size are an error (indirect map)" {
	mk past-eof-ind
	check "$IMG"
	assert_failure 4
	counts_are '{"PAST_EOF": 1}'
	exactly "{\"code\":\"PAST_EOF\",\"severity\":\"error\",\"group\":$PE_GROUP,\"block\":$PE_START,\"blocks\":$PE_N,\"inode\":$PE_INO,\"logical_block\":$PE_LBLK,\"logical_blocks\":$PE_N}"
}

@test "PAST_EOF: blocks past i_size of a truncate the orphan list will finish are not an error" {
	# The kernel's orphan cleanup truncates /a at the next mount: this is
	# what a crash in the middle of a truncate leaves, not damage.
	mk truncate-orphan
	check "$IMG"
	assert_success
	no_errors_but
	has "{\"code\":\"ORPHAN\",\"severity\":\"info\",\"inode\":$TO_INO}"
}

@test "PAST_EOF: an unwritten extent past i_size (fallocate --keep-size) is info" {
	require_root
	mk falloc
	check "$IMG"
	assert_success
	counts_are '{"PAST_EOF": 1, "UNCONVERTED": 1}'
	exactly "{\"code\":\"PAST_EOF\",\"severity\":\"info\",\"group\":$K_GROUP,\"block\":$K_START,\"blocks\":$K_N,\"inode\":$K_INO,\"logical_block\":$K_LBLK,\"logical_blocks\":$K_N}"
	jqt '.exit == 0'
}

#
# UNCONVERTED
#

@test "UNCONVERTED: fallocate inside i_size is info with block and file counts" {
	require_root
	mk falloc
	check "$IMG"
	assert_success
	no_errors_but
	exactly "{\"code\":\"UNCONVERTED\",\"severity\":\"info\",\"detail\":\"$UNCONV_BLOCKS unwritten blocks inside i_size in $UNCONV_FILES files\"}"
	jqt ".stats.unconverted_blocks == $UNCONV_BLOCKS and .stats.unconverted_files == $UNCONV_FILES"
	run ext4da-check "$IMG"
	assert_success
	assert_line --regexp "^UNCONVERTED +info.*$UNCONV_BLOCKS unwritten blocks inside i_size in $UNCONV_FILES files"
}

#
# STALE (poison and stamps; SPEC section 7)
#
# One finding per block: the detail names the poisoned sector (or the
# stamp's owner), which differs from block to block.

@test "STALE: --data names inode, logical block, device block and sector of never-written data" {
	require_root
	mk stale
	check "$IMG" --data
	assert_failure 4
	jqt '.data_scan == true'
	counts_are '{"STALE": 2, "UNCONVERTED": 1}'
	spb=2	# sectors per 1 KiB block
	for i in 0 1; do
		has "{\"code\":\"STALE\",\"severity\":\"error\",\"group\":$ST_GROUP,\"block\":$((ST_BLOCK + i)),\"blocks\":1,\"inode\":$F_INO,\"other_inode\":null,\"logical_block\":$((ST_LBLK + i)),\"logical_blocks\":1,\"detail\":\"never written: holds the device's poison (sector $((ST_SECTOR + i * spb)))\"}"
	done
	jqt ".stats.stale_blocks == $ST_N"
	run ext4da-check --data -v "$IMG"
	assert_line --regexp "^STALE +error +group $ST_GROUP blocks $ST_BLOCK-$ST_BLOCK inode $F_INO \\(/f\\) logical $ST_LBLK-$ST_LBLK: never written"
}

@test "STALE: the data scan is automatic on a poisoned image" {
	require_root
	mk stale
	check "$IMG"
	assert_failure 4
	jqt '.data_scan == true'
	counts_are '{"STALE": 2, "UNCONVERTED": 1}'
	has "{\"code\":\"STALE\",\"block\":$ST_BLOCK,\"inode\":$F_INO,\"logical_block\":$ST_LBLK}"
	run ext4da-check "$IMG"
	assert_output --partial "data scanned"
}

@test "STALE: --no-data turns the automatic scan off" {
	require_root
	mk stale
	check "$IMG" --no-data
	assert_success
	jqt '.data_scan == false and .stats.data_blocks_scanned == 0'
	counts_are '{"UNCONVERTED": 1}'
}

@test "STALE: zeros, unwritten extents and holes over poison are not stale" {
	require_root
	mk poisoned
	check "$IMG"
	assert_success
	jqt '.data_scan == true and .stats.data_blocks_scanned > 0'
	# /u's unwritten blocks lie over poison ($U_BLOCK); /z wrote zeros; /s is sparse.
	counts_are '{"UNCONVERTED": 1}'
	check "$IMG" --data
	assert_success
	counts_are '{"UNCONVERTED": 1}'
}

@test "STALE: no data scan on an unpoisoned image unless --data" {
	mk base
	check "$IMG"
	assert_success
	jqt '.data_scan == false'
	check "$IMG" --data
	assert_success
	jqt '.data_scan == true and .stats.data_blocks_scanned > 0'
	counts_are '{}'
}

@test "STALE: a real data=writeback crash: each block whose data never arrived" {
	require_root
	mk data-crash writeback
	check "$IMG"
	assert_failure 4
	jqt '.audited == "recovered" and .data_scan == true'
	no_errors_but STALE
	jqt "[.findings[] | select(.code == \"STALE\") | .logical_block] == [range($DC_N)]"
	jqt "[.findings[] | select(.code == \"STALE\") | .inode] | unique == [$DC_INO]"
	jqt '[.findings[] | select(.code == "STALE") | .detail | test("never written: holds the device.s poison")] | all'
	jqt ".stats.stale_blocks == $DC_N"
}

@test "STALE: the same crash under data=ordered leaves nothing stale" {
	require_root
	mk data-crash ordered
	check "$IMG"
	assert_success
	jqt '.audited == "recovered" and .data_scan == true and .stats.data_blocks_scanned >= 64'
	no_errors_but
	jqt '.counts.STALE == 0'
}

@test "STALE: a block that holds another (deleted) file's stamps names that file" {
	require_root
	mk stamp-foreign
	check "$IMG" --data
	assert_failure 4
	counts_are '{"STALE": 1}'
	exactly "{\"code\":\"STALE\",\"severity\":\"error\",\"group\":$SF_GROUP,\"block\":$SF_BLOCK,\"blocks\":1,\"inode\":$SF_INO,\"logical_block\":$SF_LBLK,\"logical_blocks\":1,\"detail\":\"holds data written for inode $SF_OTHER generation $SF_OTHER_GEN at offset $SF_OTHER_OFF\"}"
	# no poison here: without --data, no scan and nothing found
	check "$IMG"
	assert_success
	counts_are '{}'
}

@test "STALE: the journal's never-used blocks are not file data (lazy_journal_init)" {
	require_root
	mk poisoned lazy_journal_init=1
	check "$IMG"
	assert_success
	jqt '.data_scan == true'
	counts_are '{"UNCONVERTED": 1}'
}

#
# GROUP_COUNTS
#

@test "GROUP_COUNTS: free blocks, free inodes and directories counts, per group" {
	mk counts
	check "$IMG"
	assert_failure 4
	counts_are '{"GROUP_COUNTS": 3}'
	has "{\"code\":\"GROUP_COUNTS\",\"severity\":\"error\",\"group\":1,\"blocks\":0,\"inode\":null,\"detail\":\"free blocks count is $((FB1 + 7)), the bitmaps say $FB1\"}"
	has "{\"code\":\"GROUP_COUNTS\",\"severity\":\"error\",\"group\":0,\"detail\":\"free inodes count is $((FI0 + 3)), the bitmaps say $FI0\"}"
	has "{\"code\":\"GROUP_COUNTS\",\"severity\":\"error\",\"group\":0,\"detail\":\"directories count is $((ND0 + 1)), the bitmaps say $ND0\"}"
}

@test "GROUP_COUNTS: superblock totals that differ are info only" {
	mk sb-totals
	check "$IMG"
	assert_success
	counts_are '{"GROUP_COUNTS": 1}'
	exactly "{\"code\":\"GROUP_COUNTS\",\"severity\":\"info\",\"group\":null,\"detail\":\"superblock totals ($((SB_FB + 100)) free blocks, $((SB_FI - 5)) free inodes) differ from the groups ($SB_FB, $SB_FI)\"}"
}

@test "GROUP_COUNTS: an unused-inodes count hiding in-use inodes is a group error, not LEAKED" {
	# bg_itable_unused says inodes $IU_FIRST.. are unused; the inode bitmap
	# says five of them are in use (e2fsck: "invalid unused inodes count").
	mk itable-unused
	check "$IMG"
	assert_failure 4
	has "{\"code\":\"GROUP_COUNTS\",\"severity\":\"error\",\"group\":$IU_GROUP,\"detail\":\"unused\"}"
	# the hidden inodes' blocks are theirs, not leaked reservations
	jqt '.counts.LEAKED == 0'
}

@test "GROUP_COUNTS: INODE_UNINIT on a group with inodes in use is a group error, not LEAKED" {
	require_root
	mk inode-uninit
	check "$IMG"
	assert_failure 4
	has "{\"code\":\"GROUP_COUNTS\",\"severity\":\"error\",\"group\":$IUN_GROUP,\"detail\":\"INODE_UNINIT\"}"
	jqt '.counts.LEAKED == 0'
}

@test "GROUP_COUNTS: with --data, a file of zeros in an INODE_UNINIT group hides no inode after it" {
	require_root
	mk inode-uninit-data
	check "$IMG"
	assert_failure 4
	local plain
	plain=$(jq -c '.counts' <<<"$J")
	has "{\"code\":\"GROUP_COUNTS\",\"severity\":\"error\",\"group\":$IUN_GROUP,\"inode\":$IUN_FILE}"
	# the data scan reads file blocks into its own buffer, not the one
	# holding the inode table: the same findings, and no block of the file
	# after the zeros called LEAKED
	check "$IMG" --data
	assert_failure 4
	[ "$(jq -c '.counts' <<<"$J")" = "$plain" ] || fail "--data changed the counts: $plain -> $(jq -c .counts <<<"$J")"
	has "{\"code\":\"GROUP_COUNTS\",\"severity\":\"error\",\"group\":$IUN_GROUP,\"inode\":$IUN_FILE}"
	jqt '.counts.LEAKED == 0'
}

#
# ORPHAN
#

@test "ORPHAN: a two-inode orphan list is info, and its blocks are owned" {
	mk orphan
	check "$IMG"
	assert_success
	counts_are '{"ORPHAN": 2}'
	has "{\"code\":\"ORPHAN\",\"severity\":\"info\",\"inode\":$O1_INO,\"detail\":\"links 0, size $O1_SIZE\"}"
	has "{\"code\":\"ORPHAN\",\"severity\":\"info\",\"inode\":$O2_INO,\"detail\":\"links 0, size $O2_SIZE\"}"
	jqt '.stats.orphans == 2 and .stats.leaked_blocks == 0'
}

@test "ORPHAN: an orphan list pointing at a reserved inode is a warning, not a crash" {
	mk orphan-bad
	check "$IMG"
	assert_success
	counts_are '{"ORPHAN": 1}'
	exactly '{"code":"ORPHAN","severity":"warning","detail":"invalid inode 5"}'
}

@test "ORPHAN: a real orphan (open, unlinked, crash) is info after in-memory replay" {
	require_root
	mk kernel-orphan
	check "$IMG"
	assert_success
	no_errors_but
	exactly "{\"code\":\"ORPHAN\",\"severity\":\"info\",\"inode\":$KO_INO,\"detail\":\"links 0, size $KO_SIZE\"}"
	jqt '.counts.LEAKED == 0 and .counts.UNMARKED == 0'
}

@test "ORPHAN: a real orphan in the orphan file (-O orphan_file) is info, not LEAKED" {
	require_root
	mk kernel-orphan "-O orphan_file"
	check "$IMG"
	assert_success
	no_errors_but
	exactly "{\"code\":\"ORPHAN\",\"severity\":\"info\",\"inode\":$KO_INO}"
	jqt '.counts.LEAKED == 0 and .counts.UNMARKED == 0'
}

#
# JOURNAL
#

# The committed transactions debugfs's logdump sees: "N FIRST LAST".
logdump_commits() {
	debugfs -R logdump "$1" 2>/dev/null |
		sed -n 's/^Found expected sequence \([0-9]*\), type 2 (commit block).*/\1/p' |
		awk 'NR == 1 { f = $1 } { l = $1; n++ } END { print n + 0, f, l }'
}

@test "JOURNAL: a crashed image is audited after an in-memory replay, named in the report" {
	require_root
	for seed in 1 2; do
		img="$(scratch)/crashed$seed.img"
		"$MKCRASHED" "$img" "$seed"
		read -r n first last < <(logdump_commits "$img")
		[ "$n" -gt 0 ]
		check "$img"
		assert_success
		jqt '.audited == "recovered" and .journal_needed_recovery == true'
		jqt ".replayed_transactions == $n"
		no_errors_but
		exactly "{\"code\":\"JOURNAL\",\"severity\":\"info\",\"detail\":\"replayed $n transaction(s), tid $first to $last\"}"
	done
}

@test "JOURNAL: --no-replay audits the raw state and says so" {
	require_root
	img="$(scratch)/crashed.img"
	"$MKCRASHED" "$img" 3
	read -r n first last < <(logdump_commits "$img")
	check "$img" --no-replay
	jqt '.audited == "raw" and .journal_needed_recovery == true and .replayed_transactions == 0'
	exactly "{\"code\":\"JOURNAL\",\"severity\":\"info\",\"detail\":\"journal needs recovery ($n committed transaction(s)); audited the raw on-disk state\"}"
	run ext4da-check --no-replay "$img"
	assert_output --partial "audited the raw state"
}

@test "JOURNAL: no finding when the journal is clean" {
	mk base
	check "$IMG"
	assert_success
	jqt '.audited == "on-disk" and .journal_needed_recovery == false'
	counts_are '{}'
}

#
# Corrupt metadata
#

@test "CORRUPT: a corrupt extent header names its inode, exit 4, no crash" {
	mk bad-header
	check "$IMG"
	assert_failure 4
	has "{\"code\":\"CORRUPT\",\"severity\":\"error\",\"inode\":$BH_EMPTY_INO}"
	has "{\"code\":\"CORRUPT\",\"severity\":\"error\",\"inode\":$BH_A_INO}"
	jqt '.counts.CORRUPT == 2'
	# one CORRUPT finding per inode
	jqt "[.findings[] | select(.code == \"CORRUPT\" and .inode == $BH_EMPTY_INO)] | length == 1"
	jqt "[.findings[] | select(.code == \"CORRUPT\" and .inode == $BH_A_INO)] | length == 1"
	# /a's 60 blocks are still its as far as anyone can tell (its one extent
	# entry survives the header): in use, owner unknown, never LEAKED.
	# e2fsck -n calls them free-to-be (it would clear the inode); we do not.
	no_errors_but CORRUPT
	jqt '.counts.LEAKED == 0 and .stats.leaked_blocks == 0 and .stats.unknown_blocks == 60'
	has "{\"code\":\"OWNER_UNKNOWN\",\"severity\":\"warning\",\"inode\":$BH_A_INO,\"blocks\":60}"
}

@test "CORRUPT: block numbers beyond the device in an extent, exactly one finding" {
	mk beyond
	check "$IMG"
	assert_failure 4
	counts_are '{"CORRUPT": 1}'
	exactly "{\"code\":\"CORRUPT\",\"severity\":\"error\",\"group\":null,\"block\":$BY_START,\"blocks\":$BY_N,\"inode\":$BY_INO,\"logical_block\":$BY_LBLK,\"logical_blocks\":$BY_N}"
	check "$IMG" --data
	assert_failure 4
	counts_are '{"CORRUPT": 1}'
}

@test "CORRUPT: an extent index entry beyond the device, one finding naming the inode" {
	mk beyond-index
	check "$IMG"
	assert_failure 4
	jqt '.counts.CORRUPT == 1'
	exactly "{\"code\":\"CORRUPT\",\"severity\":\"error\",\"inode\":$BI_INO}"
	jqt "[.findings[] | select(.code == \"CORRUPT\" and .inode == $BI_INO)] | length == 1"
	# what the index led to is unreachable, but may still be the file's:
	# in use, owner unknown (e2fsck -n calls it free; see check_damage.bats)
	no_errors_but CORRUPT
	jqt '.counts.LEAKED == 0 and .counts.OWNER_UNKNOWN >= 1'
}

#
# Clean images find nothing
#

# clean_ok: exit 0, no findings at all, and e2fsck agrees the image is clean.
clean_ok() {
	run e2fsck -fn "$1"
	[ "$status" -eq 0 ] || fail "fixture not clean for e2fsck: $output"
	check "$1"
	assert_success
	counts_are '{}'
	jqt '.exit == 0 and .stats.inodes_in_use > 0'
}

fresh_ok() {
	mk fresh "$@"
	clean_ok "$IMG"
}

populated_ok() {
	mk populated "$@"
	clean_ok "$IMG"
	jqt '.stats.inodes_in_use > 450'
}

written_ok() {
	require_root
	mk written "$@"
	clean_ok "$IMG"
	jqt '.stats.inodes_in_use > 80'
}

@test "clean: mkfs -l: the bad blocks inode owns the bad blocks" {
	mk badblocks
	clean_ok "$IMG"
}

@test "clean: mkfs -l on a poisoned device: bad blocks are not scanned as data" {
	mk badblocks poison
	check "$IMG"
	assert_success
	jqt '.data_scan == true'
	counts_are '{}'
}

@test "clean: fresh mkfs, 1k blocks" { fresh_ok "-b 1024"; }
@test "clean: fresh mkfs, 2k blocks" { fresh_ok "-b 2048"; }
@test "clean: fresh mkfs, 4k blocks" { fresh_ok "-b 4096"; }
@test "clean: fresh mkfs, 64k blocks" { fresh_ok "-b 65536" 128M; }
@test "clean: fresh mkfs, ^64bit" { fresh_ok "-O ^64bit"; }
@test "clean: fresh mkfs, ^metadata_csum" { fresh_ok "-O ^metadata_csum"; }
@test "clean: fresh mkfs, bigalloc 16k clusters (4k blocks)" { fresh_ok "-b 4096 -O bigalloc -C 16384"; }
@test "clean: fresh mkfs, bigalloc 16k clusters (1k blocks)" { fresh_ok "-b 1024 -O bigalloc -C 16384"; }
@test "clean: fresh mkfs, ^flex_bg" { fresh_ok "-O ^flex_bg"; }
@test "clean: fresh mkfs, meta_bg" { fresh_ok "-O meta_bg,^resize_inode"; }
@test "clean: fresh mkfs, ^has_journal" { fresh_ok "-O ^has_journal"; }
@test "clean: fresh mkfs, inline_data" { fresh_ok "-O inline_data"; }
@test "clean: fresh mkfs, quota" { fresh_ok "-O quota"; }

@test "clean: mke2fs -d tree, 1k blocks" { populated_ok "-b 1024"; }
@test "clean: mke2fs -d tree, 2k blocks" { populated_ok "-b 2048"; }
@test "clean: mke2fs -d tree, 4k blocks" { populated_ok "-b 4096"; }
@test "clean: mke2fs -d tree, 64k blocks" { populated_ok "-b 65536" 128M; }
@test "clean: mke2fs -d tree, ^64bit" { populated_ok "-O ^64bit"; }
@test "clean: mke2fs -d tree, ^metadata_csum" { populated_ok "-O ^metadata_csum"; }
@test "clean: mke2fs -d tree, bigalloc" { populated_ok "-b 4096 -O bigalloc -C 16384"; }
@test "clean: mke2fs -d tree, ^flex_bg" { populated_ok "-O ^flex_bg"; }
@test "clean: mke2fs -d tree, meta_bg" { populated_ok "-O meta_bg,^resize_inode"; }
@test "clean: mke2fs -d tree, ^has_journal" { populated_ok "-O ^has_journal"; }
@test "clean: mke2fs -d tree, inline_data" { populated_ok "-O inline_data"; }
@test "clean: mke2fs -d tree, quota" { populated_ok "-O quota"; }
@test "clean: mke2fs -d tree, indirect-mapped (^extent)" { populated_ok "-b 1024 -O ^extent,^64bit"; }

@test "clean: written through a loop mount, 1k blocks" { written_ok "-b 1024"; }
@test "clean: written through a loop mount, 4k blocks" { written_ok "-b 4096"; }
@test "clean: written through a loop mount, bigalloc" { written_ok "-b 4096 -O bigalloc -C 16384"; }
@test "clean: written through a loop mount, meta_bg, ^flex_bg" { written_ok "-O meta_bg,^resize_inode,^flex_bg"; }
@test "clean: written through a loop mount, inline_data" { written_ok "-O inline_data"; }
@test "clean: written through a loop mount, ^has_journal, ^metadata_csum" { written_ok "-O ^has_journal,^metadata_csum"; }
@test "clean: written through a loop mount, indirect-mapped with double-indirect blocks" {
	written_ok "-b 1024 -O ^extent,^64bit"
	# /big (3 MiB at 1 KiB blocks) needs double-indirect blocks
	run debugfs -R 'stat /big' "$IMG"
	assert_output --partial '(DIND)'
}
