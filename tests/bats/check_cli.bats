#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-check's chrome and bad input: help, version, usage errors, one-line
# errors with exit 8 and no write on bad input, quiet, JSON and progress
# output, the data scan, --repair with its undo file, the man page and the
# completion.

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
	require_root
	local d=$BATS_FILE_TMPDIR blk a
	export CLEAN="$d/clean.img" NOJOURNAL="$d/nojournal.img" RANDOM_IMG="$d/random.img"
	export EMPTY="$d/empty.img" TRUNCATED="$d/truncated.img" BADJSB="$d/badjsb.img"
	export CRASHED="$d/crashed.img" JDEV="$d/jdev.img" EXTFS="$d/extfs.img" ADIR="$d/adir"
	export BADGDT="$d/badgdt.img" UNINITGDT="$d/uninitgdt.img" LEAKED="$d/leaked.img"
	export FINDINGS="$d/findings.img" POISONED="$d/poisoned.img" DATA8K="$d/data8k"

	truncate -s 8M "$CLEAN"
	mkfs.ext4 -q -F "$CLEAN"
	truncate -s 8M "$NOJOURNAL"
	mkfs.ext4 -q -F -O ^has_journal "$NOJOURNAL"
	head -c 1M /dev/urandom >"$RANDOM_IMG"
	: >"$EMPTY"
	mkdir "$ADIR"
	# Cut inside the filesystem: the superblock is intact, the end is gone.
	head -c 3M "$CLEAN" >"$TRUNCATED"
	# Random bytes over the journal superblock (the journal inode's block 0);
	# the filesystem itself is clean and does not need recovery.
	cp "$CLEAN" "$BADJSB"
	blk=$(debugfs -R 'bmap <8> 0' "$BADJSB" 2>/dev/null)
	[[ $blk =~ ^[0-9]+$ ]] || fail "debugfs bmap <8> 0 gave '$blk'"
	dd if=/dev/urandom of="$BADJSB" bs="$(block_size "$BADJSB")" seek="$blk" count=1 \
		conv=notrunc status=none
	# Pseudo-random (but always the same) bytes over the whole group
	# descriptor table (block 2 with 1 KiB blocks).
	cp "$CLEAN" "$BADGDT"
	for blk in $(seq 1 32); do printf '%s' "$blk" | sha256sum | cut -c1-64; done |
		xxd -r -p | dd of="$BADGDT" bs=1024 seek=2 count=1 conv=notrunc status=none
	# One corrupt descriptor: BLOCK_UNINIT, and an inode table beyond the
	# end of the filesystem.
	cp "$NOJOURNAL" "$UNINITGDT"
	debugfs -w -f - "$UNINITGDT" >/dev/null 2>&1 <<-EOF
		set_bg 0 inode_table 99999
		set_bg 0 flags 2
		set_bg 0 checksum calc
	EOF
	"$SRCDIR/tests/fixtures/mkcrashed" "$CRASHED" 7
	# A filesystem with an external journal: mkfs wants the journal on a
	# block device, so attach it only while mkfs runs.
	truncate -s 4M "$JDEV"
	mke2fs -q -F -O journal_dev -b 1024 "$JDEV"
	truncate -s 16M "$EXTFS"
	blk=$(losetup -f --show "$JDEV")
	mkfs.ext4 -q -F -b 1024 -J device="$blk" "$EXTFS" || { losetup -d "$blk"; false; }
	losetup -d "$blk"
	# Ten blocks in use in the bitmap that nothing owns: LEAKED, and the
	# group's free blocks count disagrees (GROUP_COUNTS).
	cp "$CLEAN" "$LEAKED"
	debugfs -w -R "setb 5000 10" "$LEAKED" >/dev/null 2>&1
	head -c 8192 /dev/zero | tr '\0' x >"$DATA8K"
	make_findings "$FINDINGS"
	make_poisoned "$POISONED"
	# A file of 8 blocks whose extent is written but whose blocks still
	# hold poison: STALE.
	debugfs -w -f - "$POISONED" >/dev/null 2>&1 <<-EOF
		write /dev/null stale
		fallocate /stale 0 7
		sif /stale size 8192
	EOF
	# i_block[4] holds the extent's length, with bit 15 for unwritten.
	debugfs -w -R "sif /stale block[4] 8" "$POISONED" >/dev/null 2>&1
	a=$(debugfs -R 'ex /stale' "$POISONED" 2>/dev/null)
	[[ $a == *" 0 -     7 "* && $a != *Uninit* ]] || fail "/stale is not one written extent: $a"
}

teardown() {
	local dev
	if [ -f "$BATS_TEST_TMPDIR/mounts" ]; then
		while read -r dev; do
			umount "$dev" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/mounts"
	fi
	if [ -f "$BATS_TEST_TMPDIR/loops" ]; then
		while read -r dev; do
			losetup -d "$dev" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/loops"
	fi
}

block_size() {
	dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Block size/ { gsub(/ /, "", $2); print $2 }'
}

# The physical block of logical block $3 of file $2 in image $1.
bmap() {
	debugfs -R "bmap $2 $3" "$1" 2>/dev/null
}

