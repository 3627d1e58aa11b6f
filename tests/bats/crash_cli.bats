#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-crash's chrome and bad input (issue 4, point 8): help, version,
# usage errors (exit 16), one-line errors with exit 8 and nothing written on
# bad input, --materialize's refusals, JSON Lines that parse, progress only
# where it belongs, the man page and the bash completion.

load helpers

bats_require_minimum_version 1.5.0

# GOOD: a 2-step mkcrashlog on a 16 MiB device (base.img, log.img,
# final.img); BAD: broken copies of its log and base, made once.
setup_file() {
	require_root
	local d=$BATS_FILE_TMPDIR off end
	export GOOD="$d/good" BAD="$d/bad"
	SIZE=16M "$SRCDIR/tests/fixtures/mkcrashlog" "$GOOD" 2 >/dev/null
	mkdir -p "$BAD/adir"
	# Cut in the middle of the last write's payload, which the super counts.
	off=$(logdump --json "$GOOD/log.img" |
		jq '[.entries[] | select(.payload_len > 0)][-1] | .data_offset + (.payload_len / 2 | floor)')
	head -c "$off" "$GOOD/log.img" >"$BAD/truncated.log"
	cp "$GOOD/log.img" "$BAD/magic.log"
	printf 'X' | dd of="$BAD/magic.log" bs=1 seek=0 conv=notrunc status=none
	cp "$GOOD/log.img" "$BAD/sectorsize.log"
	printf '\xe8\x03\x00\x00' | dd of="$BAD/sectorsize.log" bs=1 seek=24 conv=notrunc status=none
	head -c 1M /dev/urandom >"$BAD/garbage.log"
	# A base that ends before the log's last written sector.
	end=$(logdump --json "$GOOD/log.img" | jq '[.entries[] | .sector + .nr_sectors] | max')
	head -c $(((end - 8) * 512)) "$GOOD/base.img" >"$BAD/small-base.img"
	export SMALL_END=$end
}

crash() {
	run --separate-stderr ext4da-crash "$@"
}

# Exit 16, nothing on stdout, an error first on stderr.
assert_usage_error() {
	local what=${1:-}
	[ "$status" -eq 16 ] || fail "${what:+$what: }exit status $status, expected 16; stderr: $stderr"
	[ -z "$output" ] || fail "${what:+$what: }expected nothing on stdout, got: $output"
	[ "${#stderr_lines[@]}" -ge 1 ] || fail "${what:+$what: }expected an error on stderr"
	[[ ${stderr_lines[0]} == "ext4da-crash: "?* ]] ||
		fail "${what:+$what: }error line does not start with 'ext4da-crash: ': ${stderr_lines[0]}"
}

# assert_bad_input OPTION INPUT PROBLEM [WHAT]: exit 8, nothing on stdout,
# exactly one line on stderr, "ext4da-crash: OPTION INPUT: PROBLEM" (or
# "ext4da-crash: INPUT: PROBLEM"); PROBLEM is a glob.
assert_bad_input() {
	local opt=$1 input=$2 problem=$3 what=${4:-}
	[ "$status" -eq 8 ] || fail "${what:+$what: }exit status $status, expected 8; stderr: $stderr"
	# Under --json the error is also one ext4da-error/1 object on stdout.
	if [[ $what == *--json* ]]; then
		jq -e '.schema == "ext4da-error/1" and .tool == "ext4da-crash" and .exit == 8' \
			<<<"$output" >/dev/null || fail "${what:+$what: }no JSON error on stdout: $output"
	else
		[ -z "$output" ] || fail "${what:+$what: }expected nothing on stdout, got: $output"
	fi
	[ "${#stderr_lines[@]}" -eq 1 ] ||
		fail "${what:+$what: }expected one line on stderr, got ${#stderr_lines[@]}: $stderr"
	# shellcheck disable=SC2053
	[[ ${stderr_lines[0]} == "ext4da-crash: $opt $input: "$problem ||
		${stderr_lines[0]} == "ext4da-crash: $input: "$problem ]] ||
		fail "${what:+$what: }error line is not 'ext4da-crash: $opt $input: $problem': ${stderr_lines[0]}"
}

