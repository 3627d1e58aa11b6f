#!/usr/bin/env bats
# The bad-input battery: every tool that reads an input, on the malformed
# inputs tests/fixtures/mkbadinputs makes (truncations, flipped bits,
# absurd values in each structure) and on inputs that are not files at
# all.  Each run: no signal and no hang, an allowed exit status (8 refused,
# 4 a real finding, 0 where the damage is outside what the tool reads),
# on 8 exactly one line on stderr naming the input, on 4 a report on
# stdout, the input unchanged (sha256), and, outside sanitizer builds,
# peak RSS under 64 MiB and under 5 s (every input is under 16 MiB).
#
# With EXT4DA_VALGRIND=1 (make check-valgrind) every tool run goes under
# valgrind's memcheck and must report no error (definite leaks included);
# the time and RSS bounds are then not checked.

load helpers
bats_require_minimum_version 1.5.0

# The command prefix for a tool run: valgrind's memcheck, or nothing.
# Its report goes to a file of its own, so stderr stays the tool's.
VG=()
LIMIT=10
if [ -n "${EXT4DA_VALGRIND:-}" ]; then
	VG=(valgrind -q --tool=memcheck --error-exitcode=97 --leak-check=full
		--errors-for-leak-kinds=definite --show-leak-kinds=definite
		--track-fds=no --log-file="$BATS_RUN_TMPDIR/valgrind.%p.log")
	LIMIT=120
fi

# Fail if valgrind found an error in the last run (its exit status 97);
# its log may also hold mere warnings (an ioctl it does not know).
valgrind_clean() {
	local f log=''
	[ -n "${EXT4DA_VALGRIND:-}" ] || return 0
	for f in "$BATS_RUN_TMPDIR"/valgrind.*.log; do
		[ -f "$f" ] || continue
		log+=$(grep -v 'noted but unhandled ioctl\|could cause spurious value errors\|README_MISSING_SYSCALL_OR_IOCTL' "$f" || true)
		rm -f "$f"
	done
	[ "$status" -ne 97 ] || fail "$1: valgrind found errors: $log"
}

setup_file() {
	local d=$BATS_FILE_TMPDIR
	export BAD="$d/bad" SPECIAL="$d/special"
	"$SRCDIR/tests/fixtures/mkbadinputs" "$BAD"
	mkdir -p "$SPECIAL/a-directory"
	: >"$SPECIAL/empty"
	mkfifo "$SPECIAL/fifo"
	ln -s "$SPECIAL/no-such-target" "$SPECIAL/dangling"
	# Unreadable only for a user who is not root (root reads it anyway).
	cp "$BAD/image/good-v3.img" "$SPECIAL/unreadable"
	chmod 000 "$SPECIAL/unreadable"
}

# Inputs that are not files of the kind wanted, or cannot be read: for
# every tool, exit 8 (but an empty file is a stamped file with no sectors: ext4da-stamp
# verify finds nothing wrong with it).
specials() {
	local s
	local list=("$SPECIAL/empty" "$SPECIAL/a-directory" "$SPECIAL/fifo" /dev/null
		"$SPECIAL/dangling" "$SPECIAL/missing")
	[ "$(id -u)" = 0 ] || list+=("$SPECIAL/unreadable")
	for s in "${list[@]}"; do
		if [ "$1" = stamp ] && [ "$s" = "$SPECIAL/empty" ]; then
			echo "$s 0"
		else
			echo "$s 8"
		fi
	done
}

# try TOOL INPUT CODES CMD...: run CMD on INPUT and check everything above
# (the input's checksum only when SAME_SHA is unset: callers that run
# several commands on one input compare it once, with unchanged).
try() {
	local tool=$1 input=$2 codes=$3 before='' tf rss secs
	shift 3
	tf=$BATS_TEST_TMPDIR/time
	[ -f "$input" ] && [ -z "${SAME_SHA:-}" ] && before=$(sha "$input")
	run --separate-stderr /usr/bin/time -f '%M %e' -o "$tf" timeout -k 2 "$LIMIT" "${VG[@]}" "$@"
	local what="$* (exit $status)"
	valgrind_clean "$what"
	[ "$status" -ne 124 ] && [ "$status" -lt 128 ] || fail "$what: killed or hung; stderr: $stderr"
	[[ ",$codes," == *",$status,"* ]] || fail "$what: exit $status, expected one of $codes; stderr: $stderr"
	if [ "$status" -eq 8 ]; then
		[ "${#stderr_lines[@]}" -eq 1 ] ||
			fail "$what: expected one line on stderr, got ${#stderr_lines[@]}: $stderr"
		[[ ${stderr_lines[0]} == "ext4da-$tool: "*"$input"* ]] ||
			fail "$what: the error line does not name the input: ${stderr_lines[0]}"
		[ -z "$output" ] || fail "$what: expected nothing on stdout, got: $output"
	elif [ "$status" -eq 4 ]; then
		[ -n "$output" ] || fail "$what: exit 4 with no report on stdout; stderr: $stderr"
	fi
	[ -z "$before" ] || [ "$(sha "$input")" = "$before" ] || fail "$what: the input changed"
	if [ -z "${ASAN_OPTIONS:-}" ] && [ -z "${EXT4DA_VALGRIND:-}" ]; then
		read -r rss secs < <(tail -n 1 "$tf")
		[ "$rss" -lt $((64 * 1024)) ] || fail "$what: peak RSS $rss KiB"
		awk -v s="$secs" 'BEGIN { exit !(s < 5) }' || fail "$what: took $secs s"
	fi
}

