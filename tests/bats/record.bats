#!/usr/bin/env bats
# ext4da-record (SPEC section 6): help, version, usage errors (exit 16),
# operational errors (exit 8) that leave nothing behind, and one real
# recording under the stock guest kernel: the poisoned device with the
# filesystem on it, a write log with flushes, meta.json, the console, and
# ext4da-crash passing every crash point of it.  The kernel comes from
# kernel/build's cache (or is built once, which takes minutes).

load helpers

bats_require_minimum_version 1.5.0

MIB=1048576

setup_file() {
	export RECORD="$BUILDDIR/ext4da-record"
	export WORKLOAD="$SRCDIR/tests/workloads/small-fsync.sh"
	# A VPATH build has kernel/initramfs in the source tree only.
	[ -x "$BUILDDIR/kernel/initramfs" ] || export EXT4DA_INITRAMFS="$SRCDIR/kernel/initramfs"
	# The one real recording, shared by the tests that inspect it.
	export REC="$BATS_FILE_TMPDIR/rec" REC_TMP="$BATS_FILE_TMPDIR/tmp"
	export KERNEL_ERR="$BATS_FILE_TMPDIR/kernel.err" REC_ERR="$BATS_FILE_TMPDIR/record.err"
	mkdir -p "$REC_TMP"
	if KERNEL=$("$SRCDIR/kernel/build" --print-path 2>"$KERNEL_ERR"); then
		export KERNEL
		TMPDIR="$REC_TMP" "$RECORD" -q --kernel "$KERNEL" --out "$REC" --size 64M --seed 7 \
			-- "$WORKLOAD" 5 2>"$REC_ERR"
		echo $? >"$BATS_FILE_TMPDIR/record.rc"
	else
		echo "kernel/build failed" >"$BATS_FILE_TMPDIR/record.rc"
	fi
}

# The recording must have happened for the tests that inspect it.
need_recording() {
	local rc
	rc=$(cat "$BATS_FILE_TMPDIR/record.rc")
	[ "$rc" = 0 ] || fail "the recording failed ($rc): $(tail -n 3 "$KERNEL_ERR" "$REC_ERR" 2>/dev/null)"
}

rec() {
	run --separate-stderr "$RECORD" "$@"
}

# A kernel-shaped file for the argument tests (never booted).
fake_kernel() {
	local k="$BATS_TEST_TMPDIR/bzImage"
	echo "not a kernel" >"$k"
	echo "$k"
}

@test "--help prints the usage and exits 0" {
	rec --help
	assert_success
	assert_output --partial "Usage: ext4da-record --kernel BZIMAGE --out DIR"
	assert_output --partial "--throttle BPS"
	assert_output --partial "--unmount"
}

@test "--version prints the name and version" {
	rec --version
	assert_success
	assert_output --regexp '^ext4da-record [0-9]+\.[0-9]+'
	rec -V
	assert_success
}