# A cheap fingerprint of a file: size, and modification and change times
# to the nanosecond.
stamp() {
	stat -c '%s %y %z' "$1" 2>/dev/null || echo none
}

# check_bad_input OPTION INPUT PROBLEM BASE LOG: every mode rejects the
# same way, and writes nothing: no output file, no save directory, the base
# and the log unchanged (not touched after any mode, and the same bytes at
# the end).
check_bad_input() {
	local opt=$1 input=$2 problem=$3 base=$4 log=$5 d mode bsha='' lsha='' bst lst
	d=$(scratch)
	[ -f "$base" ] && bsha=$(sha "$base")
	[ -f "$log" ] && lsha=$(sha "$log")
	bst=$(stamp "$base") lst=$(stamp "$log")
	for mode in "" --json "--materialize 0 $d/out.img" "--save $d/save" "-j 2" --reorder \
		"--points every" "--fsck-cmd true" "--shard 1/2" "-q" "-v" "--progress"; do
		# shellcheck disable=SC2086
		crash --base "$base" --log "$log" $mode
		assert_bad_input "$opt" "$input" "$problem" "ext4da-crash $mode"
		[ ! -e "$d/out.img" ] || fail "$mode: an output image was written"
		[ ! -e "$d/save" ] || fail "$mode: a save directory was made"
		[ "$(stamp "$base")" = "$bst" ] || fail "$mode: the base was written"
		[ "$(stamp "$log")" = "$lst" ] || fail "$mode: the log was written"
	done
	[ -z "$bsha" ] || [ "$(sha "$base")" = "$bsha" ] || fail "the base changed"
	[ -z "$lsha" ] || [ "$(sha "$log")" = "$lsha" ] || fail "the log changed"
}

# The options --help lists, one a line (-? -V -j ... --version).
help_options() {
	ext4da-crash --help | grep -oE '(^| )(-[[:alnum:]?]|--[[:alnum:]-]+)' | tr -d ' ' | sort -u
}

man_text() {
	groff -man -Tascii -P-cbou "$SRCDIR/man/$1" 2>/dev/null
}

complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_ext4da_crash
}

# --- help, version, usage errors ---------------------------------------------

@test "--help: stdout, exit 0, every option" {
	crash --help
	assert_success
	[ -z "$stderr" ]
	assert_output --partial "Usage: ext4da-crash"
	local opt
	for opt in --base --log --points --reorder --max-states --seed --fail-on --fsck-cmd \
		--materialize --save -j --jobs --shard --data --no-data --allow-empty --check-cmd --start-mark \
		--end-mark --json -v --verbose -q --quiet \
		--progress --no-progress -V --version --usage; do
		[[ $output =~ (^|[^[:alnum:]-])$opt([^[:alnum:]-]|$) ]] || fail "--help does not mention $opt"
	done
	assert_output --partial "Exit status: 0 every state passed, 4 some state failed or no state was checked"
	assert_output --partial "32 interrupted"
}

@test "--usage: stdout, exit 0" {
	crash --usage
	assert_success
	[ -z "$stderr" ]
	assert_output --partial "--materialize"
	assert_output --partial "--shard=K/N"
}

@test "--version and -V: exit 0, print the package version" {
	local version
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$BUILDDIR/config.h")
	[ -n "$version" ]
	crash --version
	assert_success
	[ -z "$stderr" ]
	assert_output "ext4da-crash $version"
	crash -V
	assert_success
	assert_output "ext4da-crash $version"
}

