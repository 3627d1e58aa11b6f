#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# The write-log reader (lib/crash/writelog.c, through tests/tools/logdump) on real
# QEMU blklogwrites logs from tests/fixtures/mkqemulog: entries, payloads and
# a byte-exact replay against what qemu-io wrote, the stale super of an
# aborted run, and bad input (exit 8 and one line naming the log).

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
	local ss
	for ss in 512 4096 65536; do
		"$SRCDIR/tests/fixtures/mkqemulog" "$BATS_FILE_TMPDIR/q$ss" "$ss"
	done
}

# The fixture directory of log sector size SS.
q() {
	echo "$BATS_FILE_TMPDIR/q$1"
}

dump() {
	run --separate-stderr logdump "$@"
}

# "FIRST NR": the log sectors of SS bytes that a request at OFF of LEN
# bytes covers (QEMU widens requests to whole log sectors).
span() {
	local off=$1 len=$2 ss=$3
	echo "$((off / ss)) $(((off + len + ss - 1) / ss - off / ss))"
}

# The entries mkqemulog's first workload gives, one "index sector nr flags"
# line each, as logdump prints them.
expected_entries() {
	local ss=$1 k=1024 dlen=$(($1 > 8192 ? $1 : 8192))
	cat <<-EOF
		0 $(span 0 $((8 * k)) "$ss") 0x0()
		1 $(span $((64 * k)) $((4 * k)) "$ss") 0x0()
		2 0 0 0x1(FLUSH)
		3 $(span $((128 * k)) "$dlen" "$ss") 0x4(DISCARD)
		4 $(span $((192 * k)) $((4 * k)) "$ss") 0x0()
		5 $(span $((256 * k)) $((4 * k)) "$ss") 0x0()
		6 0 0 0x1(FLUSH)
		7 $(span $((320 * k)) $((8 * k)) "$ss") 0x0()
		8 $(span 400800 200 "$ss") 0x0()
		9 $(span $((1020 * k)) $((4 * k)) "$ss") 0x0()
		10 0 0 0x1(FLUSH)
	EOF
}

expected_stale_entries() {
	local ss=$1 k=1024 dlen=$(($1 > 8192 ? $1 : 8192))
	cat <<-EOF
		0 $(span 0 $((4 * k)) "$ss") 0x0()
		1 0 0 0x1(FLUSH)
		2 $(span $((8 * k)) $((4 * k)) "$ss") 0x0()
		3 $(span $((128 * k)) "$dlen" "$ss") 0x4(DISCARD)
		4 $(span $((24 * k)) $((4 * k)) "$ss") 0x0()
	EOF
}

# logdump's summary line KEY of LOG.
summary() {
	logdump "$2" | sed -n "s/^$1: //p"
}

# Exit 8, nothing on stdout, one line "logdump: INPUT: problem" with PROBLEM.
assert_bad_input() {
	local input=$1 problem=$2
	[ "$status" -eq 8 ] || fail "exit status $status, expected 8; stderr: $stderr"
	[ -z "$output" ] || fail "expected nothing on stdout, got: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line on stderr, got: $stderr"
	assert_equal "${stderr_lines[0]}" "logdump: $input: $problem"
}

# N bytes of BYTE (octal escape), for comparing payloads.
bytes_of() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