@test "usage errors exit 16 with one line and a hint" {
	local k out="$BATS_TEST_TMPDIR/out"
	k=$(fake_kernel)
	rec
	assert_failure 16
	[ "${stderr_lines[0]}" = "ext4da-record: no workload SCRIPT given (put it after --)" ]
	[ "${stderr_lines[1]}" = "Try 'ext4da-record --help' for more information." ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	rec --bogus
	assert_failure 16
	[[ $stderr == *"unknown option '--bogus'"* ]]
	rec --out "$out" -- "$WORKLOAD"
	assert_failure 16
	[[ $stderr == *"--kernel is required"* ]]
	rec --kernel "$k" -- "$WORKLOAD"
	assert_failure 16
	[[ $stderr == *"--out is required"* ]]
	rec --kernel "$k" --out "$out" --seed abc -- "$WORKLOAD"
	assert_failure 16
	[[ $stderr == *"--seed: 'abc' is not a number"* ]]
	rec --kernel "$k" --out "$out" --size 8M -- "$WORKLOAD"
	assert_failure 16
	[[ $stderr == *"--size: at least 16M"* ]]
	rec --kernel "$k" --out "$out" --size lots -- "$WORKLOAD"
	assert_failure 16
	rec --kernel "$k" --out "$out" --smp 0 -- "$WORKLOAD"
	assert_failure 16
	rec --kernel "$k" --out "$out" --throttle fast -- "$WORKLOAD"
	assert_failure 16
	rec --kernel "$k" --out "$out" --fail-writes 12x -- "$WORKLOAD"
	assert_failure 16
	[[ $stderr == *"--fail-writes: '12x' is not BLOCK or BLOCK+COUNT"* ]]
	rec --kernel "$k" --out "$out" --size 64M --fail-writes 16383+2 -- "$WORKLOAD"
	assert_failure 16
	[[ $stderr == *"--fail-writes: '16383+2' is past the end of the 64M device"* ]]
	rec --kernel "$k" --out "$out" --fail-writes 0+4097 -- "$WORKLOAD"
	assert_failure 16
	[[ $stderr == *"--fail-writes: more than 4096 blocks"* ]]
	rec --kernel "$k" --out "$out" --timeout -- "$WORKLOAD"
	assert_failure 16
	rec --kernel "$k" --out "$out" --batch -- $(for i in $(seq 25); do echo "$WORKLOAD"; done)
	assert_failure 16
	[[ $stderr == *"--batch: at most 24 scripts per boot, not 25"* ]]
	rec --kernel "$k" --out "$out" --batch --fail-writes 5 -- "$WORKLOAD"
	assert_failure 16
	[[ $stderr == *"--fail-writes and --batch do not go together"* ]]
	rec --kernel
	assert_failure 16
	[[ $stderr == *"--kernel needs a file"* ]]
	[[ $stderr == *"Try 'ext4da-record --help'"* ]]
	[ ! -e "$out" ]
}

@test "a missing kernel or workload exits 8 and leaves nothing behind" {
	local k out="$BATS_TEST_TMPDIR/out" tmp="$BATS_TEST_TMPDIR/tmp"
	k=$(fake_kernel)
	mkdir -p "$tmp"
	TMPDIR=$tmp run --separate-stderr "$RECORD" --kernel "$BATS_TEST_TMPDIR/no-such-bzImage" \
		--out "$out" -- "$WORKLOAD"
	assert_failure 8
	[ "$stderr" = "ext4da-record: $BATS_TEST_TMPDIR/no-such-bzImage: no such kernel image" ]
	[ ! -e "$out" ]
	TMPDIR=$tmp run --separate-stderr "$RECORD" --kernel "$k" --out "$out" \
		-- "$BATS_TEST_TMPDIR/no-such-workload.sh"
	assert_failure 8
	[ "$stderr" = "ext4da-record: $BATS_TEST_TMPDIR/no-such-workload.sh: no such workload script" ]
	[ ! -e "$out" ]
	[ -z "$(ls -A "$tmp")" ]
}

@test "a non-empty --out exits 8 and is left untouched" {
	local k out="$BATS_TEST_TMPDIR/out" tmp="$BATS_TEST_TMPDIR/tmp"
	k=$(fake_kernel)
	mkdir -p "$out" "$tmp"
	echo precious >"$out/keep"
	TMPDIR=$tmp run --separate-stderr "$RECORD" --kernel "$k" --out "$out" -- "$WORKLOAD"
	assert_failure 8
	[ "$stderr" = "ext4da-record: $out: exists and is not empty" ]
	[ "$(ls -A "$out")" = keep ]
	[ "$(cat "$out/keep")" = precious ]
	[ -z "$(ls -A "$tmp")" ]
}

@test "recording: exit 0, the four files, and no temporary files left" {
	need_recording
	[ -z "$(cat "$REC_ERR")" ] || [ -z "$(grep -v '^kernel/' "$REC_ERR")" ]
	for f in base.img log.img console.log meta.json; do
		[ -s "$REC/$f" ] || fail "no $f"
	done
	[ "$(ls -A "$REC" | sort | tr '\n' ' ')" = "base.img console.log log.img meta.json " ]
	[ -z "$(ls -A "$REC_TMP")" ]
}

@test "recording: base.img holds poison outside the filesystem, and the filesystem" {
	need_recording
	local size blocks sector
	size=$(stat -c %s "$REC/base.img")
	[ "$size" -eq $((64 * MIB)) ]
	# The filesystem stops before the last MiB (the mark area).
	blocks=$(dumpe2fs -h "$REC/base.img" 2>/dev/null | awk -F: '/^Block count/ { print $2 + 0 }')
	[ "$blocks" -eq $(((64 * MIB - MIB) / 4096)) ]
	[ "$(dumpe2fs -h "$REC/base.img" 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')" -eq 4096 ]
	run e2fsck -fn "$REC/base.img"
	assert_success
	# The mark area, first and last sectors: E4DAPOIS and the sector number (le64).
	local le
	for sector in $(((64 * MIB - MIB) / 512)) $((64 * MIB / 512 - 1)); do
		le=$(printf '%016x' "$sector" | sed 's/../& /g' | awk '{ for (i = NF; i > 0; i--) printf "\\x%s", $i }')
		run od -A n -t x1 -j $((sector * 512)) -N 16 "$REC/base.img"
		# shellcheck disable=SC2059
		assert_output "$({ printf 'E4DAPOIS'; printf "$le"; } | od -A n -t x1)"
	done
	# Inside the filesystem, a free block (the middle of the largest free
	# range) still holds the poison.
	local free
	free=$(dumpe2fs "$REC/base.img" 2>/dev/null | sed -n 's/^ *Free blocks: //p' | tr ',' '\n' |
		awk -F- 'NF == 2 && $2 - $1 > best { best = $2 - $1; mid = int(($1 + $2) / 2) } END { print mid }')
	[ -n "$free" ] && [ "$free" -gt 0 ]
	run debugfs -R "testb $free" "$REC/base.img"
	assert_output --partial "not in use"
	sector=$((free * 8))
	run od -A n -c -j $((sector * 512)) -N 8 "$REC/base.img"
	assert_output --regexp 'E +4 +D +A +P +O +I +S'
}

@test "recording: log.img is a write log with FLUSH entries" {
	need_recording
	run logdump "$REC/log.img"
	assert_success
	assert_line "magic: ok"
	assert_line "version: 1"
	assert_line "sector_size: 512"
	local flushes
	flushes=$(grep -cE '^[0-9]+ [0-9]+ [0-9]+ 0x[0-9a-f]+\(.*FLUSH' <<<"$output" || true)
	[ "$flushes" -gt 5 ] || fail "only $flushes FLUSH entries"
	# ext4da-mark's five records are writes to the mark area (the last MiB).
	local marks
	marks=$(awk -v ms=$(((64 * MIB - MIB) / 512)) '/^[0-9]+ [0-9]+ [0-9]+ 0x/ && $2 >= ms && $3 > 0' <<<"$output" | wc -l)
	[ "$marks" -eq 5 ]
}

@test "recording: meta.json parses and has the fields" {
	need_recording
	run jq -e '.schema == "ext4da-record/1" and .mode == "crash" and .seed == 7
		and .size == 67108864 and .smp == 1 and .memory_mb == 512 and .throttle_bps == null
		and .fail_writes == null
		and .script_name == "small-fsync.sh" and .script_args == ["5"]
		and .workload_exit == 0 and .kernel_complaints == 0 and .problem == null
		and (.kernel_sha256 | test("^[0-9a-f]{64}$")) and (.kernel_release | test("^6\\.1\\."))
		and (.script | contains("ext4da-mark")) and (.mkfs | contains("-b 4096"))
		and .mount == "" and (.seconds | type) == "number" and (.tool_version | length) > 0' \
		"$REC/meta.json"
	assert_success
	[ "$(jq -r .kernel "$REC/meta.json")" = "$(realpath "$KERNEL")" ]
}

@test "recording: console.log shows the mount, the workload's exit and the power-off" {
	need_recording
	run tr -d '\r' <"$REC/console.log"
	assert_line --regexp '^EXT4DA-KERNEL 6\.1\.'
	assert_line --regexp '^EXT4DA-MOUNTED /dev/vda /mnt ext4 '
	assert_line "small-fsync: 5 files"
	assert_line --regexp '^EXT4DA-WORKLOAD-EXIT=0 seconds='
	assert_line "EXT4DA-POWEROFF"
	refute_output --partial "EXT4DA-UNMOUNTED"
	refute_output --regexp 'BUG:|WARNING:|Kernel panic'
}

@test "recording: ext4da-crash passes every crash point, with the five marks" {
	need_recording
	run --separate-stderr ext4da-crash --base "$REC/base.img" --log "$REC/log.img" --json \
		--fsck-cmd 'e2fsck -fn %s'
	assert_success
	run jq -se 'last | .type == "summary" and .states > 5 and .failed == 0' <<<"$output"
	assert_success
	run --separate-stderr ext4da-crash --base "$REC/base.img" --log "$REC/log.img" --points mark --json
	assert_success
	run jq -se 'last | .states == 5 and .failed == 0' <<<"$output"
	assert_success
}

@test "recording: tests/crash/perf counts the journal's blocks and commits, and names them" {
	need_recording
	# small-fsync 5 fsyncs five files: at least five commits, each a
	# descriptor, some metadata and a commit block.
	run --separate-stderr "$SRCDIR/tests/crash/perf" --logdump "$BUILDDIR/tests/tools/logdump" "$REC"
	assert_success
	local perf=$output
	run jq -e '.journal_commits >= 5 and .journal_blocks >= 3 * .journal_commits
		and (.journal_blocks_per_commit | tonumber) >= 3 and .journal_blocks_per_mib != null' <<<"$perf"
	assert_success
	# The journal the recording left holds every transaction (some 60
	# blocks in a 4 MiB journal), each logged block named by kind: the
	# fsyncs log inode table blocks, the kinds add up to the blocks
	# listed, and with a descriptor and a commit block per transaction
	# and the journal superblock written once (small-fsync frees nothing:
	# no revoke block), that is every journal block the log wrote.
	run jq -e '.journal_logged as $l | $l.complete and $l.transactions == .journal_commits
		and $l.inode_table >= 5
		and $l.blocks == ($l.superblock + $l.group_descriptors + $l.block_bitmap
			+ $l.inode_bitmap + $l.inode_table + $l.other)
		and $l.revoke_records == 0
		and .journal_blocks == 1 + $l.blocks + 2 * $l.transactions' <<<"$perf"
	assert_success
}

@test "--batch: three workloads in one boot, each on its own disk, log and verdict" {
	need_recording
	local b=$BATS_TEST_TMPDIR/batch i
	for i in 0 7 21; do
		ext4da-workload --seq 1 --index "$i" -o "$BATS_TEST_TMPDIR/w$i.sh"
	done
	run --separate-stderr env TMPDIR="$REC_TMP" "$RECORD" -q --kernel "$KERNEL" --out "$b" \
		--size 32M --batch -- "$BATS_TEST_TMPDIR/w0.sh" "$BATS_TEST_TMPDIR/w7.sh" "$BATS_TEST_TMPDIR/w21.sh"
	assert_success
	# One boot: one console, three mounts by serial number.
	[ "$(grep -c '^EXT4DA-MOUNTED [123] ' "$b/console.log")" = 3 ]
	[ "$(grep -c '^EXT4DA-KERNEL' "$b/console.log")" = 1 ]
	for i in 1 2 3; do
		[ -s "$b/$i/base.img" ] && [ -s "$b/$i/log.img" ] && [ -f "$b/$i/console.log" ]
		run jq -e --argjson i "$i" '.batch == {index: $i, of: 3} and .workload_exit == 0 and .problem == null' "$b/$i/meta.json"
		assert_success
		# Each log is its own disk's: ext4da-crash checks it with the
		# claims its workload's marks made, and every state passes.
		run --separate-stderr ext4da-crash --base "$b/$i/base.img" --log "$b/$i/log.img" --json
		assert_success
		run jq -se 'last | .type == "summary" and .states > 0 and .failed == 0' <<<"$output"
		assert_success
	done
	# The workloads differ, so the logs do too.
	! cmp -s "$b/1/log.img" "$b/2/log.img"
	[ -z "$(ls -A "$REC_TMP")" ]
}

@test "man page and bash completion" {
	run groff -man -Tutf8 -ww -z "$SRCDIR/man/ext4da-record.8"
	assert_success
	assert_output ""
	run bash -c "source '$SRCDIR/completions/ext4da-record' && COMP_WORDS=(ext4da-record --thr) COMP_CWORD=1 && _ext4da_record && printf '%s\n' \"\${COMPREPLY[@]}\""
	assert_success
	assert_output "--throttle"
	run bash -c "source '$SRCDIR/completions/ext4da-record' && COMP_WORDS=(ext4da-record --smp '') COMP_CWORD=2 && _ext4da_record && printf '%s\n' \"\${COMPREPLY[@]}\""
	assert_success
	assert_line 1
	assert_line 2
}