@test "usage error: no --base, no --log" {
	crash --log "$GOOD/log.img"
	assert_usage_error
	assert_equal "${stderr_lines[0]}" "ext4da-crash: --base and --log are required"
	crash --base "$GOOD/base.img"
	assert_usage_error
	crash
	assert_usage_error
	crash --json --points every
	assert_usage_error
}

@test "usage error: a stray argument, an unknown option" {
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" stray
	assert_usage_error
	assert_equal "${stderr_lines[0]}" "ext4da-crash: unexpected argument 'stray' (use --base and --log)"
	crash "$GOOD/base.img" "$GOOD/log.img"
	assert_usage_error
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --bogus
	assert_usage_error
	assert_equal "${stderr_lines[0]}" "ext4da-crash: unrecognized option '--bogus'"
}

@test "usage error: bad --points" {
	local p
	for p in bogus "" "," -1 3x 1.5 FLUSH; do
		crash --base "$GOOD/base.img" --log "$GOOD/log.img" --points "$p"
		assert_usage_error "--points '$p'"
	done
	# An entry past the log is a usage error too, found once the log is read.
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --points 0,99999
	assert_usage_error
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == *"99999"* ]]
}

@test "usage error: --jobs 0, --jobs x, -j 257" {
	local j
	for j in 0 x 257 -1 ""; do
		crash --base "$GOOD/base.img" --log "$GOOD/log.img" --jobs "$j"
		assert_usage_error "--jobs '$j'"
	done
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" -j 0
	assert_usage_error
}

@test "usage error: --shard 4/3, --shard x, 0/3, 3/0, 3" {
	local s
	for s in 4/3 x 0/3 3/0 3 /3 ""; do
		crash --base "$GOOD/base.img" --log "$GOOD/log.img" --shard "$s"
		assert_usage_error "--shard '$s'"
	done
}

@test "usage error: --shard with trailing garbage or a negative count (1/3x, 1/-3, 1/3/4)" {
	local s
	for s in 1/3x 1/-3 1/3/4; do
		crash --base "$GOOD/base.img" --log "$GOOD/log.img" --shard "$s"
		assert_usage_error "--shard '$s'"
	done
}

@test "usage error: --fail-on NOTACODE, --max-states 0, --seed x" {
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --fail-on NOTACODE
	assert_usage_error
	assert_equal "${stderr_lines[0]}" "ext4da-crash: --fail-on: 'NOTACODE' is not a list of finding codes"
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --fail-on STALE,NOTACODE
	assert_usage_error
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --max-states 0
	assert_usage_error
	assert_equal "${stderr_lines[0]}" "ext4da-crash: --max-states: '0' is not a positive number"
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --max-states x
	assert_usage_error
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --reorder --seed x
	assert_usage_error
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --reorder --seed -1
	assert_usage_error
}

@test "usage error: --materialize without FILE, or without a number" {
	local d; d=$(scratch)
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --materialize 1
	assert_usage_error
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --materialize
	assert_usage_error
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --materialize x "$d/out.img"
	assert_usage_error
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --materialize -1 "$d/out.img"
	assert_usage_error
	[ ! -e "$d/out.img" ]
}

# --- bad input: one line, exit 8, nothing written --------------------------

@test "bad input: missing base" {
	check_bad_input --base "$BAD/missing.img" "No such file or directory" "$BAD/missing.img" "$GOOD/log.img"
}

@test "bad input: missing log" {
	check_bad_input --log "$BAD/missing.log" "No such file or directory" "$GOOD/base.img" "$BAD/missing.log"
}

@test "bad input: a directory as base, as log" {
	check_bad_input --base "$BAD/adir" "is a directory, not an image or device" "$BAD/adir" "$GOOD/log.img"
	check_bad_input --log "$BAD/adir" "is not a regular file or block device" "$GOOD/base.img" "$BAD/adir"
}