# Write the little-endian 32-bit VALUE at byte OFF of FILE: poke32 FILE VALUE OFF.
poke32() {
	local file=$1 v=$2 off=$3
	printf '%b' "$(printf '\\x%02x' $((v & 255)) $((v >> 8 & 255)) $((v >> 16 & 255)) \
		$((v >> 24 & 255)))" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

check_entries() {
	local ss=$1 d
	d=$(q "$ss")
	dump "$d/log.img"
	assert_success
	[ -z "$stderr" ]
	assert_line --index 0 "magic: ok"
	assert_line --index 1 "version: 1"
	assert_line --index 2 "sector_size: $ss"
	assert_line --index 3 "nr_entries_super: 11"
	assert_line --index 4 "valid_entries: 11"
	assert_line --index 5 "extra_entries: 0"
	assert_line --index 6 "end: end of the log (byte $(stat -c %s "$d/log.img"))"
	assert_equal "$(printf '%s\n' "${lines[@]:7}")" "$(expected_entries "$ss")"
}

# Every write's payload is what the disk holds there at the end (no later
# entry of the workload overlaps it).
check_payloads_match_disk() {
	local ss=$1 d idx sector nr flags
	d=$(q "$ss")
	while read -r idx sector nr flags; do
		[ "$flags" = "0x0()" ] || continue
		cmp <(logdump --data "$idx" "$d/log.img") \
			<(dd if="$d/disk.img" bs="$ss" skip="$sector" count="$nr" status=none) ||
			fail "entry $idx: payload differs from disk.img at sector $sector"
	done < <(logdump "$d/log.img" | grep -E '^[0-9]+ ')
}

# --- entries against the qemu-io commands ----------------------------------

@test "qemu log, 512-byte sectors: one entry per request, flushes where QEMU emits them" {
	check_entries 512
}

@test "qemu log, 4096-byte sectors: the same workload in 4 KiB units" {
	check_entries 4096
}

@test "qemu log, 64 KiB sectors: small requests widened to one log sector" {
	check_entries 65536
}

@test "qemu log: payloads are the bytes qemu-io wrote" {
	local ss d
	for ss in 512 4096; do
		d=$(q "$ss")
		cmp <(logdump --data 0 "$d/log.img") <(bytes_of 8192 '\241') || fail "$ss: entry 0"
		cmp <(logdump --data 4 "$d/log.img") <(bytes_of 4096 '\0') || fail "$ss: write -z"
		cmp <(logdump --data 5 "$d/log.img") <(bytes_of 4096 '\243') || fail "$ss: write -f"
		cmp <(logdump --data 7 "$d/log.img") <(bytes_of 8192 '\244') || fail "$ss: writev"
		# The unaligned write: 200 bytes of 0xa5 inside old bytes of the base.
		cmp <(logdump --data 8 "$d/log.img" | tail -c +$((400800 % ss + 1)) | head -c 200) \
			<(bytes_of 200 '\245') || fail "$ss: unaligned write"
		cmp <(logdump --data 8 "$d/log.img" | head -c $((400800 % ss))) \
			<(dd if="$d/base.img" bs=1 skip=$((400800 / ss * ss)) count=$((400800 % ss)) \
				status=none) || fail "$ss: bytes before the unaligned write"
		cmp <(logdump --data 8 "$d/log.img" | tail -c +$((400800 % ss + 201))) \
			<(dd if="$d/base.img" bs=1 skip=$((400800 + 200)) \
				count=$(((400800 + 200 + ss - 1) / ss * ss - 400800 - 200)) status=none) ||
			fail "$ss: bytes after the unaligned write"
		dump --data 3 "$d/log.img"
		assert_success
		[ -z "$output" ] || fail "a discard has no payload"
	done
}

@test "qemu log: every write's payload matches the final disk" {
	check_payloads_match_disk 512
	check_payloads_match_disk 4096
	check_payloads_match_disk 65536
}

@test "qemu log: replaying every entry onto the base copy gives disk.img byte for byte" {
	local ss d out
	for ss in 512 4096 65536; do
		d=$(q "$ss")
		out="$(scratch)/replayed-$ss.img"
		cp "$d/base.img" "$out"
		dump --apply "$out" "$d/log.img"
		assert_success
		assert_output "applied 11 entries to $out"
		cmp "$out" "$d/disk.img" || fail "$ss: the replay differs from disk.img"
	done
}

@test "--json: the same counts and entries, valid JSON" {
	local d; d=$(q 4096)
	dump --json "$d/log.img"
	assert_success
	echo "$output" | jq -e '.sector_size == 4096 and .nr_entries_super == 11 and
		.valid_entries == 11 and .extra_entries == 0 and (.entries | length) == 11' >/dev/null
	echo "$output" | jq -e '.entries[3] | .flag_names == "DISCARD" and .sector == 32 and
		.nr_sectors == 2 and .payload_len == 0' >/dev/null
	echo "$output" | jq -e '.entries[0] | .offset == 4096 and .data_offset == 8192 and
		.payload_len == 8192' >/dev/null
}

@test "a log on a block device reads the same as the file" {
	require_root
	local d dev; d=$(q 512)
	dev=$(losetup -f --show -r "$d/log.img") || fail "losetup failed"
	run --separate-stderr logdump "$dev"
	losetup -d "$dev"
	assert_success
	assert_equal "$output" "$(logdump "$d/log.img")"
}

# --- the stale super of an aborted run -----------------------------------------

@test "aborted qemu-io: nr_entries counts up to the last flush, the rest are found" {
	local ss d
	for ss in 512 4096 65536; do
		d=$(q "$ss")
		dump "$d/stale-log.img"
		assert_success
		assert_line --index 3 "nr_entries_super: 2"
		assert_line --index 4 "valid_entries: 5"
		assert_line --index 5 "extra_entries: 3"
		assert_line --index 6 "end: end of the log (byte $(stat -c %s "$d/stale-log.img"))"
		assert_equal "$(printf '%s\n' "${lines[@]:7}")" "$(expected_stale_entries "$ss")"
	done
}

@test "aborted qemu-io: replaying the entries past nr_entries too gives its disk" {
	local ss d out
	for ss in 512 4096; do
		d=$(q "$ss")
		out="$(scratch)/stale-$ss.img"
		cp "$d/base.img" "$out"
		logdump --apply "$out" "$d/stale-log.img"
		cmp "$out" "$d/stale-disk.img" || fail "$ss: the replay differs from stale-disk.img"
	done
}

@test "garbage or zeros past nr_entries end the log quietly" {
	local d log; d=$(q 512)
	log="$(scratch)/garbage.img"
	cp "$d/stale-log.img" "$log"
	bytes_of 512 '\377' >>"$log"
	dump "$log"
	assert_success
	assert_line --index 4 "valid_entries: 5"
	assert_line --index 6 "end: entry 5 (log byte 15360): unknown flag bits 0xffffffffffffffe0"
	cp "$d/stale-log.img" "$log"
	truncate -s +1M "$log"
	dump "$log"
	assert_success
	assert_line --index 4 "valid_entries: 5"
	assert_line --index 6 "end: entry 5 (log byte 15360): all-zero header"
}

@test "qemu-io aborted before its first flush: no super yet, one clear line" {
	local d log disk
	d=$(scratch)
	log="$d/log.img" disk="$d/disk.img"
	truncate -s 1M "$disk"
	: >"$log"
	run bash -c "ulimit -c 0; qemu-io -t writeback --image-opts \
		driver=blklogwrites,file.driver=file,file.filename=$disk,log.driver=file,log.filename=$log \
		-c 'write -P 1 0 4k' -c abort >/dev/null 2>&1"
	[ "$status" -eq 134 ] || fail "qemu-io abort: exit $status"
	[ -s "$log" ] || fail "QEMU logged nothing"
	dump "$log"
	assert_bad_input "$log" "no dm-log-writes super (its sector is zeros; QEMU writes the super only at the first flush, so a log cut before one has none)"
}

# --- bad input ---------------------------------------------------------------

@test "bad input: truncated log" {
	local d log size; d=$(q 512)
	log="$(scratch)/cut.img"
	size=$(stat -c %s "$d/log.img")
	head -c $((size - 100)) "$d/log.img" >"$log"
	dump "$log"
	assert_bad_input "$log" "truncated: entry 10 (log byte $((size - 512))): the log ends (byte $((size - 100))) inside the header sector"
	head -c $((size - 512 - 1000)) "$d/log.img" >"$log"
	dump "$log"
	assert_bad_input "$log" "truncated: entry 9 (log byte $((size - 512 - 4096 - 512))): its 4096-byte payload runs past the end of the log (byte $((size - 1512)))"
	head -c 4096 "$d/log.img" >"$log"
	dump "$log"
	assert_bad_input "$log" "truncated: the super claims 11 entries, which need more than the 4096 bytes of the log (8 sectors of 512)"
	head -c 100 "$d/log.img" >"$log"
	dump "$log"
	assert_bad_input "$log" "truncated: 100 bytes, less than one 512-byte log sector"
}

@test "bad input: wrong magic, wrong version" {
	local d log; d=$(q 4096)
	log="$(scratch)/magic.img"
	cp "$d/log.img" "$log"
	printf 'X' | dd of="$log" bs=1 seek=0 conv=notrunc status=none
	dump "$log"
	assert_bad_input "$log" "not a dm-log-writes log (magic 0x6a736677736858, expected 0x6a736677736872)"
	cp "$d/log.img" "$log"
	poke32 "$log" 2 8
	dump "$log"
	assert_bad_input "$log" "unsupported dm-log-writes version 2 (only 1 exists)"
}

@test "bad input: log sector size not a power of two, too small, too large" {
	local d log; d=$(q 512)
	log="$(scratch)/ss.img"
	cp "$d/log.img" "$log"
	poke32 "$log" 1000 24
	dump "$log"
	assert_bad_input "$log" "log sector size 1000 is not a power of two"
	poke32 "$log" 16 24
	dump "$log"
	assert_bad_input "$log" "log sector size 16 is smaller than the 32-byte entry header"
	poke32 "$log" $((32 << 20)) 24
	dump "$log"
	assert_bad_input "$log" "log sector size 33554432 is above the 16 MiB maximum"
}

@test "bad input: a malformed entry before nr_entries names the entry and its offset" {
	local d log; d=$(q 512)
	log="$(scratch)/flags.img"
	cp "$d/log.img" "$log"
	# Entry 2 (the first FLUSH) starts at 512 + (512 + 8192) + (512 + 4096).
	printf '\x41' | dd of="$log" bs=1 seek=$((13824 + 16)) conv=notrunc status=none
	dump "$log"
	assert_bad_input "$log" "entry 2 (log byte 13824): unknown flag bits 0x40"
	cp "$d/log.img" "$log"
	printf 'x' | dd of="$log" bs=1 seek=$((13824 + 300)) conv=notrunc status=none
	dump "$log"
	assert_bad_input "$log" "entry 2 (log byte 13824): non-zero byte 0x78 after the entry header (byte 300 of its sector)"
	cp "$d/log.img" "$log"
	dd if=/dev/zero of="$log" bs=1 seek=13824 count=32 conv=notrunc status=none
	dump "$log"
	assert_bad_input "$log" "entry 2 (log byte 13824): all-zero header"
}

@test "bad input: entries past the end of the device" {
	local d log base before at; d=$(q 512)
	log="$d/log.img"
	at=$(logdump --json "$log" | jq '.entries[9].offset')
	dump --device-size $((1020 * 1024)) "$log"
	assert_bad_input "$log" "entry 9 (log byte $at) writes sectors 2040..2047, past the end of the 1044480-byte device (2040 sectors of 512 bytes)"
	dump --device-size $((1024 * 1024)) "$log"
	assert_success
	base="$(scratch)/small.img"
	head -c $((1020 * 1024)) "$d/base.img" >"$base"
	before=$(sha "$base")
	dump --apply "$base" "$log"
	assert_bad_input "$log" "entry 9 (log byte $at) writes sectors 2040..2047, past the end of the 1044480-byte device (2040 sectors of 512 bytes)"
	[ "$(sha "$base")" = "$before" ] || fail "the base changed"
}

@test "bad input: empty file, random bytes, a directory, a missing file" {
	local d; d=$(scratch)
	: >"$d/empty"
	dump "$d/empty"
	assert_bad_input "$d/empty" "empty file, not a dm-log-writes log"
	head -c 64k /dev/urandom >"$d/random"
	dump "$d/random"
	[ "$status" -eq 8 ] && [ "${#stderr_lines[@]}" -eq 1 ] && [ -z "$output" ]
	[[ ${stderr_lines[0]} == "logdump: $d/random: not a dm-log-writes log (magic 0x"* ]]
	dump "$d"
	assert_bad_input "$d" "is not a regular file or block device"
	dump "$d/missing"
	assert_bad_input "$d/missing" "No such file or directory"
}

@test "usage errors exit 16" {
	local d; d=$(q 512)
	dump
	[ "$status" -eq 16 ]
	dump --bogus "$d/log.img"
	[ "$status" -eq 16 ]
	dump --json --data 0 "$d/log.img"
	[ "$status" -eq 16 ]
	dump --data 11 "$d/log.img"
	[ "$status" -eq 16 ]
	assert_equal "${stderr_lines[0]}" "logdump: $d/log.img: no entry 11 (the log has 11)"
}