# An image with one finding of most codes, made with debugfs on a clean
# filesystem (1 KiB blocks, one group):
#   /a  8 written blocks, i_size 3000: PAST_EOF (info: /a is a pending orphan, a truncate in progress), logical 3-7;
#       and on the orphan list: ORPHAN;
#   /b  8 blocks, its extent moved to start at /a's block 4: its logical
#       0-3 are /a's 4-7, MULTIPLY_OWNED (inode of /a, inode of /b), and
#       the last 4 of /b's own blocks become LEAKED;
#   /c  4 unwritten blocks inside i_size: UNCONVERTED.
make_findings() {
	local img=$1 a
	cp "$CLEAN" "$img"
	debugfs -w -f - "$img" >/dev/null 2>&1 <<-EOF
		write $DATA8K a
		write $DATA8K b
		write /dev/null c
		fallocate /c 0 3
		sif /c size 4096
	EOF
	a=$(bmap "$img" /a 0)
	[[ $a =~ ^[0-9]+$ ]] || fail "bmap /a 0 gave '$a'"
	debugfs -w -f - "$img" >/dev/null 2>&1 <<-EOF
		sif /b block[5] $((a + 4))
		sif /a size 3000
		ssv last_orphan $(debugfs -R 'ls -l /' "$img" 2>/dev/null | awk '$NF == "a" { print $1 }')
	EOF
}

# An 8 MiB device filled with poison (SPEC section 7), then mkfs without
# discard, so that the free blocks keep their poison.  Extra mkfs -E
# options in $2.
make_poisoned() {
	local img=$1 extended=${2:+,$2}
	truncate -s 8M "$img"
	ext4da-stamp -q poison "$img" || fail "ext4da-stamp poison $img failed"
	mkfs.ext4 -q -F -E "nodiscard$extended" "$img"
}

# A loop device for FILE, detached by teardown.
attach() {
	local dev
	dev=$(losetup -f --show "$1") || fail "losetup $1 failed"
	echo "$dev" >>"$BATS_TEST_TMPDIR/loops"
	echo "$dev"
}

# A private copy of an image, for tests that write.
copy_of() {
	local out
	out="$(scratch)/$(basename "$1" .img)-copy.img"
	cp --sparse=always "$1" "$out"
	echo "$out"
}

# Run the tool with stdout ($output, $lines) and stderr ($stderr, $stderr_lines) apart.
check() {
	run --separate-stderr ext4da-check "$@"
}

# Exit 8, nothing on stdout, and exactly one line on stderr:
# "ext4da-check: INPUT: problem" (the problem not repeating INPUT).
assert_bad_input() {
	local input=$1 what=${2:-}
	[ "$status" -eq 8 ] ||
		fail "${what:+$what: }exit status $status, expected 8; stdout: $output; stderr: $stderr"
	# Under --json the error is also one ext4da-error/1 object on stdout.
	if [[ $what == *--json* ]]; then
		jq -e '.schema == "ext4da-error/1" and .tool == "ext4da-check" and .exit == 8' \
			<<<"$output" >/dev/null || fail "${what:+$what: }no JSON error on stdout: $output"
	else
		[ -z "$output" ] || fail "${what:+$what: }expected nothing on stdout, got: $output"
	fi
	[ "${#stderr_lines[@]}" -eq 1 ] ||
		fail "${what:+$what: }expected one line on stderr, got ${#stderr_lines[@]}: $stderr"
	[[ ${stderr_lines[0]} == "ext4da-check: $input: "?* ]] ||
		fail "${what:+$what: }error line not 'ext4da-check: $input: problem': ${stderr_lines[0]}"
	[[ ${stderr_lines[0]} != "ext4da-check: $input: $input: "* ]] ||
		fail "${what:+$what: }error line names the input twice: ${stderr_lines[0]}"
}

# Exit 16, nothing on stdout, and an error first on stderr.
assert_usage_error() {
	[ "$status" -eq 16 ] || fail "exit status $status, expected 16; stderr: $stderr"
	[ -z "$output" ] || fail "expected nothing on stdout, got: $output"
	[ "${#stderr_lines[@]}" -ge 1 ] || fail "expected an error on stderr"
	[[ ${stderr_lines[0]} == "ext4da-check: "?* ]] ||
		fail "error line does not start with 'ext4da-check: ': ${stderr_lines[0]}"
}

# Every mode rejects a bad INPUT the same way, and writes nothing anywhere:
# the input is unchanged and no undo file appears (neither --undo's nor the
# default INPUT.ext4da-undo).
check_bad_input() {
	local input=$1 d before='' mode
	d=$(scratch)
	[ -f "$input" ] && before=$(sha "$input")
	for mode in "" --json -v -q --data --no-data --no-replay --progress --repair \
		"--repair --json" "--repair --undo $d/undo"; do
		# shellcheck disable=SC2086
		check $mode "$input"
		assert_bad_input "$input" "ext4da-check $mode"
		[ ! -e "$d/undo" ] || fail "$mode: an undo file was created"
		[ ! -e "$input.ext4da-undo" ] || fail "$mode: $input.ext4da-undo was created"
		[ -z "$before" ] || [ "$(sha "$input")" = "$before" ] || fail "$mode: the input changed"
	done
}

# The options --help lists, one a line (-? -V -d ... --version).
help_options() {
	ext4da-check --help | grep -oE '(^| )(-[[:alnum:]?]|--[[:alnum:]-]+)' | tr -d ' ' | sort -u
}