@test "bad input: a truncated log (cut inside a payload the super counts)" {
	local at off size
	read -r at off < <(logdump --json "$GOOD/log.img" |
		jq -r '[.entries[] | select(.payload_len > 0)][-1] | "\(.index) \(.offset)"')
	size=$(stat -c %s "$BAD/truncated.log")
	check_bad_input --log "$BAD/truncated.log" \
		"truncated: entry $at (log byte $off): its *-byte payload runs past the end of the log (byte $size)" \
		"$GOOD/base.img" "$BAD/truncated.log"
}

@test "bad input: wrong magic" {
	check_bad_input --log "$BAD/magic.log" \
		"not a dm-log-writes log (magic 0x6a736677736858, expected 0x6a736677736872)" \
		"$GOOD/base.img" "$BAD/magic.log"
}

@test "bad input: a log sector size that is not a power of two" {
	check_bad_input --log "$BAD/sectorsize.log" "log sector size 1000 is not a power of two" \
		"$GOOD/base.img" "$BAD/sectorsize.log"
}

@test "bad input: entries past the end of the device (a base smaller than the log's sectors)" {
	local size; size=$(stat -c %s "$BAD/small-base.img")
	check_bad_input --log "$GOOD/log.img" \
		"entry * (log byte *) writes sectors *..*, past the end of the $size-byte device ($((size / 512)) sectors of 512 bytes)*" \
		"$BAD/small-base.img" "$GOOD/log.img"
}

@test "bad input: a garbage log" {
	check_bad_input --log "$BAD/garbage.log" "not a dm-log-writes log (magic 0x*, expected 0x6a736677736872)" \
		"$GOOD/base.img" "$BAD/garbage.log"
}

@test "bad input: an empty log, a character device" {
	: >"$BATS_TEST_TMPDIR/empty.log"
	check_bad_input --log "$BATS_TEST_TMPDIR/empty.log" "empty file, not a dm-log-writes log" \
		"$GOOD/base.img" "$BATS_TEST_TMPDIR/empty.log"
	check_bad_input --base /dev/null "is not a regular file or block device" /dev/null "$GOOD/log.img"
}

# --- --materialize's refusals -------------------------------------------------

@test "--materialize FILE that exists: exit 8, one line, the file kept" {
	local d; d=$(scratch)
	echo keep >"$d/out.img"
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --materialize 0 "$d/out.img"
	[ "$status" -eq 8 ] || fail "exit $status, expected 8"
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line: $stderr"
	[[ ${stderr_lines[0]} == "ext4da-crash: $d/out.img"*"already exists"* ]] ||
		fail "the line does not name the file and the problem: ${stderr_lines[0]}"
	[ "$(cat "$d/out.img")" = keep ]
	# Into a missing directory: exit 8, nothing made.
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --materialize 0 "$d/no-such-dir/out.img"
	[ "$status" -eq 8 ] && [ -z "$output" ] && [ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == "ext4da-crash: $d/no-such-dir/out.img: No such file or directory" ]]
}

@test "--materialize a state past the end: exit 16 (as --points past the log), nothing written" {
	local d n; d=$(scratch)
	n=$(ext4da-crash --base "$GOOD/base.img" --log "$GOOD/log.img" --json | jq -s '.[-1].states')
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --materialize "$n" "$d/out.img"
	assert_usage_error
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_equal "${stderr_lines[0]}" \
		"ext4da-crash: --materialize $n: the plan has $n states (0 to $((n - 1)))"
	[ ! -e "$d/out.img" ]
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --materialize 18446744073709551615 "$d/out.img"
	assert_usage_error
	[ ! -e "$d/out.img" ]
	# The same state number is fine in a plan that has it.
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --points every --materialize "$n" "$d/out.img"
	assert_success
	assert_output "$d/out.img: crash state $n written (before journal replay)"
	[ -s "$d/out.img" ]
	# --points past the log: the same class.
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --points 99999 --materialize 0 "$d/out2.img"
	assert_usage_error
	[ ! -e "$d/out2.img" ]
}

