#!/usr/bin/env bats
# The guest helpers stay in the guest (issue 11, point 4): ext4da-mark
# never picks a device on its own, never takes a path for a mark name, and
# writes only into a device whose last MiB already is a mark area; the
# helpers install under $(pkglibexecdir), off the host's PATH, where
# ext4da-record finds ext4da-stamp.

load helpers

bats_require_minimum_version 1.5.0

MIB=1048576

mark() {
	run --separate-stderr ext4da-mark "$@"
}

# A device image of SIZE bytes, poisoned like ext4da-record's.
poisoned_dev() {
	truncate -s "$2" "$1"
	ext4da-stamp -q poison "$1"
}

assert_usage() {
	[ "$status" -eq 16 ] || fail "exit $status, expected 16; stderr: $stderr"
	[ -z "$output" ] || fail "stdout: $output"
	[[ ${stderr_lines[0]} == "ext4da-mark: $1" ]] || fail "stderr: $stderr"
}

@test "a path as the only argument is refused, not taken as a mark name" {
	local dev before
	dev=$(scratch)/dev.img
	poisoned_dev "$dev" 4M
	before=$(sha "$dev")
	unset EXT4DA_MARK_DEVICE
	mark "$dev"
	assert_usage "'$dev' looks like a path, not a mark NAME; the device is -d DEV"
	mark /nonexistent.img
	assert_usage "'/nonexistent.img' looks like a path, not a mark NAME; the device is -d DEV"
	EXT4DA_MARK_DEVICE=$dev mark ./x
	assert_usage "'./x' looks like a path, not a mark NAME; the device is -d DEV"
	[ "$(sha "$dev")" = "$before" ] || fail "the device changed"
}

@test "no -d and no EXT4DA_MARK_DEVICE: a usage error, no default device" {
	unset EXT4DA_MARK_DEVICE
	mark name
	assert_usage "no device: give -d DEV (or set EXT4DA_MARK_DEVICE; ext4da-record's guest does)"
	EXT4DA_MARK_DEVICE= mark name
	assert_usage "no device: give -d DEV (or set EXT4DA_MARK_DEVICE; ext4da-record's guest does)"
	mark --dump
	assert_usage "no device: give -d DEV (or set EXT4DA_MARK_DEVICE; ext4da-record's guest does)"
	ext4da-mark --help | grep -q -- "--device=DEV" || fail "--help"
	! ext4da-mark --help | grep -q /dev/vda || fail "--help still names a default device"
}

@test "EXT4DA_MARK_DEVICE names the device; -d wins over it" {
	local a b
	a=$(scratch)/a.img b=$(scratch)/b.img
	poisoned_dev "$a" 4M
	poisoned_dev "$b" 4M
	EXT4DA_MARK_DEVICE=$a mark -q from-env
	assert_success
	EXT4DA_MARK_DEVICE=$a mark -q -d "$b" from-option
	assert_success
	EXT4DA_MARK_DEVICE=$a mark --dump
	assert_output --regexp "^mark 1 from-env slot=1 "
	[ "${#lines[@]}" -eq 1 ] || fail "$output"
	mark --dump "$b"
	assert_output --regexp "^mark 1 from-option slot=1 "
}

@test "a device whose last MiB is not a mark area is refused before any write" {
	local d dev before
	d=$(scratch)
	# Zeros: an unprepared image, or a disk's unused end.
	truncate -s 4M "$d/zero.img"
	before=$(sha "$d/zero.img")
	mark -d "$d/zero.img" x
	[ "$status" -eq 8 ] || fail "exit $status"
	assert_equal "$stderr" "ext4da-mark: $d/zero.img: its last MiB is not a mark area (slot 0, byte $((3 * MIB)), holds neither poison nor a mark record); ext4da-record prepares one, or 'ext4da-stamp poison DEV $((3 * MIB)) 1M' on a scratch device"
	[ "$(sha "$d/zero.img")" = "$before" ] || fail "the device changed"
	# Poison everywhere but one slot of data.
	poisoned_dev "$d/data.img" 4M
	head -c 4096 /dev/urandom | dd of="$d/data.img" bs=4096 seek=$((3 * 256 + 100)) conv=notrunc status=none
	before=$(sha "$d/data.img")
	mark -d "$d/data.img" x
	[ "$status" -eq 8 ] && [[ $stderr == *"(slot 100, byte $((3 * MIB + 100 * 4096)), holds neither"* ]] ||
		fail "exit $status: $stderr"
	[ "$(sha "$d/data.img")" = "$before" ] || fail "the device changed"
	# Poison of another device (its sector numbers name other places).
	poisoned_dev "$d/other.img" 8M
	tail -c $((4 * MIB)) "$d/other.img" >"$d/moved.img"
	mark -d "$d/moved.img" x
	[ "$status" -eq 8 ] || fail "poison from elsewhere: exit $status"
	# Poison with another fill, and existing records, are a mark area.
	truncate -s 4M "$d/fill.img"
	poison --fill 0x41 "$d/fill.img"
	mark -q -d "$d/fill.img" x
	assert_success
	mark -q -d "$d/fill.img" y
	assert_success
}

@test "make install: the guest helpers go under pkglibexecdir, not bin; ext4da-record looks there" {
	local d libexec
	d=$(scratch)/root
	make -s -C "$BUILDDIR" install DESTDIR="$d" >/dev/null 2>&1 || fail "make install failed"
	libexec=$(sed -n 's/^pkglibexecdir = //p' "$BUILDDIR/Makefile")
	libexec=${libexec//\$(libexecdir)/$(sed -n 's/^libexecdir = //p' "$BUILDDIR/Makefile")}
	libexec=${libexec//\$(exec_prefix)/$(sed -n 's/^exec_prefix = //p' "$BUILDDIR/Makefile")}
	libexec=${libexec//\$\{exec_prefix\}/$(sed -n 's/^exec_prefix = //p' "$BUILDDIR/Makefile")}
	libexec=${libexec//\$\{prefix\}/$(sed -n 's/^prefix = //p' "$BUILDDIR/Makefile")}
	libexec=${libexec//\$(PACKAGE)/ext4da}
	[ -x "$d$libexec/ext4da-mark" ] && [ -x "$d$libexec/ext4da-stamp" ] ||
		fail "not in $libexec: $(find "$d" -type f | sort)"
	[ -x "$d$libexec/guest/ext4da-mark" ] || fail "no static guest helper"
	[ -z "$(find "$d" -path '*/bin/*' \( -name ext4da-mark -o -name ext4da-stamp \))" ] ||
		fail "on PATH: $(find "$d" -path '*/bin/*' -name 'ext4da-*')"
	grep -qF "\"$libexec/ext4da-stamp\"" "$(find "$d" -path '*/bin/ext4da-record')" ||
		fail "ext4da-record does not look in $libexec"
}
