#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# What the guest helpers gained for generated workloads (issue 12):
# ext4da-stamp's --direct, --mmap, --fallocate MODE and --sync-range on a
# loop-mounted ext4, and ext4da-mark's claims (--synced, --names,
# --absent, --release): what they record, that they sync nothing, how
# many records they take, and their errors.

load helpers

bats_require_minimum_version 1.5.0

MIB=1048576

setup_file() {
	require_root
	export IMG="$BATS_FILE_TMPDIR/fs.img" MNT="$BATS_FILE_TMPDIR/mnt"
	truncate -s 64M "$IMG"
	mkfs.ext4 -q -F -b 4096 "$IMG"
	mkdir -p "$MNT"
	mount -o loop "$IMG" "$MNT"
}

teardown_file() {
	umount "$MNT" 2>/dev/null || true
}

stamp() {
	run --separate-stderr ext4da-stamp "$@"
}

mark() {
	run --separate-stderr ext4da-mark "$@"
}

# A 4 MiB poisoned device image for marks.
markdev() {
	local dev
	dev=$(scratch)/dev.img
	truncate -s 4M "$dev"
	ext4da-stamp -q poison "$dev"
	echo "$dev"
}

one_line_error() {
	local code=$1 prefix=$2
	[ "$status" -eq "$code" ] || fail "exit $status, expected $code; stderr: $stderr"
	[ -z "$output" ] || fail "stdout: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line on stderr: $stderr"
	[[ $stderr == "$prefix"* ]] || fail "stderr: $stderr"
}

@test "stamp --direct, --mmap: stamps that verify, and the line says how" {
	local f=$MNT/dm
	stamp --gen 1 create "$f" 16K
	assert_success
	stamp --gen 2 --direct overwrite "$f" 4K 4K
	assert_success
	[[ $output == "overwrite $f ino="*" off=4096 len=4096 size=16384 wgen=2 sync=none via=direct" ]] || fail "$output"
	stamp --gen 3 --direct --fdatasync append "$f" 8K
	assert_success
	[[ $output == *" off=16384 len=8192 size=24576 wgen=3 sync=fdatasync via=direct" ]] || fail "$output"
	stamp --gen 4 --mmap overwrite "$f" 1536 1024
	assert_success
	[[ $output == *" off=1536 len=1024 size=24576 wgen=4 sync=none via=mmap" ]] || fail "$output"
	# From the disk: drop the page cache of this filesystem.
	umount "$MNT" && mount -o loop "$IMG" "$MNT"
	stamp verify "$f"
	assert_success
	assert_output --partial " sectors=48 zero=0 stamped=48 bad=0 ok"
	[ "$(od -A n -t u8 -j $((1536 + 20)) -N 8 "$f" | tr -d ' ')" = 1536 ] ||
		fail "the mmap stamp does not name its offset"
}

@test "stamp --fallocate: punch and zero read as zeros, keep-size keeps the size" {
	local f=$MNT/fa blocks
	ext4da-stamp -q --gen 1 create "$f" 16K
	stamp --fallocate punch overwrite "$f" 4K 4K
	assert_success
	[[ $output == *" off=4096 len=4096 size=16384 "*" via=punch" ]] || fail "$output"
	stamp --fallocate zero overwrite "$f" 12K 8K
	assert_success
	[[ $output == *" size=20480 "*" via=zero" ]] || fail "$output"
	blocks=$(stat -c %b "$f")
	stamp --fallocate keep-size --fsync overwrite "$f" 20K 64K
	assert_success
	[[ $output == *" size=20480 "*"sync=fsync via=keep-size" ]] || fail "$output"
	[ "$(stat -c %s "$f")" = 20480 ] || fail "keep-size changed the size"
	[ "$(stat -c %b "$f")" -gt "$blocks" ] || fail "keep-size allocated nothing"
	stamp verify "$f"
	assert_success
	assert_output --partial " zero=24 stamped=16 bad=0 ok"
}

@test "stamp --sync-range, and overwrite of 0 bytes that only syncs" {
	local f=$MNT/sr
	ext4da-stamp -q --gen 1 create "$f" 8K
	stamp --sync-range overwrite "$f" 0 0
	assert_success
	[[ $output == *" off=0 len=0 size=8192 "*" sync=sync-range" ]] || fail "$output"
	stamp --gen 2 --sync-range append "$f" 4K
	assert_success
	[[ $output == *" sync=sync-range" ]] || fail "$output"
}

@test "stamp: the new options' usage errors exit 16, and a mapping past EOF exits 8" {
	local f=$MNT/bad args
	ext4da-stamp -q create "$f" 4K
	while read -r args; do
		# shellcheck disable=SC2086
		stamp $args
		[ "$status" -eq 16 ] || fail "$args: exit $status"
		[[ ${stderr_lines[0]} == "ext4da-stamp: "?* ]] || fail "$args: $stderr"
	done <<EOF
--mmap append $f 4K
--fallocate punch truncate $f 0
--fallocate bogus overwrite $f 0 4K
--mmap --fallocate punch overwrite $f 0 4K
--direct --mmap overwrite $f 0 4K
--direct truncate $f 0
--fsync --sync-range overwrite $f 0 4K
--sync-range verify $f
EOF
	stamp --mmap overwrite "$f" 0 8K
	one_line_error 8 "ext4da-stamp: $f: --mmap: bytes 0-8191 are past its end (4096 bytes)"
	[ "$(stat -c %s "$f")" = 4096 ] || fail "the file changed"
}