@test "--materialize: -q prints nothing; the last flush state is final.img" {
	local d n; d=$(scratch)
	n=$(ext4da-crash --base "$GOOD/base.img" --log "$GOOD/log.img" --json | jq -s '.[-1].states')
	crash -q --base "$GOOD/base.img" --log "$GOOD/log.img" --materialize $((n - 1)) "$d/out.img"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	cmp "$d/out.img" "$GOOD/final.img"
}

# --- output ----------------------------------------------------------------------

@test "--json: every line parses, with the documented members and types" {
	local line
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --json --reorder --seed 3 --fsck-cmd true
	[ "$status" -eq 0 ] || [ "$status" -eq 4 ] || fail "exit $status: $stderr"
	[ -z "$stderr" ]
	jq -s -e 'any(.[]; .reordered != null)' <<<"$output" >/dev/null || fail "no reordered state"
	# Each line is one JSON document: as many documents as lines.
	[ "$(jq -c . <<<"$output" | wc -l)" -eq "${#lines[@]}" ] || fail "not one document a line"
	for line in "${lines[0]}" "${lines[-1]}"; do
		[ "$(jq -c . <<<"$line")" = "$line" ] || fail "not compact JSON: $line"
	done
	run jq -s -e '
		(.[:-1] | length > 0 and all(
			.schema == "ext4da-crash/1" and .type == "state"
			and (keys_unsorted == ["schema","type","state","entry","reordered","verdict","failures",
				"errors","fsck_exit","findings","findings_omitted","fsck_output","check_exit","check_output",
				"unconverted_blocks","note"])
			and (.unconverted_blocks | type) == "number"
			and (.findings | type) == "array" and (.findings_omitted | type) == "number"
			and (.state | type) == "number" and ((.entry | type) == "number" or .entry == null)
			and (.reordered == null or ((.reordered | type) == "array" and (.reordered | length) > 0))
			and (.verdict == "pass" or .verdict == "fail") and (.failures | type) == "array"
			and (.errors | type) == "object" and (.fsck_exit | type) == "number"
			and (.fsck_output == null or (.fsck_output | type) == "string")
			and (.note == null or (.note | type) == "string")))
		and (.[-1] | .schema == "ext4da-crash/1" and .type == "summary"
			and (keys_unsorted == ["schema","type","verdict","states","failed","failures_by_class",
				"last_good","first_bad","empty","data_scan","seed","unconverted","sampled_epochs"])
			and (.unconverted | keys_unsorted == ["states","max_blocks","max_files"])
			and (.data_scan | keys_unsorted == ["ran","reason","detail","other_fill_sectors"])
			and .seed == 3 and (.states | type) == "number" and (.failed | type) == "number"
			and (.failures_by_class | type) == "object"
			and (.first_bad == null or (.first_bad | type) == "number")
			and (.last_good == null or (.last_good | type) == "number")
			and (.sampled_epochs | type) == "number")
		and (.[-1].states == (.[:-1] | length))' <<<"$output"
	assert_success
}

@test "text output: a summary; -q nothing; -v every failing state" {
	crash --base "$GOOD/base.img" --log "$GOOD/log.img"
	assert_success
	[ -z "$stderr" ]
	assert_line --index 0 --regexp "^$GOOD/log.img: [0-9]+ crash state\(s\), none failed$"
	crash -q --base "$GOOD/base.img" --log "$GOOD/log.img"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --fsck-cmd false -v
	[ "$status" -eq 4 ]
	assert_line --regexp '^  FAIL state 0 \(after entry [0-9]+\)$'
	assert_line "first bad: state 0 (after entry $(logdump --json "$GOOD/log.img" |
		jq '[.entries[] | select(.flags % 4 > 0)][0].index'))"
}

