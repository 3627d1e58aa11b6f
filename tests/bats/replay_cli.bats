#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-replay's chrome and bad input: help, version, usage errors, one-line
# errors with exit 8 and no write on bad input, clean and idempotent runs,
# undo, JSON, quiet and verbose output, the man pages and the completion.

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
	require_root
	local d=$BATS_FILE_TMPDIR blk
	export CLEAN="$d/clean.img" NOJOURNAL="$d/nojournal.img" RANDOM_IMG="$d/random.img"
	export EMPTY="$d/empty.img" TRUNCATED="$d/truncated.img" BADJSB="$d/badjsb.img"
	export CRASHED="$d/crashed.img" JDEV="$d/jdev.img" EXTFS="$d/extfs.img" ADIR="$d/adir"

	truncate -s 8M "$CLEAN"
	mkfs.ext4 -q -F "$CLEAN"
	truncate -s 8M "$NOJOURNAL"
	mkfs.ext4 -q -F -O ^has_journal "$NOJOURNAL"
	head -c 1M /dev/urandom >"$RANDOM_IMG"
	: >"$EMPTY"
	mkdir "$ADIR"
	# Cut inside the filesystem: the superblock is intact, the end is gone.
	head -c 3M "$CLEAN" >"$TRUNCATED"
	# Random bytes over the journal superblock (the journal inode's block 0).
	cp "$CLEAN" "$BADJSB"
	blk=$(debugfs -R 'bmap <8> 0' "$BADJSB" 2>/dev/null)
	[[ $blk =~ ^[0-9]+$ ]] || fail "debugfs bmap <8> 0 gave '$blk'"
	dd if=/dev/urandom of="$BADJSB" bs="$(block_size "$BADJSB")" seek="$blk" count=1 \
		conv=notrunc status=none
	"$SRCDIR/tests/fixtures/mkcrashed" "$CRASHED" 7
	# A filesystem with an external journal: mkfs wants the journal on a
	# block device, so attach it only while mkfs runs.
	truncate -s 4M "$JDEV"
	mke2fs -q -F -O journal_dev -b 1024 "$JDEV"
	truncate -s 16M "$EXTFS"
	blk=$(losetup -f --show "$JDEV")
	mkfs.ext4 -q -F -b 1024 -J device="$blk" "$EXTFS" || { losetup -d "$blk"; false; }
	losetup -d "$blk"
}

teardown() {
	local dev
	if [ -f "$BATS_TEST_TMPDIR/loops" ]; then
		while read -r dev; do
			losetup -d "$dev" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/loops"
	fi
}