# Man page as plain text.
man_text() {
	groff -man -Tascii -P-cbou "$SRCDIR/man/$1" 2>/dev/null
}

# Call the completion with the words given; the last one is being completed.
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_ext4da_check
}

# --- help, version, usage errors ---------------------------------------------

@test "--help: stdout, exit 0, every option" {
	check --help
	assert_success
	[ -z "$stderr" ]
	assert_output --partial "Usage: ext4da-check"
	local opt
	for opt in --no-replay --data --no-data -r --repair -u --undo --journal --json \
		-v --verbose -q --quiet --progress --no-progress -V --version --usage; do
		[[ $output =~ (^|[^[:alnum:]-])$opt([^[:alnum:]-]|$) ]] || fail "--help does not mention $opt"
	done
	check '-?'
	assert_success
	assert_output --partial "Usage: ext4da-check"
}

@test "--usage: stdout, exit 0" {
	check --usage
	assert_success
	[ -z "$stderr" ]
	assert_output --partial "--repair"
	assert_output --partial "IMAGE"
}

@test "--version and -V: exit 0, print the package version" {
	local version
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$BUILDDIR/config.h")
	[ -n "$version" ]
	check --version
	assert_success
	[ -z "$stderr" ]
	assert_output "ext4da-check $version"
	check -V
	assert_success
	assert_output "ext4da-check $version"
}

@test "usage error: unknown option" {
	check --bogus "$CLEAN"
	assert_usage_error
	assert_equal "${stderr_lines[0]}" "ext4da-check: unrecognized option '--bogus'"
	check -Z "$CLEAN"
	assert_usage_error
	# Ambiguous abbreviation (--no-replay, --no-data, --no-progress).
	check --no "$CLEAN"
	assert_usage_error
}

@test "usage error: no IMAGE" {
	check
	assert_usage_error
	[[ $stderr == *"no IMAGE"* ]]
	check --json -v
	assert_usage_error
}

@test "usage error: two IMAGEs" {
	local img before; img=$(copy_of "$LEAKED")
	before=$(sha "$img")
	check "$img" "$CLEAN"
	assert_usage_error
	check --repair "$img" "$CLEAN"
	assert_usage_error
	[ "$(sha "$img")" = "$before" ]
	[ ! -e "$img.ext4da-undo" ]
}

@test "usage error: --undo without --repair" {
	local img d before; img=$(copy_of "$LEAKED"); d=$(scratch)
	before=$(sha "$img")
	check --undo "$d/undo" "$img"
	assert_usage_error
	[[ $stderr == *"--undo"*"--repair"* ]]
	check -u "$d/undo" --json "$img"
	assert_usage_error
	[ ! -e "$d/undo" ]
	[ "$(sha "$img")" = "$before" ]
}

@test "usage error: --repair with --no-replay" {
	local img before; img=$(copy_of "$LEAKED")
	before=$(sha "$img")
	check --repair --no-replay "$img"
	assert_usage_error
	[[ $stderr == *"--no-replay"* ]]
	check -r --no-replay --undo "$(scratch)/undo" "$img"
	assert_usage_error
	[ ! -e "$(scratch)/undo" ] && [ ! -e "$img.ext4da-undo" ]
	[ "$(sha "$img")" = "$before" ]
}

# --- bad input: one line, exit 8, nothing written -----------------------------

@test "bad input: missing file" {
	check_bad_input "$BATS_FILE_TMPDIR/no-such.img"
	[[ ${stderr_lines[0]} == *"No such file"* ]]
}

@test "bad input: a directory" {
	check_bad_input "$ADIR"
	[[ ${stderr_lines[0]} == *"directory"* ]]
}

@test "bad input: a character device (/dev/null)" {
	check_bad_input /dev/null
}

@test "bad input: random bytes (not ext4)" {
	check_bad_input "$RANDOM_IMG"
	[[ ${stderr_lines[0]} == *"not an ext2/ext3/ext4 filesystem"* ]]
}

@test "bad input: an empty file" {
	check_bad_input "$EMPTY"
}

@test "bad input: truncated image" {
	check_bad_input "$TRUNCATED"
	[[ ${stderr_lines[0]} == *"truncated"* ]]
}

@test "bad input: truncated image with a leaked block, --repair leaves no undo file" {
	local img before; img="$(scratch)/trunc-leaked.img"
	head -c 3M "$LEAKED" >"$img"
	before=$(sha "$img")
	check --repair "$img"
	assert_bad_input "$img"
	[ ! -e "$img.ext4da-undo" ] || fail "an undo file was left behind: $img.ext4da-undo"
	[ "$(sha "$img")" = "$before" ]
}

@test "bad input: an external journal device given as IMAGE" {
	check_bad_input "$JDEV"
	[[ ${stderr_lines[0]} == *"journal device"*"--journal"* ]]
}