@test "progress: off when stderr is not a terminal, --progress forces it, on on a terminal" {
	crash --base "$GOOD/base.img" --log "$GOOD/log.img"
	assert_success
	[ -z "$stderr" ]
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --progress --json
	assert_success
	[[ $stderr == *"states"*"100%"* ]] || fail "no progress with --progress: $stderr"
	# The JSON on stdout is untouched by it.
	jq -e . <<<"$output" >/dev/null
	crash --base "$GOOD/base.img" --log "$GOOD/log.img" --progress --no-progress
	[ -z "$stderr" ]
	# On a terminal (script(1) gives stderr a pty; stdout goes to /dev/null):
	# nothing for a job under a second; for a longer one the rate, the time
	# left and the failures so far, and the line cleared at the end.
	run script -qec "ext4da-crash --base '$GOOD/base.img' --log '$GOOD/log.img' >/dev/null" /dev/null
	assert_success
	[ -z "$output" ] || fail "progress for a short job: $output"
	run script -qec "ext4da-crash --base '$GOOD/base.img' --log '$GOOD/log.img' --fsck-cmd 'sleep 0.7; exit 4' >/dev/null" /dev/null
	[ "$status" -eq 4 ]
	[[ $output == *"states"*"100% (2/2), "*"/s, ETA "*", 2 failed"* ]] || fail "no progress on a terminal: $output"
	[[ $output == *$'\r\e[K' ]] || fail "the line is not cleared at the end: $(cat -A <<<"$output")"
	run script -qec "ext4da-crash --no-progress --base '$GOOD/base.img' --log '$GOOD/log.img' >/dev/null" /dev/null
	[ -z "$output" ]
	run script -qec "ext4da-crash -q --base '$GOOD/base.img' --log '$GOOD/log.img' >/dev/null" /dev/null
	[ -z "$output" ]
}

# --- man page and completion ---------------------------------------------------

@test "man page: no warnings (groff, man, lexgrog), the sections" {
	run groff -man -Tutf8 -ww -z "$SRCDIR/man/ext4da-crash.8"
	assert_success
	[ -z "$output" ] || fail "groff warnings: $output"
	run --separate-stderr env MANPAGER=cat MANWIDTH=80 man --warnings=all -l "$SRCDIR/man/ext4da-crash.8"
	assert_success
	[ -z "$stderr" ] || fail "man warnings: $stderr"
	run lexgrog "$SRCDIR/man/ext4da-crash.8"
	assert_success
	assert_output --partial "ext4da-crash"
	run man_text ext4da-crash.8
	local s
	for s in NAME SYNOPSIS DESCRIPTION "CRASH STATES" "CRASH POINTS" REORDERING \
		"INCREMENTAL OVERLAYS" ORACLES "LOG FORMATS" OPTIONS "JSON OUTPUT" "EXIT STATUS" \
		EXAMPLES "SEE ALSO"; do
		assert_line "$s"
	done
	assert_output --partial "parallel -S host1,host2"
	assert_output --partial "--shard {}/8"
}