block_size() {
	dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Block size/ { gsub(/ /, "", $2); print $2 }'
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
replay() {
	run --separate-stderr ext4da-replay "$@"
}

# Exit 8, nothing on stdout, and exactly one line on stderr:
# "ext4da-replay: INPUT: problem" (the problem not repeating INPUT).
assert_bad_input() {
	local input=$1 what=${2:-}
	[ "$status" -eq 8 ] || fail "${what:+$what: }exit status $status, expected 8; stderr: $stderr"
	# Under --json the error is also one ext4da-error/1 object on stdout.
	if [[ $what == *--json* ]]; then
		jq -e '.schema == "ext4da-error/1" and .tool == "ext4da-replay" and .exit == 8' \
			<<<"$output" >/dev/null || fail "${what:+$what: }no JSON error on stdout: $output"
	else
		[ -z "$output" ] || fail "${what:+$what: }expected nothing on stdout, got: $output"
	fi
	[ "${#stderr_lines[@]}" -eq 1 ] ||
		fail "${what:+$what: }expected one line on stderr, got ${#stderr_lines[@]}: $stderr"
	[[ ${stderr_lines[0]} == "ext4da-replay: $input: "?* ]] ||
		fail "${what:+$what: }error line not 'ext4da-replay: $input: problem': ${stderr_lines[0]}"
	[[ ${stderr_lines[0]} != "ext4da-replay: $input: $input: "* ]] ||
		fail "${what:+$what: }error line names the input twice: ${stderr_lines[0]}"
}

# Exit 16, nothing on stdout, and an error first on stderr.
assert_usage_error() {
	[ "$status" -eq 16 ] || fail "exit status $status, expected 16; stderr: $stderr"
	[ -z "$output" ] || fail "expected nothing on stdout, got: $output"
	[ "${#stderr_lines[@]}" -ge 1 ] || fail "expected an error on stderr"
	[[ ${stderr_lines[0]} == "ext4da-replay: "?* ]] ||
		fail "error line does not start with 'ext4da-replay: ': ${stderr_lines[0]}"
}

# Every mode rejects a bad INPUT the same way, and writes nothing anywhere.
check_bad_input() {
	local input=$1 d before='' mode
	d=$(scratch)
	[ -f "$input" ] && before=$(sha "$input")
	for mode in "" --list --dry-run --json "--list --json" "-v" "-q" \
		"--undo $d/undo" "--output $d/out.img"; do
		# shellcheck disable=SC2086
		replay $mode "$input"
		assert_bad_input "$input" "ext4da-replay $mode"
		[ ! -e "$d/undo" ] || fail "$mode: an undo file was created"
		[ ! -e "$d/out.img" ] && [ ! -e "$d/out.img.partial" ] ||
			fail "$mode: an output file was created"
		[ -z "$before" ] || [ "$(sha "$input")" = "$before" ] || fail "$mode: the input changed"
	done
}

# The options --help lists, one a line (-? -V -j ... --version).
help_options() {
	ext4da-replay --help | grep -oE '(^| )(-[[:alnum:]?]|--[[:alnum:]-]+)' | tr -d ' ' | sort -u
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
	_ext4da_replay
}

# --- help, version, usage errors ---------------------------------------------

@test "--help: stdout, exit 0, every option" {
	replay --help
	assert_success
	[ -z "$stderr" ]
	assert_output --partial "Usage: ext4da-replay"
	local opt
	for opt in -l --list -n --dry-run -o --output -u --undo --upto --journal --json \
		-v --verbose -q --quiet --progress --no-progress -V --version --usage; do
		[[ $output =~ (^|[^[:alnum:]-])$opt([^[:alnum:]-]|$) ]] || fail "--help does not mention $opt"
	done
}

@test "--usage: stdout, exit 0" {
	replay --usage
	assert_success
	[ -z "$stderr" ]
	assert_output --partial "--upto"
}

@test "--version and -V: exit 0, print the package version" {
	local version
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$BUILDDIR/config.h")
	[ -n "$version" ]
	replay --version
	assert_success
	[ -z "$stderr" ]
	assert_output "ext4da-replay $version"
	replay -V
	assert_success
	assert_output "ext4da-replay $version"
}

@test "usage error: unknown option" {
	replay --bogus "$CLEAN"
	assert_usage_error
	assert_equal "${stderr_lines[0]}" "ext4da-replay: unrecognized option '--bogus'"
	replay -Z "$CLEAN"
	assert_usage_error
}

@test "usage error: missing IMAGE" {
	replay
	assert_usage_error
	[[ $stderr == *"no IMAGE"* ]]
	replay --list
	assert_usage_error
}

@test "usage error: two IMAGEs" {
	local before; before=$(sha "$CRASHED")
	replay "$CRASHED" "$CLEAN"
	assert_usage_error
	[ "$(sha "$CRASHED")" = "$before" ]
}

@test "usage error: --output with --list, and with --dry-run" {
	local d; d=$(scratch)
	replay --list --output "$d/out.img" "$CRASHED"
	assert_usage_error
	replay --dry-run --output "$d/out.img" "$CRASHED"
	assert_usage_error
	replay -n --undo "$d/undo" "$CRASHED"
	assert_usage_error
	[ ! -e "$d/out.img" ] && [ ! -e "$d/undo" ]
}

@test "usage error: --output with --undo" {
	local d img; d=$(scratch); img=$(copy_of "$CRASHED")
	local before; before=$(sha "$img")
	replay --output "$d/out.img" --undo "$d/undo" "$img"
	assert_usage_error
	[ ! -e "$d/out.img" ] && [ ! -e "$d/undo" ]
	[ "$(sha "$img")" = "$before" ]
}

@test "usage error: --upto abc, -1, 2^32, empty" {
	local img; img=$(copy_of "$CRASHED")
	local before tid
	before=$(sha "$img")
	for tid in abc -1 4294967296 "" 3x; do
		replay --upto "$tid" "$img"
		assert_usage_error
	done
	[ "$(sha "$img")" = "$before" ]
}

@test "usage error: --upto with --list" {
	replay --list --upto 3 "$CRASHED"
	assert_usage_error
}

# --- bad input: one line, exit 8, nothing written -----------------------------

@test "bad input: missing file" {
	check_bad_input "$BATS_FILE_TMPDIR/no-such.img"
	[[ ${stderr_lines[0]} == *"No such file"* ]]
}

@test "bad input: a directory" {
	check_bad_input "$ADIR"
}

@test "bad input: a character device" {
	check_bad_input /dev/null
}

@test "bad input: random bytes (not ext4)" {
	check_bad_input "$RANDOM_IMG"
}

@test "bad input: an empty file" {
	check_bad_input "$EMPTY"
}

@test "bad input: ext4 without a journal" {
	check_bad_input "$NOJOURNAL"
	[[ ${stderr_lines[0]} == *"no journal"* ]]
}

@test "bad input: truncated image" {
	check_bad_input "$TRUNCATED"
	[[ ${stderr_lines[0]} == *"truncated"* ]]
}

@test "bad input: garbage journal superblock" {
	check_bad_input "$BADJSB"
	[[ ${stderr_lines[0]} == *"journal superblock"* ]]
}

@test "bad input: an external journal device given as IMAGE" {
	check_bad_input "$JDEV"
}

@test "bad input: --upto out of range on a crashed image" {
	local img d; img=$(copy_of "$CRASHED"); d=$(scratch)
	local before mode tid
	before=$(sha "$img")
	for tid in 1 99 4294967295; do
		for mode in "" --dry-run --json "--undo $d/undo" "--output $d/out.img"; do
			# shellcheck disable=SC2086
			replay --upto "$tid" $mode "$img"
			assert_bad_input "$img" "--upto $tid $mode"
			[ ! -e "$d/undo" ] && [ ! -e "$d/out.img" ]
		done
	done
	[[ ${stderr_lines[0]} == *"out of range"* ]]
	[ "$(sha "$img")" = "$before" ]
}

@test "bad input: --upto on a clean journal" {
	local img; img=$(copy_of "$CLEAN")
	local before; before=$(sha "$img")
	replay --upto 1 "$img"
	assert_bad_input "$img"
	[ "$(sha "$img")" = "$before" ]
}

@test "bad input: --output FILE exists (not overwritten)" {
	local d; d=$(scratch)
	local before; before=$(sha "$CRASHED")
	echo keep >"$d/out.img"
	replay --output "$d/out.img" "$CRASHED"
	assert_bad_input "$CRASHED"
	[[ ${stderr_lines[0]} == *"already exists"* ]]
	[ "$(cat "$d/out.img")" = keep ]
	[ "$(sha "$CRASHED")" = "$before" ]
}

@test "bad input: --undo FILE exists (not overwritten, image untouched)" {
	local d img; d=$(scratch); img=$(copy_of "$CRASHED")
	local before; before=$(sha "$img")
	echo keep >"$d/undo"
	replay --undo "$d/undo" "$img"
	assert_bad_input "$img"
	[[ ${stderr_lines[0]} == *"already exists"* ]]
	[ "$(cat "$d/undo")" = keep ]
	[ "$(sha "$img")" = "$before" ]
}

@test "bad input: --output into a missing directory (crashed image)" {
	local before; before=$(sha "$CRASHED")
	replay --output "$BATS_FILE_TMPDIR/no-such-dir/out.img" "$CRASHED"
	assert_bad_input "$CRASHED"
	[ "$(sha "$CRASHED")" = "$before" ]
}

@test "bad input: --output into a missing directory (clean image)" {
	local before; before=$(sha "$CLEAN")
	replay --output "$BATS_FILE_TMPDIR/no-such-dir/out.img" "$CLEAN"
	assert_bad_input "$CLEAN"
	replay --json --output "$BATS_FILE_TMPDIR/no-such-dir/out.img" "$CLEAN"
	assert_bad_input "$CLEAN" "--json"
	[ "$(sha "$CLEAN")" = "$before" ]
}

@test "--output from a block device: the device is copied, then replayed; it stays as it was" {
	local img dev d; img=$(copy_of "$CRASHED"); d=$(scratch)
	local before; before=$(sha "$img")
	dev=$(attach "$img")
	replay --output "$d/out.img" "$dev"
	[ "$status" -eq 0 ]
	ext4da-replay -q --output "$d/ref.img" "$img"
	cmp "$d/ref.img" "$d/out.img"
	[ ! -e "$d/out.img.partial" ]
	[ "$(sha "$img")" = "$before" ]
}

@test "bad input: external journal not found by UUID" {
	export BLKID_FILE="$BATS_TEST_TMPDIR/blkid.tab"
	local before; before=$(sha "$EXTFS")
	replay --list "$EXTFS"
	assert_bad_input "$EXTFS"
	[[ ${stderr_lines[0]} == *"not found"*"--journal"* ]]
	replay "$EXTFS"
	assert_bad_input "$EXTFS"
	[ "$(sha "$EXTFS")" = "$before" ]
}

@test "bad input: --journal is not the filesystem's journal" {
	replay --list --journal "$CLEAN" "$EXTFS"
	assert_bad_input "$EXTFS"
	replay --list --journal "$BATS_FILE_TMPDIR/no-such.jnl" "$EXTFS"
	assert_bad_input "$EXTFS"
}

@test "bad input: --journal with an internal journal is refused, not ignored" {
	local p mode before; before=$(sha "$CLEAN")
	for p in "$ADIR" /dev/null "$BATS_FILE_TMPDIR/no-such.jnl" "$CLEAN" "$JDEV"; do
		for mode in --list --dry-run "" "--undo $(scratch)/undo"; do
			# shellcheck disable=SC2086
			replay $mode --journal "$p" "$CLEAN"
			assert_bad_input "$CLEAN" "--journal $p $mode"
			[[ ${stderr_lines[0]} == *"--journal $p given, but the filesystem's journal is internal (inode 8)" ]]
			[ ! -e "$(scratch)/undo" ]
		done
	done
	[ "$(sha "$CLEAN")" = "$before" ]
}

@test "bad input: a journal inode whose i_size_high is absurd is corrupt, not out of memory" {
	local img; img=$(copy_of "$CLEAN")
	local before
	debugfs -w -R "sif <8> size 0x3ffffc00000" "$img" >/dev/null 2>&1
	before=$(sha "$img")
	replay --list "$img"
	assert_bad_input "$img"
	[[ ${stderr_lines[0]} == *"journal inode 8 is corrupt: its size (4294963200 blocks) is larger than the filesystem (8192 blocks)" ]]
	replay "$img"
	assert_bad_input "$img"
	[ "$(sha "$img")" = "$before" ]
}

@test "bad input: --output with an external journal is refused" {
	local d; d=$(scratch)
	local before jbefore
	before=$(sha "$EXTFS")
	jbefore=$(sha "$JDEV")
	replay --journal "$JDEV" --output "$d/out.img" "$EXTFS"
	assert_bad_input "$EXTFS"
	[[ ${stderr_lines[0]} == *"external"* ]]
	[ ! -e "$d/out.img" ] && [ ! -e "$d/out.img.partial" ]
	[ "$(sha "$EXTFS")" = "$before" ]
	[ "$(sha "$JDEV")" = "$jbefore" ]
}

# --- good input ---------------------------------------------------------------

@test "clean image: journal is clean, exit 0, nothing written" {
	local img d; img=$(copy_of "$CLEAN"); d=$(scratch)
	local before; before=$(sha "$img")
	replay "$img"
	assert_success
	assert_output "$img: journal is clean, nothing to replay"
	[ -z "$stderr" ]
	[ "$(sha "$img")" = "$before" ]
	replay --undo "$d/undo" "$img"
	assert_success
	[ ! -e "$d/undo" ]
	[ "$(sha "$img")" = "$before" ]
	replay --output "$d/out.img" "$img"
	assert_success
	[ "$(sha "$d/out.img")" = "$before" ]
	[ "$(sha "$img")" = "$before" ]
}

@test "in-place replay, then a second run says clean (idempotent)" {
	local img; img=$(copy_of "$CRASHED")
	replay "$img"
	assert_success
	assert_line --partial "replayed"
	assert_line --partial "journal marked empty"
	run dumpe2fs -h "$img"
	refute_output --partial needs_recovery
	local after; after=$(sha "$img")
	replay "$img"
	assert_success
	assert_output "$img: journal is clean, nothing to replay"
	[ "$(sha "$img")" = "$after" ]
}

@test "--undo in place, then e2undo restores the original exactly" {
	local img d; img=$(copy_of "$CRASHED"); d=$(scratch)
	local before; before=$(sha "$img")
	replay --undo "$d/undo" "$img"
	assert_success
	assert_output --partial "undo file written"
	[ -s "$d/undo" ]
	[ "$(sha "$img")" != "$before" ]
	run e2undo "$d/undo" "$img"
	assert_success
	[ "$(sha "$img")" = "$before" ]
}

@test "--json --list parses, schema ext4da-replay/1" {
	replay --list --json "$CRASHED"
	assert_success
	[ -z "$stderr" ]
	run jq -e '.schema == "ext4da-replay/1" and .action == "list"
		and (.transactions | length) > 0 and .replayable > 0
		and .journal.location == "internal" and .fatal == null
		and (.transactions[0] | has("tags") | not)' <<<"$output"
	assert_success
	replay --list --json -v "$CRASHED"
	assert_success
	run jq -e '[.transactions[].tags[] | .log_block, .fs_block] | all(type == "number")' \
		<<<"$output"
	assert_success
}

@test "--json --dry-run parses, writes nothing" {
	local before; before=$(sha "$CRASHED")
	replay --dry-run --json "$CRASHED"
	assert_success
	run jq -e '.schema == "ext4da-replay/1" and .action == "dry-run" and .written == false
		and .next_sequence == null and .exit == 0 and .replay.transactions > 0
		and .replay.blocks_written > 0' <<<"$output"
	assert_success
	[ "$(sha "$CRASHED")" = "$before" ]
}

@test "--json replay parses and matches what --list promised" {
	local img; img=$(copy_of "$CRASHED")
	replay --list --json "$img"
	local n end
	n=$(jq .replayable <<<"$output")
	end=$(jq .end_tid <<<"$output")
	replay --json "$img"
	assert_success
	run jq -e --argjson n "$n" --argjson e "$end" '.schema == "ext4da-replay/1"
		and .action == "replay" and .written == true and .exit == 0
		and .replay.transactions == $n and .replay.end_tid == $e
		and .next_sequence == $e + 1' <<<"$output"
	assert_success
}

@test "-q prints nothing on success" {
	local img; img=$(copy_of "$CRASHED")
	replay -q --list "$img"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	replay -q --dry-run "$img"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	replay -q "$img"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	replay -q "$img"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "--list -v shows every tag as 'log N -> fs M'" {
	replay --list "$CRASHED"
	assert_success
	refute_output --regexp 'log [0-9]+ +-> fs [0-9]+'
	replay --list -v "$CRASHED"
	assert_success
	assert_output --regexp 'log [0-9]+ +-> fs [0-9]+'
	local tags
	tags=$(ext4da-replay --list --json "$CRASHED" | jq '[.transactions[].data_blocks] | add')
	[ "$(grep -cE '^ +log [0-9]+ +-> fs [0-9]+' <<<"$output")" -eq "$tags" ]
}

@test "progress: off when stderr is not a terminal, --progress forces it" {
	replay --dry-run "$CRASHED"
	assert_success
	[ -z "$stderr" ]
	replay --dry-run --progress "$CRASHED"
	assert_success
	[[ $stderr == *"100%"* ]]
	replay --dry-run --progress --no-progress "$CRASHED"
	assert_success
	[ -z "$stderr" ]
}

@test "external journal: found by UUID with libblkid, or given with --journal" {
	export BLKID_FILE="$BATS_TEST_TMPDIR/blkid.tab"
	replay --list --journal "$JDEV" "$EXTFS"
	assert_success
	assert_output --partial "journal: external"
	local dev; dev=$(attach "$JDEV")
	replay --list --json "$EXTFS"
	assert_success
	run jq -e --arg dev "$dev" '.journal.location == "external" and .journal.device == $dev' \
		<<<"$output"
	assert_success
}

# --- man pages and completion -----------------------------------------------

@test "man pages: no groff warnings, whatis entries, sections" {
	local page
	for page in ext4da-replay.8 ext4da.7; do
		run groff -man -Tutf8 -ww -z "$SRCDIR/man/$page"
		assert_success
		[ -z "$output" ] || fail "groff warnings in $page: $output"
		run lexgrog "$SRCDIR/man/$page"
		assert_success
	done
	run man_text ext4da-replay.8
	local s
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "CORRUPTION POLICY" "FAST COMMIT" \
		"EXTERNAL JOURNALS" "EQUIVALENCE WITH E2FSCK" "JSON OUTPUT" "EXIT STATUS" \
		EXAMPLES "SEE ALSO"; do
		assert_line "$s"
	done
	run man_text ext4da.7
	assert_output --partial "ext4da-replay/1"
	assert_output --partial "E4DAPOIS"
	assert_output --partial "E4DASTMP"
	assert_output --partial "E4DAMARK"
}

@test "man page documents every option of --help" {
	local text opt
	text=$(man_text ext4da-replay.8)
	while read -r opt; do
		[[ $text =~ (^|[^[:alnum:]-])${opt//\?/\\?}([^[:alnum:]-]|$) ]] ||
			fail "ext4da-replay.8 does not mention $opt"
	done < <(help_options)
}

@test "man page documents every JSON member the tool prints" {
	local text key img
	text=$(man_text ext4da-replay.8)
	img=$(copy_of "$CRASHED")
	{
		ext4da-replay --list --json -v "$img"
		ext4da-replay --dry-run --json "$img"
		ext4da-replay --json "$img"
		ext4da-replay --list --json --journal "$JDEV" "$EXTFS"
	} | jq -rs '[.[] | paths | .[] | strings] | unique | .[]' >"$BATS_TEST_TMPDIR/keys"
	while read -r key; do
		[[ $text =~ (^|[^[:alnum:]_])${key}([^[:alnum:]_]|$) ]] ||
			fail "ext4da-replay.8 does not document JSON member $key"
	done <"$BATS_TEST_TMPDIR/keys"
}

@test "completion: every option of --help, and prefixes" {
	source "$SRCDIR/completions/ext4da-replay"
	complete -p ext4da-replay | grep -q -- '-F _ext4da_replay'
	complete_words ext4da-replay -
	local opt
	while read -r opt; do
		[[ " ${COMPREPLY[*]} " == *" $opt "* ]] || fail "completion does not offer $opt"
	done < <(help_options)
	complete_words ext4da-replay --dry
	assert_equal "${COMPREPLY[*]}" "--dry-run"
	complete_words ext4da-replay --no-p
	assert_equal "${COMPREPLY[*]}" "--no-progress"
}

@test "completion: files for IMAGE, --output, --undo, --journal" {
	source "$SRCDIR/completions/ext4da-replay"
	local d; d=$(scratch)
	cd "$d"
	touch alpha.img beta.undo
	mkdir gamma
	complete_words ext4da-replay a
	assert_equal "${COMPREPLY[*]}" "alpha.img"
	complete_words ext4da-replay --list ""
	[[ " ${COMPREPLY[*]} " == *" alpha.img "* && " ${COMPREPLY[*]} " == *" gamma "* ]]
	local opt
	for opt in -o --output -u --undo --journal; do
		complete_words ext4da-replay "$opt" b
		assert_equal "${COMPREPLY[*]}" "beta.undo"
	done
	complete_words ext4da-replay --output=b
	assert_equal "${COMPREPLY[*]}" "beta.undo"
	complete_words ext4da-replay --output = b
	assert_equal "${COMPREPLY[*]}" "beta.undo"
	# Only one IMAGE: nothing more once it is on the line.
	complete_words ext4da-replay alpha.img ""
	assert_equal "${#COMPREPLY[@]}" 0
	complete_words ext4da-replay --undo beta.undo alpha.img ""
	assert_equal "${#COMPREPLY[@]}" 0
}

@test "completion: block devices for IMAGE and --journal" {
	source "$SRCDIR/completions/ext4da-replay"
	local dev
	dev=$(find /dev -maxdepth 1 -type b -print -quit)
	[ -n "$dev" ] || skip "no block device in /dev"
	complete_words ext4da-replay "$dev"
	[[ " ${COMPREPLY[*]} " == *" $dev "* ]]
	complete_words ext4da-replay --journal "$dev"
	[[ " ${COMPREPLY[*]} " == *" $dev "* ]]
}

@test "completion: nothing after --upto, or the replayable tids of the IMAGE" {
	source "$SRCDIR/completions/ext4da-replay"
	complete_words ext4da-replay --upto ""
	assert_equal "${#COMPREPLY[@]}" 0
	complete_words ext4da-replay --upto 1
	assert_equal "${#COMPREPLY[@]}" 0
	local want
	want=$(ext4da-replay --list --json "$CRASHED" |
		jq -r '[.transactions[] | select(.replayable) | .tid] | map(tostring) | join(" ")')
	[ -n "$want" ]
	complete_words ext4da-replay "$CRASHED" --upto ""
	assert_equal "${COMPREPLY[*]}" "$want"
	complete_words ext4da-replay -n "$CRASHED" --upto=
	assert_equal "${COMPREPLY[*]}" "$want"
	# A clean journal has no tids to offer.
	complete_words ext4da-replay "$CLEAN" --upto ""
	assert_equal "${#COMPREPLY[@]}" 0
}