# Damage that e2fsck reads past is audited (issue 8): exit 4 with a
# CORRUPT finding naming it, nothing written in any mode; --repair refuses
# in one line on stderr (exit 4) and makes no undo file.
check_damaged_input() {
	local input=$1 want=$2 d before mode
	d=$(scratch)
	before=$(sha "$input")
	for mode in "" --json -v -q --no-replay; do
		# shellcheck disable=SC2086
		check $mode "$input"
		[ "$status" -eq 4 ] || fail "ext4da-check $mode: exit $status; stderr: $stderr"
		[ -z "$stderr" ] || fail "ext4da-check $mode: stderr: $stderr"
		[ "$(sha "$input")" = "$before" ] || fail "$mode: the input changed"
	done
	check --json "$input"
	jq -e --arg w "$want" 'any(.findings[]; .code == "CORRUPT" and (.detail | contains($w)))' \
		<<<"$output" >/dev/null || fail "no CORRUPT finding with '$want': $output"
	for mode in --repair "--repair --undo $d/undo"; do
		# shellcheck disable=SC2086
		check $mode "$input"
		[ "$status" -eq 4 ] || fail "$mode: exit $status; stderr: $stderr"
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "$mode: stderr: $stderr"
		[[ ${stderr_lines[0]} == "ext4da-check: $input: not repairing: "* ]] || fail "$mode: $stderr"
		[ ! -e "$d/undo" ] || fail "$mode: an undo file was created"
		[ ! -e "$input.ext4da-undo" ] || fail "$mode: $input.ext4da-undo was created"
		[ "$(sha "$input")" = "$before" ] || fail "$mode: the input changed"
	done
}

@test "damaged input: garbage journal superblock on a clean filesystem" {
	# The journal does not need recovery (needs_recovery is clear), but
	# the tool always reads the journal superblock: to learn s_start,
	# and to report what the journal holds even with --no-replay.  It
	# cannot be used: the on-disk state is audited, the journal CORRUPT.
	run dumpe2fs -h "$BADJSB"
	refute_output --partial needs_recovery
	check_damaged_input "$BADJSB" "journal damaged (journal superblock"
}

@test "damaged input: corrupt group descriptor table (journal)" {
	check_damaged_input "$BADGDT" "group descriptor: the inode table"
}

@test "damaged input: corrupt group descriptor (BLOCK_UNINIT, inode table beyond the end)" {
	check_damaged_input "$UNINITGDT" "group descriptor: the inode table at block 99999"
}

@test "bad input: external journal not found by UUID, or not the right one" {
	export BLKID_FILE="$BATS_TEST_TMPDIR/blkid.tab"
	local before; before=$(sha "$EXTFS")
	check "$EXTFS"
	assert_bad_input "$EXTFS"
	[[ ${stderr_lines[0]} == *"not found"*"--journal"* ]]
	check --journal "$CLEAN" "$EXTFS"
	assert_bad_input "$EXTFS"
	check --journal "$BATS_FILE_TMPDIR/no-such.jnl" "$EXTFS"
	assert_bad_input "$EXTFS"
	[ "$(sha "$EXTFS")" = "$before" ]
}

# --- good input ---------------------------------------------------------------

@test "clean image: exit 0, 'clean', nothing on stderr, nothing written" {
	local img; img=$(copy_of "$CLEAN")
	local before; before=$(sha "$img")
	check "$img"
	assert_success
	[ -z "$stderr" ]
	assert_line --index 0 --regexp "^$img: audited the on-disk state: [0-9]+ inodes in use, [0-9]+ blocks owned$"
	assert_line "$img: clean"
	check -v "$img"
	assert_success
	assert_line "$img: clean"
	# Nothing to repair: nothing written, no undo file.
	check --repair "$img"
	assert_success
	[ ! -e "$img.ext4da-undo" ]
	[ "$(sha "$img")" = "$before" ]
}

@test "external journal: given with --journal, or found by UUID" {
	export BLKID_FILE="$BATS_TEST_TMPDIR/blkid.tab"
	local before jbefore
	before=$(sha "$EXTFS")
	jbefore=$(sha "$JDEV")
	check --journal "$JDEV" "$EXTFS"
	assert_success
	assert_line "$EXTFS: clean"
	attach "$JDEV" >/dev/null
	check "$EXTFS"
	assert_success
	[ "$(sha "$EXTFS")" = "$before" ]
	[ "$(sha "$JDEV")" = "$jbefore" ]
}

@test "crashed image: replayed in memory, nothing written; --no-replay audits the raw state" {
	local before; before=$(sha "$CRASHED")
	check "$CRASHED"
	assert_success
	assert_line --index 0 --partial "audited the recovered state (journal replayed in memory)"
	assert_line --regexp '^JOURNAL +info +: journal needed recovery: replayed [0-9]+ transaction'
	check --no-replay "$CRASHED"
	assert_success
	assert_line --index 0 --partial "audited the raw state"
	assert_line --regexp '^JOURNAL +info +: journal needs recovery'
	[ "$(sha "$CRASHED")" = "$before" ]
	run dumpe2fs -h "$CRASHED"
	assert_output --partial needs_recovery
}

