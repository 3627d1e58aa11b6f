#!/usr/bin/env bats
# ext4da-workload's command line (issue 12, point 1): help, version, the
# count and list of each space, --index always giving the same script,
# samples, scripts that run under busybox sh, bad input (exit 16 or 8 with
# the error first on stderr), the man page and the bash completion.

load helpers

bats_require_minimum_version 1.5.0

wl() {
	run --separate-stderr ext4da-workload "$@"
}

# Exit 16, nothing on stdout, "ext4da-workload: problem" first on stderr.
assert_usage_error() {
	local what=$1
	[ "$status" -eq 16 ] || fail "$what: exit status $status, expected 16; stderr: $stderr"
	[ -z "$output" ] || fail "$what: expected nothing on stdout, got: $output"
	[[ ${stderr_lines[0]} == "ext4da-workload: "?* ]] ||
		fail "$what: error line does not start with 'ext4da-workload: ': ${stderr_lines[0]}"
}

@test "help and version: stdout, exit 0" {
	wl --help
	assert_success
	[ -z "$stderr" ] || fail "--help wrote to stderr"
	assert_output --partial "Exit status"
	assert_output --partial "--index"
	wl --version
	assert_success
	assert_output --regexp "^ext4da-workload [0-9]+\.[0-9]+"
}

@test "--count: every single step, and the pairs that can run" {
	wl --count
	assert_success
	assert_output 87
	wl --seq 2 --count
	assert_success
	assert_output 7397
	wl --seq 2 --sample 40 --seed 3 --count
	assert_output 40
}

@test "--list: one line per workload, each operation and persistence point in seq 1" {
	local op p
	wl --list
	assert_success
	[ "${#lines[@]}" -eq 87 ]
	assert_line --index 0 $'0\tappend d0/a none'
	assert_line --index 61 $'61\tlink d0/a->d1/l fsync'
	for op in append overwrite unaligned past-eof hole direct mmap keep-size punch zero-range \
		truncate-up truncate-down link unlink rename-new rename-over mkdir rmdir; do
		grep -q $'\t'"$op " <<<"$output" || fail "no $op in --list"
	done
	for p in none fsync fdatasync sync-range sync; do
		grep -q " $p\$" <<<"$output" || fail "no $p in --list"
	done
	wl --seq 2 --list
	[ "${#lines[@]}" -eq 7397 ]
	assert_line --index 0 $'0\tappend d0/a none; append d0/a none'
}

@test "--index K is the same script every time; --output writes it to a file" {
	local a b
	a=$(ext4da-workload --seq 2 --index 4321)
	b=$(ext4da-workload --seq 2 --index 4321)
	[ "$a" = "$b" ] || fail "two runs differ"
	[ "$a" != "$(ext4da-workload --seq 2 --index 4322)" ] || fail "4321 and 4322 are the same"
	[[ $a == *"--seq 2 --index 4321"* ]] || fail "the script does not say what it is"
	wl --seq 2 --index 4321 -o "$(scratch)/w.sh"
	assert_success
	[ -z "$output" ] || fail "stdout with --output: $output"
	[ "$(cat "$(scratch)/w.sh")" = "$a" ] || fail "--output differs from stdout"
}

@test "--sample: seeded, without repetition, a larger sample extends a smaller" {
	local small big other
	small=$(ext4da-workload --seq 2 --sample 30 --seed 5 --list | cut -f2)
	big=$(ext4da-workload --seq 2 --sample 60 --seed 5 --list | cut -f2 | head -n 30)
	other=$(ext4da-workload --seq 2 --sample 30 --seed 6 --list | cut -f2)
	[ "$small" = "$big" ] || fail "the first 30 of 60 are not the 30"
	[ "$small" != "$other" ] || fail "seeds 5 and 6 draw the same"
	[ "$(sort <<<"$small" | uniq -d)" = "" ] || fail "a sample repeats"
	wl --seq 2 --sample 30 --seed 5 --index 7
	assert_success
	assert_output --partial "--sample 30 --seed 5"
	assert_output --partial "# $(sed -n 8p <<<"$small")"
}