@test "mark claims: synced, names, absent and release entries, one claims record" {
	local dev d=$MNT/cl ino
	dev=$(markdev)
	mkdir -p "$d/sub"
	ext4da-stamp -q create "$d/f" 8K
	ino=$(stat -c %i "$d/f")
	mark -d "$dev" c1 --synced "$d/f" --names "$d" --absent "$d/gone" --release "$d/f"
	assert_success
	assert_line --index 0 --regexp '^mark 1 c1 slot=1 .* kind=claims entries=5 '
	assert_line --index 1 --regexp "^  synced /cl/f ino=$ino igen=[0-9]+ size=8192 crc=0x[0-9a-f]{8}\$"
	assert_line --index 2 --regexp "^  name /cl/f ino=$ino igen=[0-9]+\$"
	assert_line --index 3 --regexp "^  name /cl/sub ino=$(stat -c %i "$d/sub") igen=[0-9]+\$"
	assert_line --index 4 "  absent /cl/gone"
	assert_line --index 5 "  release /cl/f ino=$ino"
	local written=$output
	mark --dump "$dev"
	assert_output "$written"
	[ "$(od -A n -t u4 -j $((3 * MIB + 4096 + 8)) -N 4 "$dev" | tr -d ' ')" = 2 ] ||
		fail "a claims record is not version 2"
}

@test "mark: --durable alone still writes a version 1 durability record" {
	local dev
	dev=$(markdev)
	ext4da-stamp -q create "$MNT/v1" 4K
	mark -d "$dev" -q v1 --durable "$MNT/v1"
	assert_success
	[ "$(od -A n -t u4 -j $((3 * MIB + 4096 + 8)) -N 4 "$dev" | tr -d ' ')" = 1 ] ||
		fail "the version is not 1"
}

@test "mark: more than 15 entries take consecutive records with the same name" {
	local dev d=$MNT/many i
	dev=$(markdev)
	mkdir -p "$d"
	for i in $(seq 1 20); do : >"$d/f$i"; done
	mark -d "$dev" big --names "$d" --absent "$d/none"
	assert_success
	assert_line --index 0 --regexp '^mark 1 big slot=1 .* kind=claims entries=15 '
	assert_line --index 16 --regexp '^mark 2 big slot=2 .* kind=claims entries=6 '
	assert_line "  absent /many/none"
}

@test "mark claims sync nothing: a claimed file stays dirty" {
	local dev f=$MNT/dirty
	dev=$(markdev)
	sync -f "$MNT"
	ext4da-stamp -q create "$f" 64K
	mark -d "$dev" -q nosync --synced "$f" --names "$MNT"
	assert_success
	# Still dirty: sync_file_range with WAIT_BEFORE only would not tell;
	# the page cache's dirty count for this file is not exported, so look
	# at the filesystem's: its lifetime writes have not moved.
	local before after
	before=$(cat "/sys/fs/ext4/$(basename "$(losetup -j "$IMG" | cut -d: -f1 | head -1)")/lifetime_write_kbytes" 2>/dev/null || echo)
	[ -n "$before" ] || skip "no lifetime_write_kbytes for the loop device"
	mark -d "$dev" -q nosync2 --synced "$f"
	after=$(cat "/sys/fs/ext4/$(basename "$(losetup -j "$IMG" | cut -d: -f1 | head -1)")/lifetime_write_kbytes")
	[ "$before" = "$after" ] || fail "the filesystem wrote $((after - before)) KiB during a claims mark"
}

@test "mark claims: bad input exits 8 with one line naming the path; --dump refuses them" {
	local dev before
	dev=$(markdev)
	before=$(sha "$dev")
	: >"$MNT/here"
	mark -d "$dev" x --absent "$MNT/here"
	one_line_error 8 "ext4da-mark: $MNT/here: it exists, so it cannot be claimed absent"
	mark -d "$dev" x --synced "$MNT/nothere"
	one_line_error 8 "ext4da-mark: $MNT/nothere: No such file or directory"
	mark -d "$dev" x --synced "$MNT"
	one_line_error 8 "ext4da-mark: $MNT: not a regular file"
	mkdir -p "$MNT/withlink"
	ln -sf /etc/hostname "$MNT/withlink/sym"
	mark -d "$dev" x --names "$MNT/withlink"
	one_line_error 8 "ext4da-mark: $MNT/withlink: sym: "
	mark -d "$dev" x --release "$MNT/.."
	[ "$status" -eq 8 ] || fail "exit $status"
	[ "$(sha "$dev")" = "$before" ] || fail "the device changed"
	mark --dump "$dev" --synced "$MNT/here"
	[ "$status" -eq 16 ] || fail "exit $status"
}