@test "man page documents every option of --help" {
	local text opt
	text=$(man_text ext4da-crash.8)
	while read -r opt; do
		[[ $text =~ (^|[^[:alnum:]-])${opt//\?/\\?}([^[:alnum:]-]|$) ]] ||
			fail "ext4da-crash.8 does not mention $opt"
	done < <(help_options)
}

@test "man page documents every JSON member and finding class the tool prints" {
	local text key
	text=$(man_text ext4da-crash.8)
	{
		ext4da-crash --base "$GOOD/base.img" --log "$GOOD/log.img" --json --reorder --fsck-cmd false || true
	} | jq -rs '[.[] | paths | .[] | strings] | unique | .[]' >"$BATS_TEST_TMPDIR/keys"
	for key in schema type state entry reordered verdict failures errors fsck_exit fsck_output note \
		findings findings_omitted code inode block blocks logical_block logical_blocks detail \
		check_exit check_output \
		states failed failures_by_class last_good first_bad empty data_scan ran reason detail \
		other_fill_sectors seed sampled_epochs; do
		grep -qx "$key" "$BATS_TEST_TMPDIR/keys" || echo "$key" >>"$BATS_TEST_TMPDIR/keys"
	done
	for key in LEAKED UNMARKED MULTIPLY_OWNED PAST_EOF STALE GROUP_COUNTS JOURNAL CORRUPT \
		UNREADABLE FSCK DURABILITY CHECK; do
		echo "$key" >>"$BATS_TEST_TMPDIR/keys"
	done
	while read -r key; do
		[[ $text =~ (^|[^[:alnum:]_])${key}([^[:alnum:]_]|$) ]] ||
			fail "ext4da-crash.8 does not document $key"
	done <"$BATS_TEST_TMPDIR/keys"
	[[ $text == *"ext4da-crash/1"* ]]
}

@test "completion: every option of --help, and prefixes" {
	source "$SRCDIR/completions/ext4da-crash"
	complete -p ext4da-crash | grep -q -- '-F _ext4da_crash'
	complete_words ext4da-crash -
	local opt
	while read -r opt; do
		[[ " ${COMPREPLY[*]} " == *" $opt "* ]] || fail "completion does not offer $opt"
	done < <(help_options)
	complete_words ext4da-crash --mat
	assert_equal "${COMPREPLY[*]}" "--materialize"
	complete_words ext4da-crash --no-p
	assert_equal "${COMPREPLY[*]}" "--no-progress"
}

@test "completion: files for --base, --log, --save and --materialize's FILE" {
	source "$SRCDIR/completions/ext4da-crash"
	local d; d=$(scratch)
	cd "$d"
	touch alpha.img beta.log
	mkdir gamma
	local opt
	for opt in --base --log; do
		complete_words ext4da-crash "$opt" a
		assert_equal "${COMPREPLY[*]}" "alpha.img"
		complete_words ext4da-crash "$opt=b"
		assert_equal "${COMPREPLY[*]}" "beta.log"
		complete_words ext4da-crash "$opt" = b
		assert_equal "${COMPREPLY[*]}" "beta.log"
	done
	complete_words ext4da-crash --save g
	assert_equal "${COMPREPLY[*]}" "gamma"
	# --materialize N FILE: nothing for N, files for FILE.
	complete_words ext4da-crash --materialize ""
	assert_equal "${#COMPREPLY[@]}" 0
	complete_words ext4da-crash --materialize 3 b
	assert_equal "${COMPREPLY[*]}" "beta.log"
	complete_words ext4da-crash --base alpha.img --materialize 3 ""
	[[ " ${COMPREPLY[*]} " == *" alpha.img "* && " ${COMPREPLY[*]} " == *" gamma "* ]]
	# No positional arguments: nothing but options elsewhere.
	complete_words ext4da-crash --base alpha.img ""
	assert_equal "${#COMPREPLY[@]}" 0
	complete_words ext4da-crash --base alpha.img --materialize 3 beta.log ""
	assert_equal "${#COMPREPLY[@]}" 0
}

@test "completion: values for --points, --fail-on, --shard; nothing for numbers" {
	source "$SRCDIR/completions/ext4da-crash"
	complete_words ext4da-crash --points ""
	assert_equal "${COMPREPLY[*]}" "flush mark every"
	complete_words ext4da-crash --points e
	assert_equal "${COMPREPLY[*]}" "every"
	complete_words ext4da-crash --points=f
	assert_equal "${COMPREPLY[*]}" "flush"
	complete_words ext4da-crash --fail-on ST
	assert_equal "${COMPREPLY[*]}" "STALE"
	complete_words ext4da-crash --fail-on LEAKED,UN
	assert_equal "${COMPREPLY[*]}" "LEAKED,UNMARKED LEAKED,UNCONVERTED"
	local opt
	for opt in --max-states --seed -j --jobs --fsck-cmd; do
		complete_words ext4da-crash "$opt" ""
		assert_equal "${#COMPREPLY[@]}" 0
	done
}