@test "-q prints nothing on a clean image; errors are in the exit status" {
	check -q "$CLEAN"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	check -q "$CRASHED"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	check -q "$LEAKED"
	[ "$status" -eq 4 ]
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "--json parses, schema ext4da-check/1 (clean, recovered, raw)" {
	check --json "$CLEAN"
	assert_success
	[ -z "$stderr" ]
	run jq -e --arg img "$CLEAN" '.schema == "ext4da-check/1" and .image == $img
		and .audited == "on-disk" and .journal_needed_recovery == false
		and .replayed_transactions == 0 and .data_scan == false
		and .findings == [] and ([.counts[]] | add) == 0
		and .stats.inodes_in_use > 0 and .stats.owned_blocks > 0
		and .repaired == false and .undo_file == null and .exit == 0' <<<"$output"
	assert_success
	check --json "$CRASHED"
	assert_success
	run jq -e '.schema == "ext4da-check/1" and .audited == "recovered"
		and .journal_needed_recovery == true and .replayed_transactions > 0
		and .counts.JOURNAL == 1 and .exit == 0
		and ([.findings[] | select(.code == "JOURNAL")][0]
			| .severity == "info" and .group == null and .block == null
			  and .blocks == 0 and .inode == null)' <<<"$output"
	assert_success
	check --json --no-replay "$CRASHED"
	assert_success
	run jq -e '.audited == "raw" and .journal_needed_recovery == true
		and .replayed_transactions == 0' <<<"$output"
	assert_success
	# -q does not silence the document.
	check --json -q "$CLEAN"
	assert_success
	run jq -e '.schema == "ext4da-check/1"' <<<"$output"
	assert_success
}

@test "--json: findings with their codes, severities and locations, exit 4" {
	local a b
	a=$(debugfs -R 'ls -l /' "$FINDINGS" 2>/dev/null | awk '$NF == "a" { print $1 }')
	b=$(debugfs -R 'ls -l /' "$FINDINGS" 2>/dev/null | awk '$NF == "b" { print $1 }')
	check --json "$FINDINGS"
	[ "$status" -eq 4 ]
	[ -z "$stderr" ]
	run jq -e --argjson a "$a" --argjson b "$b" '.exit == 4
		and .counts.PAST_EOF == 1 and .counts.MULTIPLY_OWNED == 1
		and .counts.ORPHAN == 1 and .counts.UNCONVERTED == 1 and .counts.LEAKED >= 1
		and .stats.orphans == 1 and .stats.unconverted_blocks == 4
		and .stats.unconverted_files == 1 and .stats.leaked_blocks >= 4
		and (.findings[] | select(.code == "PAST_EOF")
			| .severity == "info" and .inode == $a and .logical_block == 3
			  and .logical_blocks == 5 and .blocks == 5 and .group == 0)
		and (.findings[] | select(.code == "MULTIPLY_OWNED")
			| .severity == "error" and .inode == $a and .other_inode == $b
			  and .blocks == 4 and .logical_block == 0 and .logical_blocks == 4)
		and (.findings[] | select(.code == "ORPHAN")
			| .severity == "info" and .inode == $a and .block == null)
		and (.findings[] | select(.code == "UNCONVERTED")
			| .severity == "info" and .inode == null and .blocks == 0)
		and ([.findings[] | select(.code == "LEAKED")]
			| all(.severity == "error" and .inode == null and .group == 0
			      and .logical_block == null))' <<<"$output"
	assert_success
	# The text report lists the same, -v adds the information findings.
	check "$FINDINGS"
	[ "$status" -eq 4 ]
	assert_line --regexp "^MULTIPLY_OWNED +error +group 0 blocks [0-9]+-[0-9]+ inode $a \\([^)]*\\) and inode $b \\([^)]*\\) logical 0-3: "
	refute_line --regexp '^ORPHAN '
	check -v "$FINDINGS"
	assert_line --regexp "^ORPHAN +info +inode $a \\([^)]*\\): pending orphan"
	refute_line "$FINDINGS: clean"
}

@test "progress: off when stderr is not a terminal, --progress forces it" {
	check "$CRASHED"
	assert_success
	[ -z "$stderr" ]
	check --progress "$CRASHED"
	assert_success
	[[ $stderr == *"100%"* ]] || fail "no progress on stderr: $stderr"
	[[ $output != *"100%"* ]] || fail "progress on stdout"
	check -q --progress "$CRASHED"
	assert_success
	[[ $stderr == *"100%"* ]]
	[ -z "$output" ]
	check --json --progress "$CRASHED"
	assert_success
	jq -e . <<<"$output" >/dev/null
	check --progress --no-progress "$CRASHED"
	assert_success
	[ -z "$stderr" ]
	check --no-progress "$CRASHED"
	[ -z "$stderr" ]
}

# --- the data scan ------------------------------------------------------------

@test "data scan: automatic on a poisoned image, --no-data, --data" {
	check "$POISONED"
	[ "$status" -eq 4 ]
	assert_line --index 0 --partial ", data scanned"
	assert_line --regexp '^STALE +error +group 0 blocks ([0-9]+)-\1 inode [0-9]+ \([^)]*\) logical 0-0: never written: holds the device.s poison \(sector [0-9]+\)$'
	check --json "$POISONED"
	run jq -e '.data_scan == true and .counts.STALE == 8 and .stats.stale_blocks == 8
		and .stats.data_blocks_scanned >= 8
		and ([.findings[] | select(.code == "STALE") | .logical_block] == [range(8)])' \
		<<<"$output"
	assert_success
	check --no-data "$POISONED"
	assert_success
	refute_line --partial "data scanned"
	check --data --no-data "$POISONED"
	assert_success
	check --json "$CLEAN"
	run jq -e '.data_scan == false and .stats.data_blocks_scanned == 0' <<<"$output"
	assert_success
	check --json --data "$CLEAN"
	assert_success
	run jq -e '.data_scan == true and .counts.STALE == 0' \
		<<<"$output"
	assert_success
}

@test "data scan: another file's stamps are STALE with --data, not scanned without" {
	local img mnt pa pb a; img=$(copy_of "$CLEAN"); mnt="$(scratch)/mnt"
	mkdir "$mnt"
	mount -o loop "$img" "$mnt"
	echo "$mnt" >>"$BATS_TEST_TMPDIR/mounts"
	ext4da-stamp -q --seed 1 create "$mnt/a" 8K
	ext4da-stamp -q --seed 2 create "$mnt/b" 8K
	umount "$mnt"
	check --data "$img"
	assert_success
	# Copy /a's stamped blocks over /b's: /b now holds /a's data.
	pa=$(bmap "$img" /a 0)
	pb=$(bmap "$img" /b 0)
	dd if="$img" of="$img" bs=1024 skip="$pa" seek="$pb" count=8 conv=notrunc status=none
	a=$(debugfs -R 'ls -l /' "$img" 2>/dev/null | awk '$NF == "a" { print $1 }')
	check "$img"
	assert_success
	check --data "$img"
	[ "$status" -eq 4 ]
	assert_line --regexp "^STALE +error +group 0 blocks $((pb + 1))-$((pb + 1)) inode [0-9]+ \\(/b\\) logical 1-1: holds data written for inode $a generation [0-9]+ at offset 1024$"
	check --json --data "$img"
	run jq -e '.counts.STALE == 8 and .stats.stale_blocks == 8' <<<"$output"
	assert_success
}

@test "data scan: a freshly made poisoned filesystem is clean (lazy_journal_init)" {
	# mkfs leaves the journal's blocks unwritten with lazy_journal_init:
	# they hold poison, but the journal is not file data.
	local img; img="$(scratch)/fresh.img"
	make_poisoned "$img" lazy_journal_init=1
	check "$img"
	assert_success
	assert_line "$img: clean"
}

# --- repair -------------------------------------------------------------------

@test "--repair frees LEAKED blocks: exit 1, default undo file, e2fsck clean, e2undo restores" {
	local img before; img=$(copy_of "$LEAKED")
	before=$(sha "$img")
	run e2fsck -fn "$img"
	[ "$status" -ne 0 ]
	check --repair "$img"
	[ "$status" -eq 1 ] || fail "exit $status: $output $stderr"
	[ -z "$stderr" ]
	assert_line --regexp '^LEAKED +error +group 0 blocks 5000-5009: '
	assert_line "$img: repaired LEAKED and GROUP_COUNTS; undo with: e2undo $img.ext4da-undo $img"
	[ -s "$img.ext4da-undo" ]
	run e2fsck -fn "$img"
	assert_success
	check "$img"
	assert_success
	assert_line "$img: clean"
	run e2undo "$img.ext4da-undo" "$img"
	assert_success
	[ "$(sha "$img")" = "$before" ]
}

@test "--repair --json --undo FILE: repaired, undo_file, exit 1" {
	local img d; img=$(copy_of "$LEAKED"); d=$(scratch)
	check --repair --json --undo "$d/check.undo" "$img"
	[ "$status" -eq 1 ]
	run jq -e --arg u "$d/check.undo" '.repaired == true and .undo_file == $u and .exit == 1
		and .counts.LEAKED == 1' <<<"$output"
	assert_success
	[ -s "$d/check.undo" ] && [ ! -e "$img.ext4da-undo" ]
}

@test "--repair with other errors fixes what it can and exits 4" {
	local img; img=$(copy_of "$FINDINGS")
	check --repair --json --undo "$(scratch)/undo" "$img"
	[ "$status" -eq 4 ]
	run jq -e '.repaired == true and .exit == 4' <<<"$output"
	assert_success
	check --json "$img"
	[ "$status" -eq 4 ]
	run jq -e '.counts.LEAKED == 0 and .counts.MULTIPLY_OWNED == 1 and .counts.PAST_EOF == 1' \
		<<<"$output"
	assert_success
}

@test "--repair is refused when the journal needs recovery, nothing written" {
	local img before; img=$(copy_of "$LEAKED")
	debugfs -w -R "feature needs_recovery" "$img" >/dev/null 2>&1
	before=$(sha "$img")
	check "$img"
	[ "$status" -eq 4 ]
	check --repair "$img"
	assert_bad_input "$img"
	[[ ${stderr_lines[0]} == *"needs recovery"* ]]
	check --repair --undo "$(scratch)/undo" --json "$img"
	assert_bad_input "$img" --json
	[ ! -e "$img.ext4da-undo" ] && [ ! -e "$(scratch)/undo" ]
	[ "$(sha "$img")" = "$before" ]
}

@test "--repair: the undo file exists, not overwritten, image untouched" {
	local img d before; img=$(copy_of "$LEAKED"); d=$(scratch)
	before=$(sha "$img")
	echo keep >"$d/undo"
	check --repair --undo "$d/undo" "$img"
	assert_bad_input "$img"
	[[ ${stderr_lines[0]} == *"already exists"* ]]
	[ "$(cat "$d/undo")" = keep ]
	echo keep >"$img.ext4da-undo"
	check --repair "$img"
	assert_bad_input "$img"
	[ "$(cat "$img.ext4da-undo")" = keep ]
	[ "$(sha "$img")" = "$before" ]
}

@test "--repair: an existing undo file is refused even when there is nothing to repair" {
	local img d before; img=$(copy_of "$CLEAN"); d=$(scratch)
	before=$(sha "$img")
	echo keep >"$d/undo"
	check --repair --undo "$d/undo" "$img"
	assert_bad_input "$img"
	[[ ${stderr_lines[0]} == *"undo file $d/undo already exists"* ]]
	[ "$(cat "$d/undo")" = keep ]
	[ "$(sha "$img")" = "$before" ]
	# The same rule, and the same words, as ext4da-replay --undo.
	run --separate-stderr ext4da-replay --undo "$d/undo" "$img"
	[ "$status" -eq 8 ]
	[[ ${stderr_lines[0]} == "ext4da-replay: $img: undo file $d/undo already exists"* ]]
	[ "$(sha "$img")" = "$before" ]
}

@test "bad input: --journal with an internal journal, or none, is refused" {
	local p before; before=$(sha "$CLEAN")
	for p in "$ADIR" /dev/null "$BATS_FILE_TMPDIR/no-such.jnl" "$CLEAN" "$JDEV"; do
		for mode in "" --no-replay --json; do
			# shellcheck disable=SC2086
			check $mode --journal "$p" "$CLEAN"
			assert_bad_input "$CLEAN" "--journal $p $mode"
			[[ ${stderr_lines[0]} == *"--journal $p given, but the filesystem's journal is internal"* ]]
		done
	done
	check --journal "$JDEV" "$NOJOURNAL"
	assert_bad_input "$NOJOURNAL"
	[[ ${stderr_lines[0]} == *"has no journal"* ]]
	[ "$(sha "$CLEAN")" = "$before" ]
}

@test "bad input: a journal inode whose i_size_high is absurd is corrupt, not out of memory" {
	local img; img=$(copy_of "$CLEAN")
	# 2^32 - 4096 blocks of 1 KiB: tens of GiB of map if taken at its word.
	debugfs -w -R "sif <8> size 0x3ffffc00000" "$img" >/dev/null 2>&1
	check "$img"
	[ "$status" -eq 4 ]
	assert_output --partial "journal inode 8 is corrupt: its size (4294963200 blocks) is larger than the filesystem"
	refute_output --partial "memory"
}

@test "--repair: an undo file that cannot be created, image untouched" {
	local img before; img=$(copy_of "$LEAKED")
	before=$(sha "$img")
	check --repair --undo "$BATS_FILE_TMPDIR/no-such-dir/undo" "$img"
	assert_bad_input "$img"
	check --repair --undo= "$img"
	assert_bad_input "$img"
	[ "$(sha "$img")" = "$before" ]
}

@test "--repair is refused on a mounted filesystem" {
	local img dev mnt; img=$(copy_of "$NOJOURNAL"); mnt="$(scratch)/mnt"
	debugfs -w -R "setb 5000 10" "$img" >/dev/null 2>&1
	dev=$(attach "$img")
	mkdir "$mnt"
	mount "$dev" "$mnt"
	echo "$mnt" >>"$BATS_TEST_TMPDIR/mounts"
	check --repair --undo "$(scratch)/undo" "$dev"
	assert_bad_input "$dev"
	[ ! -e "$(scratch)/undo" ]
}

@test "--repair never frees the blocks of a file the inode scan skipped (bg_itable_unused)" {
	# A descriptor claims the group's inode table is unused from inode 9
	# on; e2fsck notices that directory entries point there and keeps the
	# inodes.  Freeing their blocks would set up a double allocation.
	local img blk ipg; img=$(copy_of "$CLEAN")
	debugfs -w -R "write $DATA8K a" "$img" >/dev/null 2>&1
	blk=$(bmap "$img" /a 0)
	ipg=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Inodes per group/ { print $2 + 0 }')
	debugfs -w -f - "$img" >/dev/null 2>&1 <<-EOF
		set_bg 0 itable_unused $((ipg - 8))
		set_bg 0 checksum calc
	EOF
	check --repair --undo "$(scratch)/undo" "$img"
	run debugfs -R "testb $blk 8" "$img"
	refute_output --partial "not in use"
}

@test "MULTIPLY_OWNED: a block claimed twice by the same inode" {
	local img first; img=$(copy_of "$CLEAN")
	{ head -c 2048 "$DATA8K"; head -c $((98 * 1024)) /dev/zero; head -c 2048 "$DATA8K"; } \
		>"$(scratch)/sparse"
	debugfs -w -R "write $(scratch)/sparse s" "$img" >/dev/null 2>&1
	run debugfs -R "ex /s" "$img"
	[ "$(grep -cE '^ *0/ *0' <<<"$output")" -eq 2 ] || fail "expected two extents: $output"
	first=$(bmap "$img" /s 0)
	debugfs -w -R "sif /s block[8] $first" "$img" >/dev/null 2>&1
	run e2fsck -fn "$img"
	assert_output --partial "multiply-claimed"
	check --json "$img"
	[ "$status" -eq 4 ]
	run jq -e '.counts.MULTIPLY_OWNED >= 1' <<<"$output"
	assert_success
}

# --- man page and completion --------------------------------------------------

@test "man page: no groff or man warnings, whatis entry, sections" {
	local page=$SRCDIR/man/ext4da-check.8
	run groff -man -Tutf8 -ww -z "$page"
	assert_success
	[ -z "$output" ] || fail "groff warnings: $output"
	run --separate-stderr man --warnings=all -l "$page"
	assert_success
	[ -z "$stderr" ] || fail "man warnings: $stderr"
	run lexgrog "$page"
	assert_success
	assert_output --partial "ext4da-check - "
	run man_text ext4da-check.8
	local s
	for s in NAME SYNOPSIS DESCRIPTION FINDINGS OWNERS REPAIR OPTIONS OUTPUT "JSON OUTPUT" \
		"EXIT STATUS" EXAMPLES "SEE ALSO"; do
		assert_line "$s"
	done
	for s in LEAKED UNMARKED MULTIPLY_OWNED PAST_EOF UNCONVERTED STALE GROUP_COUNTS ORPHAN \
		JOURNAL CORRUPT E4DAPOIS e2undo "e2fsck -fn" ext4da-check/1; do
		assert_output --partial "$s"
	done
	run man_text ext4da.7
	assert_output --partial "ext4da-check/1"
	assert_output --partial "ext4da-check(8)"
}

@test "man page documents every option of --help" {
	local text opt
	text=$(man_text ext4da-check.8)
	while read -r opt; do
		[[ $text =~ (^|[^[:alnum:]-])${opt//\?/\\?}([^[:alnum:]-]|$) ]] ||
			fail "ext4da-check.8 does not mention $opt"
	done < <(help_options)
}

@test "man page documents every JSON member the tool prints" {
	local text key img
	text=$(man_text ext4da-check.8)
	img=$(copy_of "$LEAKED")
	{
		ext4da-check --json "$CLEAN"
		ext4da-check --json "$CRASHED"
		ext4da-check --json "$FINDINGS"
		ext4da-check --json "$POISONED"
		ext4da-check --json --repair --undo "$(scratch)/undo" "$img"
	} | jq -rs '[.[] | paths | .[] | strings] | unique | .[]' >"$BATS_TEST_TMPDIR/keys"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/keys")" -gt 30 ]
	while read -r key; do
		[[ $text =~ (^|[^[:alnum:]_])${key}([^[:alnum:]_]|$) ]] ||
			fail "ext4da-check.8 does not document JSON member $key"
	done <"$BATS_TEST_TMPDIR/keys"
}

@test "completion: every option of --help, and prefixes" {
	source "$SRCDIR/completions/ext4da-check"
	complete -p ext4da-check | grep -q -- '-F _ext4da_check'
	complete_words ext4da-check -
	local opt
	while read -r opt; do
		[[ " ${COMPREPLY[*]} " == *" $opt "* ]] || fail "completion does not offer $opt"
	done < <(help_options)
	complete_words ext4da-check --rep
	assert_equal "${COMPREPLY[*]}" "--repair"
	complete_words ext4da-check --no-r
	assert_equal "${COMPREPLY[*]}" "--no-replay"
	complete_words ext4da-check --no-
	assert_equal "${COMPREPLY[*]}" "--no-replay --no-data --no-progress"
}

@test "completion: files for IMAGE, --undo, --journal" {
	source "$SRCDIR/completions/ext4da-check"
	local d; d=$(scratch)
	cd "$d"
	touch alpha.img beta.undo
	mkdir gamma
	complete_words ext4da-check a
	assert_equal "${COMPREPLY[*]}" "alpha.img"
	complete_words ext4da-check -v ""
	[[ " ${COMPREPLY[*]} " == *" alpha.img "* && " ${COMPREPLY[*]} " == *" gamma "* ]]
	local opt
	for opt in -u --undo -j --journal; do
		complete_words ext4da-check --repair "$opt" b
		assert_equal "${COMPREPLY[*]}" "beta.undo"
	done
	complete_words ext4da-check --undo=b
	assert_equal "${COMPREPLY[*]}" "beta.undo"
	complete_words ext4da-check --journal = b
	assert_equal "${COMPREPLY[*]}" "beta.undo"
	# Only one IMAGE: nothing more once it is on the line.
	complete_words ext4da-check alpha.img ""
	assert_equal "${#COMPREPLY[@]}" 0
	complete_words ext4da-check -r --undo beta.undo alpha.img ""
	assert_equal "${#COMPREPLY[@]}" 0
	# ... but options still complete.
	complete_words ext4da-check alpha.img --js
	assert_equal "${COMPREPLY[*]}" "--json"
}

@test "completion: block devices for IMAGE and --journal" {
	source "$SRCDIR/completions/ext4da-check"
	local dev
	dev=$(find /dev -maxdepth 1 -type b -print -quit)
	[ -n "$dev" ] || skip "no block device in /dev"
	complete_words ext4da-check "$dev"
	[[ " ${COMPREPLY[*]} " == *" $dev "* ]]
	complete_words ext4da-check --journal "$dev"
	[[ " ${COMPREPLY[*]} " == *" $dev "* ]]
}