# The cases of one tool from mkbadinputs, then the specials.
cases_of() {
	awk -v t="$1" '$1 == t { print $2, $3 }' "$BAD/cases"
	[ -z "${2:-}" ] || specials "$1"
}

@test "mkbadinputs: at least 25 inputs for each tool, all under 16 MiB" {
	local t n
	for t in replay check crash-log mark stamp; do
		n=$(cases_of "$t" specials | wc -l)
		[ "$n" -ge 25 ] || fail "$t: only $n inputs"
	done
	[ -z "$(find "$BAD" -type f -size +16M)" ]
}

@test "ext4da-replay --list, --dry-run and --output on every bad image" {
	local input codes out=$BATS_TEST_TMPDIR/out.img n=0 before
	while read -r input codes; do
		before=''
		[ -f "$input" ] && before=$(sha "$input")
		SAME_SHA=1 try replay "$input" "$codes" ext4da-replay --list "$input"
		SAME_SHA=1 try replay "$input" "$codes" ext4da-replay --dry-run "$input"
		# --output copies the image first: every third input is enough.
		if [ $((n % 3)) -eq 0 ]; then
			SAME_SHA=1 try replay "$input" "$codes" ext4da-replay --output "$out" "$input"
			if [ "$status" -eq 8 ]; then
				[ ! -e "$out" ] && [ ! -e "$out.partial" ] ||
					fail "--output $input: left an output"
			fi
			rm -f "$out"
		fi
		[ -z "$before" ] || [ "$(sha "$input")" = "$before" ] || fail "$input changed"
		n=$((n + 1))
	done < <(cases_of replay specials)
	[ "$n" -ge 25 ]
}

@test "ext4da-check and --json on every bad image" {
	local input codes n=0
	while read -r input codes; do
		try check "$input" "$codes" ext4da-check "$input"
		[ ! -e "$input.ext4da-undo" ]
		n=$((n + 1))
	done < <(cases_of check specials)
	[ "$n" -ge 25 ]
	# JSON on a few: parses when there is a report, nothing when refused.
	for input in "$BAD/image/good-v3.img" "$BAD/image/extent-index-loop.img" \
		"$BAD/image/jinode-size-high.img" "$BAD/image/ind-dind-loop.img"; do
		run --separate-stderr "${VG[@]}" ext4da-check --json "$input"
		valgrind_clean "ext4da-check --json $input"
		[ "$status" -eq 0 ] || [ "$status" -eq 4 ]
		echo "$output" | jq -e .schema >/dev/null
	done
}

@test "ext4da-crash on every bad log and bad base" {
	local input codes n=0
	while read -r input codes; do
		try crash "$input" "$codes" ext4da-crash --no-progress --seed 1 \
			--base "$BAD/good-base.img" --log "$input"
		n=$((n + 1))
	done < <(cases_of crash-log specials)
	while read -r input codes; do
		try crash "$input" "$codes" ext4da-crash --no-progress --seed 1 \
			--base "$input" --log "$BAD/good-log.img"
		n=$((n + 1))
	done < <(cases_of crash-base specials)
	[ "$n" -ge 25 ]
}

@test "ext4da-crash --reorder on the bad logs that it accepts" {
	local input codes
	while read -r input codes; do
		[[ $codes == *0* ]] || continue
		try crash "$input" "0,4,8" ext4da-crash --no-progress --seed 1 --reorder \
			--max-states 8 --base "$BAD/good-base.img" --log "$input"
	done < <(cases_of crash-log)
}

@test "ext4da-mark --dump on every bad mark area" {
	local input codes n=0
	while read -r input codes; do
		try mark "$input" "$codes" ext4da-mark --dump "$input"
		n=$((n + 1))
	done < <(cases_of mark specials)
	[ "$n" -ge 25 ]
}

@test "ext4da-stamp verify on every bad stamped file" {
	local input codes n=0
	while read -r input codes; do
		try stamp "$input" "$codes" ext4da-stamp verify "$input"
		n=$((n + 1))
	done < <(cases_of stamp specials)
	[ "$n" -ge 25 ]
}

@test "a FIFO as input never waits for a writer" {
	local f=$SPECIAL/fifo
	try replay "$f" 8 ext4da-replay --list "$f"
	try check "$f" 8 ext4da-check "$f"
	try crash "$f" 8 ext4da-crash --base "$BAD/good-base.img" --log "$f"
	try crash "$f" 8 ext4da-crash --base "$f" --log "$BAD/good-log.img"
	try mark "$f" 8 ext4da-mark --dump "$f"
	try stamp "$f" 8 ext4da-stamp verify "$f"
	try replay "$BAD/image/good-v3.img" 8 ext4da-replay --journal "$f" --list "$BAD/image/good-v3.img"
}