@test "scripts are valid busybox sh, setup first, and run the step they say" {
	local k
	for k in 0 20 30 40 61 65 72 86; do
		ext4da-workload --index "$k" >"$(scratch)/w.sh"
		busybox sh -n "$(scratch)/w.sh" || fail "workload $k does not parse"
	done
	wl --index 67
	assert_success
	assert_line "mkdir d0 d1 d1/e"
	assert_line "rm d0/b"
	assert_line "sync -d d0"
	[[ $output == *"mkdir d0 d1 d1/e"*"setup-sync"*"EXT4DA-STEP 1 unlink fdatasync"*"rm d0/b"* ]] ||
		fail "not in order: $output"
}

@test "bad input: exit 16 with the error first on stderr, nothing on stdout" {
	local args
	while read -r args; do
		# shellcheck disable=SC2086
		wl $args
		assert_usage_error "$args"
	done <<'EOF'
--count --list
--index 1 --count
--seq 3 --count
--seq 0 --count
--seq x --count
--index -1
--index 1x
--sample 0 --count
--seed 4 --count
--output x --count
--count extra
--bogus
EOF
	wl
	assert_usage_error "no action"
	assert_equal "${stderr_lines[0]}" "ext4da-workload: give --index K, --count or --list"
	wl --index 87
	assert_usage_error "--index 87"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line: $stderr"
	assert_equal "$stderr" "ext4da-workload: --index 87: --seq 1 has 87 workloads (0 to 86)"
	wl --seq 2 --sample 10 --index 10
	assert_usage_error "--index past the sample"
}

@test "an output that cannot be written: exit 8, one line naming it" {
	wl --index 3 -o "$(scratch)/no/such/dir/w.sh"
	[ "$status" -eq 8 ] || fail "exit $status"
	[ -z "$output" ] || fail "stdout: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line: $stderr"
	assert_equal "$stderr" "ext4da-workload: $(scratch)/no/such/dir/w.sh: No such file or directory"
	if [ -w /dev/full ]; then
		wl --index 3 -o /dev/full
		[ "$status" -eq 8 ] || fail "exit $status for /dev/full"
		[[ $stderr == "ext4da-workload: /dev/full: cannot write the script: "* ]] || fail "$stderr"
		run --separate-stderr bash -c 'ext4da-workload --list >/dev/full'
		[ "$status" -eq 8 ] || fail "exit $status for --list >/dev/full"
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line: $stderr"
	fi
}

# --- man page and completion ---------------------------------------------------

help_options() {
	ext4da-workload --help | grep -oE '(^| )(-[[:alnum:]?]|--[[:alnum:]-]+)' | tr -d ' ' | sort -u
}

complete_words() {
	local fn=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$fn"
}

@test "man page: no groff warnings, whatis entry, sections, every option" {
	local text opt s page=$SRCDIR/man/ext4da-workload.8
	run groff -man -Tutf8 -ww -z "$page"
	assert_success
	[ -z "$output" ] || fail "groff warnings: $output"
	run lexgrog "$page"
	assert_success
	text=$(groff -man -Tascii -P-cbou "$page" 2>/dev/null)
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -qx "$s" <<<"$text" || fail "no $s section"
	done
	while read -r opt; do
		[[ $text =~ (^|[^[:alnum:]-])${opt//\?/\\?}([^[:alnum:]-]|$) ]] || fail "does not mention $opt"
	done < <(help_options)
}

@test "completion: options, 1 and 2 for --seq, files for --output" {
	source "$SRCDIR/completions/ext4da-workload"
	complete -p ext4da-workload | grep -q -- '-F _ext4da_workload'
	local opt
	complete_words _ext4da_workload ext4da-workload -
	while read -r opt; do
		[[ " ${COMPREPLY[*]} " == *" $opt "* ]] || fail "completion does not offer $opt"
	done < <(help_options)
	complete_words _ext4da_workload ext4da-workload --seq ""
	assert_equal "${COMPREPLY[*]}" "1 2"
	complete_words _ext4da_workload ext4da-workload --sa
	assert_equal "${COMPREPLY[*]}" "--sample"
	cd "$(scratch)"
	touch gamma.sh
	complete_words _ext4da_workload ext4da-workload -o g
	assert_equal "${COMPREPLY[*]}" "gamma.sh"
	complete_words _ext4da_workload ext4da-workload --index ""
	assert_equal "${#COMPREPLY[@]}" 0
}
