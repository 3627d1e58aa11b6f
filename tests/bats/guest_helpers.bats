#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# The guest helpers ext4da-stamp and ext4da-mark (SPEC section 7): stamped
# writes on a loop-mounted ext4 verify clean, stale data (the device's
# poison, another file's stamp) is caught and located, marks land in the
# last MiB and nowhere else and decode again, bad input gets one line and
# exit 8 or 16; and their man pages and completions.

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

# Undo this test's own mounts and loop devices.
teardown() {
	local m dev
	if [ -f "$BATS_TEST_TMPDIR/mounts" ]; then
		while read -r m; do
			umount "$m" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/mounts"
	fi
	if [ -f "$BATS_TEST_TMPDIR/loops" ]; then
		while read -r dev; do
			losetup -d "$dev" 2>/dev/null || true
		done <"$BATS_TEST_TMPDIR/loops"
	fi
}

mount_loop() {
	mount -o loop "$1" "$2" || fail "mount $1 failed"
	echo "$2" >>"$BATS_TEST_TMPDIR/mounts"
}

attach() {
	local dev
	dev=$(losetup -f --show "$1") || fail "losetup $1 failed"
	echo "$dev" >>"$BATS_TEST_TMPDIR/loops"
	echo "$dev"
}

stamp() {
	run --separate-stderr ext4da-stamp "$@"
}

mark() {
	run --separate-stderr ext4da-mark "$@"
}

igen_of() {
	lsattr -v "$1" | awk '{ print $1 }'
}

# The value of KEY=value in a line of output.
field() {
	local key=$1 line=" $2 "
	[[ $line =~ \ $key=([^ ]*)\  ]] || fail "no $key= in: $2"
	echo "${BASH_REMATCH[1]}"
}

# A device image of SIZE bytes, poisoned like ext4da-record's.
poisoned_dev() {
	local dev=$1 size=$2
	truncate -s "$size" "$dev"
	ext4da-stamp -q poison "$dev"
}

# Exit CODE, nothing on stdout, one line "TOOL: INPUT: problem" on stderr.
assert_one_line_error() {
	local code=$1 tool=$2 input=$3
	[ "$status" -eq "$code" ] || fail "exit status $status, expected $code; stderr: $stderr"
	[ -z "$output" ] || fail "expected nothing on stdout, got: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line on stderr, got: $stderr"
	[[ ${stderr_lines[0]} == "$tool: $input: "?* ]] ||
		fail "error line not '$tool: $input: problem': ${stderr_lines[0]}"
	[[ ${stderr_lines[0]} != "$tool: $input: $input"* ]] ||
		fail "error line names the input twice: ${stderr_lines[0]}"
}

# Exit 16, nothing on stdout, "TOOL: problem" first on stderr.
assert_usage_error() {
	local tool=$1 what=$2
	[ "$status" -eq 16 ] || fail "$what: exit status $status, expected 16; stderr: $stderr"
	[ -z "$output" ] || fail "$what: expected nothing on stdout, got: $output"
	[[ ${stderr_lines[0]} == "$tool: "?* ]] ||
		fail "$what: error line does not start with '$tool: ': ${stderr_lines[0]}"
}

# --- ext4da-stamp on ext4 ------------------------------------------------------

@test "stamp: create, overwrite, append, truncate, rename-over, then verify passes" {
	local f=$MNT/t1 g=$MNT/t1.new ino
	stamp create "$f" 64K --fsync --gen 1
	assert_success
	assert_output "create $f ino=$(stat -c %i "$f") igen=$(igen_of "$f") off=0 len=65536 size=65536 wgen=1 sync=fsync"
	stamp overwrite "$f" 4K 8K --gen 2
	assert_success
	[[ $output == "overwrite $f ino="*" off=4096 len=8192 size=65536 wgen=2 sync=none" ]] || fail "$output"
	stamp append "$f" 1M --fdatasync --gen 3
	assert_success
	[[ $output == "append $f ino="*" off=65536 len=1048576 size=1114112 wgen=3 sync=fdatasync" ]] ||
		fail "$output"
	# Past EOF: the gap is a hole, which reads as zeros and is good.
	stamp overwrite "$f" 2M 512 --gen 4
	assert_success
	stamp truncate "$f" 1536K
	assert_success
	assert_output "truncate $f ino=$(stat -c %i "$f") igen=$(igen_of "$f") size=1572864 old-size=2097664 sync=none"
	stamp verify "$f"
	assert_success
	assert_output "verify $f ino=$(stat -c %i "$f") igen=$(igen_of "$f") size=1572864 sectors=3072 zero=896 stamped=2176 bad=0 ok"

	stamp rename-over "$g" "$f" --fsync --gen 5
	assert_success
	[ ! -e "$g" ] || fail "rename-over left $g behind"
	ino=$(field ino "$output")
	[ "$ino" = "$(stat -c %i "$f")" ] || fail "$f is not the new file ($ino)"
	[[ $output == "rename-over $g $f ino=$ino igen=$(igen_of "$f") off=0 len=1572864 size=1572864 wgen=5 sync=fsync" ]] ||
		fail "$output"
	# From the disk, not the page cache.
	umount "$MNT"
	mount -o loop "$IMG" "$MNT"
	stamp verify "$f"
	assert_success
	assert_output --partial " stamped=3072 bad=0 ok"
}

@test "stamp: the write generation comes from --gen, else --seed, else the clock" {
	local w1 w2 w3 w4
	stamp create "$MNT/s1" 4K --seed 7
	w1=$(field wgen "$output")
	stamp create "$MNT/s2" 4K --seed 7
	w2=$(field wgen "$output")
	stamp create "$MNT/s3" 4K
	w3=$(field wgen "$output")
	stamp create "$MNT/s4" 4K --seed 7 --gen 12
	w4=$(field wgen "$output")
	[ "$w1" = "$w2" ] && [ "$w3" != "$w1" ] && [ "$w4" = 12 ] || fail "wgens $w1 $w2 $w3 $w4"
	# Same generation, same offsets: only the inode tells the files apart.
	cmp -s "$MNT/s1" "$MNT/s2" && fail "two files have identical stamps"
	stamp -q verify "$MNT/s1"
	assert_success
	assert_output ""
}

@test "verify: a block that holds the device's poison fails, naming sectors and device sectors" {
	local d img mnt blk
	d=$(scratch)
	img=$d/p.img mnt=$d/mnt
	poisoned_dev "$img" 32M
	mkfs.ext4 -q -F -b 4096 -E nodiscard "$img"
	mkdir "$mnt"
	mount_loop "$img" "$mnt"
	ext4da-stamp -q create "$mnt/f" 16K --fsync
	umount "$mnt"
	blk=$(debugfs -R 'bmap /f 2' "$img" 2>/dev/null)
	[[ $blk =~ ^[0-9]+$ ]] || fail "debugfs bmap gave '$blk'"
	# As if the block had been allocated and mapped but never written.
	ext4da-stamp -q poison "$img" $((blk * 4096)) 4K
	mount_loop "$img" "$mnt"
	stamp verify "$mnt/f"
	[ "$status" -eq 4 ] || fail "exit $status: $output $stderr"
	assert_line "$mnt/f: sectors 16-23 (bytes 8192-12287): poison, never written (device sectors $((blk * 8))-$((blk * 8 + 7)))"
	assert_line --regexp "^verify $mnt/f ino=[0-9]+ igen=[0-9]+ size=16384 sectors=32 zero=0 stamped=24 bad=8 FAILED$"
	[ "${#lines[@]}" -eq 2 ] || fail "$output"
}

@test "verify: another file's block, or the file's own block at the wrong offset, fails" {
	local a=$MNT/victim b=$MNT/donor
	ext4da-stamp -q create "$a" 16K --gen 8
	ext4da-stamp -q create "$b" 16K --gen 9
	dd if="$b" of="$a" bs=4096 skip=1 seek=2 count=1 conv=notrunc status=none
	dd if="$a" of="$a.tmp" bs=4096 count=1 status=none
	dd if="$a.tmp" of="$a" bs=512 seek=31 count=1 conv=notrunc status=none
	stamp verify "$a"
	[ "$status" -eq 4 ] || fail "exit $status: $output"
	assert_line "$a: sectors 16-23 (bytes 8192-12287): stamp of another file or place: inode $(stat -c %i "$b") generation $(igen_of "$b") at file offset 4096, write generation 9"
	assert_line "$a: sector 31 (byte 15872): stamp of another file or place: inode $(stat -c %i "$a") generation $(igen_of "$a") at file offset 0, write generation 8"
	assert_line --partial " stamped=23 bad=9 FAILED"
}

@test "verify: damaged stamps, data not ours and a cut sector fail; holes pass" {
	local f=$MNT/damaged
	ext4da-stamp -q create "$f" 4K --gen 1
	# Sector 1's offset field (bytes 20..27 of the sector) overwritten.
	printf '\377\377\377\377\377\377\377\377' | dd of="$f" bs=1 seek=$((512 + 20)) conv=notrunc status=none
	head -c 512 /dev/urandom | dd of="$f" bs=512 seek=3 conv=notrunc status=none
	truncate -s 4000 "$f"
	stamp verify "$f"
	[ "$status" -eq 4 ] || fail "exit $status: $output"
	assert_line --regexp "^$f: sector 1 \(byte 512\): corrupt stamp: crc 0x[0-9a-f]{8}, its bytes give 0x[0-9a-f]{8}$"
	assert_line "$f: sector 3 (byte 1536): data not written by ext4da-stamp"
	assert_line --regexp "^$f: sector 7 \(byte 3584\): corrupt stamp: "
	assert_line --partial " sectors=8 zero=0 stamped=5 bad=3 FAILED"

	truncate -s 1M "$MNT/hole"
	stamp verify "$MNT/hole"
	assert_success
	assert_output --partial " sectors=2048 zero=2048 stamped=0 bad=0 ok"
}

@test "poison: each sector holds the magic and its own sector number" {
	local dev
	dev=$(scratch)/dev.img
	truncate -s 1M "$dev"
	stamp poison "$dev"
	assert_success
	assert_output "poison $dev off=0 len=1048576 sectors=2048 sync=none"
	[ "$(dd if="$dev" bs=512 skip=1234 count=1 status=none | head -c 8)" = E4DAPOIS ]
	[ "$(od -A n -t u8 -j $((1234 * 512 + 8)) -N 8 "$dev" | tr -d ' ')" = 1234 ]
	# Sectors differ beyond their header.
	cmp -s <(dd if="$dev" bs=512 skip=1 count=1 status=none | tail -c 496) \
		<(dd if="$dev" bs=512 skip=2 count=1 status=none | tail -c 496) && fail "fills match"
	true
}

# --- ext4da-mark ------------------------------------------------------------

@test "mark: the record lands in slot SEQ % 256 of the last MiB, and nothing else changes" {
	local dev slot1 lo hi
	dev=$(scratch)/dev.img
	poisoned_dev "$dev" 5M
	cp "$dev" "$dev.before"
	slot1=$((4 * MIB + 4096))
	mark --device "$dev" first
	assert_success
	assert_output --regexp "^mark 1 first slot=1 offset=$slot1 kind=plain entries=0 time=[0-9]+\.[0-9]{9}$"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	read -r lo hi < <(cmp -l "$dev.before" "$dev" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo - 1, hi - 1 }')
	[ "$lo" -ge "$slot1" ] && [ "$hi" -lt $((slot1 + 4096)) ] || fail "bytes $lo-$hi changed"
	[ "$(dd if="$dev" bs=4096 skip=$((slot1 / 4096)) count=1 status=none | head -c 8)" = E4DAMARK ]
	[ "$(stat -c %s "$dev")" = $((5 * MIB)) ]
}

@test "mark: --durable records inode, generation, size, crc32c and the path inside the fs" {
	local dev check big
	dev=$(scratch)/dev.img
	poisoned_dev "$dev" 4M
	mkdir -p "$MNT/d"
	check=$MNT/d/check big=$MNT/d/big
	printf 123456789 >"$check"	# CRC-32C check value: 0xe3069283
	ext4da-stamp -q create "$big" 1M
	mark -d "$dev" --durable "$check" -D "$big" after-fsync
	assert_success
	[ "${#lines[@]}" -eq 3 ] || fail "$output"
	assert_line --index 0 --regexp "^mark 1 after-fsync slot=1 offset=$((3 * MIB + 4096)) kind=durable entries=2 time="
	assert_line --index 1 "  durable /d/check ino=$(stat -c %i "$check") igen=$(igen_of "$check") size=9 crc=0xe3069283"
	assert_line --index 2 --regexp "^  durable /d/big ino=$(stat -c %i "$big") igen=$(igen_of "$big") size=1048576 crc=0x[0-9a-f]{8}$"
	local written=$output
	mark --dump "$dev"
	assert_success
	assert_output "$written"
}

@test "mark: sequence numbers follow the highest in the area; --seq sets one; slots wrap" {
	local dev
	dev=$(scratch)/dev.img
	poisoned_dev "$dev" 4M
	ext4da-mark -q -d "$dev" a
	ext4da-mark -q -d "$dev" b
	mark -d "$dev" --seq 300 c
	assert_success
	assert_output --regexp "^mark 300 c slot=44 "
	mark -d "$dev" d
	assert_output --regexp "^mark 301 d slot=45 "
	mark --dump "$dev"
	assert_success
	[ "$(cut -d' ' -f1-4 <<<"$output" | tr '\n' ,)" = "mark 1 a slot=1,mark 2 b slot=2,mark 300 c slot=44,mark 301 d slot=45," ] ||
		fail "$output"
	# 257 goes to slot 1, over record 1.
	ext4da-mark -q -d "$dev" --seq 257 e
	mark --dump "$dev"
	assert_line --index 0 --regexp "^mark 257 e slot=1 "
	mark -d "$dev" f
	assert_output --regexp "^mark 302 f slot=46 "
}

@test "mark and poison: a block device (loop), with O_DIRECT" {
	local img dev
	img=$(scratch)/blk.img
	truncate -s 4M "$img"
	dev=$(attach "$img")
	stamp poison "$dev"
	assert_success
	assert_output "poison $dev off=0 len=4194304 sectors=8192 sync=none"
	mark -d "$dev" -q on-a-block-device
	assert_success
	[ -z "$stderr" ] || fail "stderr: $stderr"
	mark --dump "$dev"
	assert_output --regexp "^mark 1 on-a-block-device slot=1 offset=$((3 * MIB + 4096)) "
	losetup -d "$dev"
	mark --dump "$img"
	assert_output --regexp "^mark 1 on-a-block-device slot=1 "
	[ "$(od -A n -t u8 -j $((100 * 512 + 8)) -N 8 "$img" | tr -d ' ')" = 100 ]
}

@test "mark: a device on tmpfs works, with a warning if O_DIRECT is refused" {
	[ -d /dev/shm ] && [ -w /dev/shm ] || skip "no /dev/shm"
	local dev
	dev=$(mktemp /dev/shm/ext4da-mark.XXXXXX)
	poisoned_dev "$dev" 2M
	mark -d "$dev" on-tmpfs
	rm -f "$dev"
	assert_success
	assert_output --regexp "^mark 1 on-tmpfs slot=1 offset=$((MIB + 4096)) "
	[ -z "$stderr" ] || [[ $stderr == "ext4da-mark: $dev: O_DIRECT is not supported here; writing with O_DSYNC and fdatasync instead" ]] ||
		fail "stderr: $stderr"
}

@test "mark: refuses a device under 2 MiB, a partitioned disk, and a filesystem in the mark area" {
	local d small full fits before
	d=$(scratch)
	small=$d/small.img full=$d/full.img fits=$d/fits.img
	poisoned_dev "$small" $((2 * MIB - 512))
	before=$(sha "$small")
	mark -d "$small" x
	assert_one_line_error 8 ext4da-mark "$small"
	assert_equal "$stderr" "ext4da-mark: $small: it is 2096640 bytes; a mark area needs a device of at least 2 MiB"
	[ "$(sha "$small")" = "$before" ] || fail "the small device changed"

	truncate -s 8M "$full"
	mkfs.ext4 -q -F -b 4096 "$full"
	before=$(sha "$full")
	mark -d "$full" x
	assert_one_line_error 8 ext4da-mark "$full"
	[[ $stderr == *"inside the mark area"* ]] || fail "$stderr"
	[ "$(sha "$full")" = "$before" ] || fail "the image changed"

	# A partitioned disk: its end is a partition's, or the backup GPT's.
	cp "$small" "$d/mbr.img"
	truncate -s 4M "$d/mbr.img"
	printf '\125\252' | dd of="$d/mbr.img" bs=1 seek=510 conv=notrunc status=none
	before=$(sha "$d/mbr.img")
	mark -d "$d/mbr.img" x
	assert_one_line_error 8 ext4da-mark "$d/mbr.img"
	[[ $stderr == *"partition table"* ]] || fail "$stderr"
	[ "$(sha "$d/mbr.img")" = "$before" ] || fail "the partitioned disk changed"

	poisoned_dev "$fits" 8M
	mkfs.ext4 -q -F -b 4096 -E nodiscard "$fits" 1792	# 7 MiB of 8
	mark -d "$fits" x
	assert_success
	e2fsck -fn "$fits" >/dev/null || fail "the filesystem was damaged"
}

@test "mark --dump: damaged and misplaced records are reported, exit 4" {
	local dev slot1
	dev=$(scratch)/dev.img
	poisoned_dev "$dev" 4M
	slot1=$((3 * MIB + 4096))
	ext4da-mark -q -d "$dev" one
	ext4da-mark -q -d "$dev" two
	# Record 1 copied into slot 7, then one byte of it changed in slot 1.
	dd if="$dev" of="$dev" bs=4096 skip=$((slot1 / 4096)) seek=$((slot1 / 4096 + 6)) count=1 \
		conv=notrunc status=none
	printf X | dd of="$dev" bs=1 seek=$((slot1 + 50)) conv=notrunc status=none
	mark --dump "$dev"
	[ "$status" -eq 4 ] || fail "exit $status: $output"
	assert_line "damaged slot=1: bad crc"
	assert_line "damaged slot=7: record 1 belongs in slot 1"
	assert_line --regexp "^mark 2 two slot=2 "
	[ "${#lines[@]}" -eq 3 ] || fail "$output"
	# The next mark still counts from the highest valid record.
	mark -d "$dev" three
	assert_output --regexp "^mark 3 three slot=3 "
}

# --- bad input and usage errors ---------------------------------------------------

@test "ext4da-stamp: usage errors exit 16 and create nothing" {
	local args
	mkdir "$(scratch)/cwd"
	cd "$(scratch)/cwd"
	while IFS= read -r args; do
		# shellcheck disable=SC2086
		stamp $args
		assert_usage_error ext4da-stamp "ext4da-stamp $args"
	done <<'EOF'
--bogus
frobnicate f
create
create f
create f 1000
create f 1x
create f -512
create f 0x200000000000000000
create f 512 extra
overwrite f 0
overwrite f 512 9223372036854775296
--fsync --fdatasync create f 512
--gen abc create f 512
--seed -1 create f 512
rename-over f
rename-over f g 100
verify
verify f --fsync
verify f --gen 3
poison f 0
poison f --gen 1
checkpoint
checkpoint . extra
--fsync checkpoint .
journal-data f
journal-data f maybe
--gen 2 journal-data f on
mapped
mapped f extra
--fsync mapped f
--clear-es verify f
quota f user
quota f users 1000
quota f user x
quota f user 4294967295
quota f user 1000 1000
quota f group 1000 1M extra
--gen 2 quota f user 1000
--as 1000 create f 512
--as x:1 create f 512
EOF
	stamp
	assert_usage_error ext4da-stamp "no arguments"
	[ -z "$(ls)" ] || fail "usage errors created: $(ls)"
}

@test "checkpoint empties the journal; journal-data sets and clears the inode's +j flag" {
	local d=$MNT/fsctl
	mkdir -p "$d"
	stamp -q create "$d/f" 64K
	assert_success
	sync
	# The journal holds the create's transaction, then checkpoint empties
	# it: the journal superblock's s_start goes to 0.
	[[ $(dumpe2fs -h "$IMG" 2>/dev/null) =~ Journal\ start:\ +[1-9] ]] ||
		fail "the journal is empty before the checkpoint"
	stamp checkpoint "$d"
	assert_success
	assert_output "checkpoint $d"
	[[ $(dumpe2fs -h "$IMG" 2>/dev/null) =~ Journal\ start:\ +0 ]] ||
		fail "the journal is not empty after the checkpoint"
	stamp checkpoint /proc
	assert_one_line_error 8 ext4da-stamp /proc
	[[ $stderr == *"not on an ext4 filesystem with a journal"* ]] || fail "$stderr"
	stamp journal-data "$d/missing" on
	assert_one_line_error 8 ext4da-stamp "$d/missing"
	# Changing +j needs CAP_SYS_RESOURCE, which a container may drop.
	if [ $((0x$(sed -n 's/^CapEff:\t//p' /proc/self/status) >> 24 & 1)) = 0 ]; then
		stamp journal-data "$d/f" on
		assert_one_line_error 8 ext4da-stamp "$d/f"
		[[ $stderr == *"needs CAP_SYS_RESOURCE"* ]] || fail "$stderr"
		return 0
	fi
	stamp journal-data "$d/f" on
	assert_success
	assert_output "journal-data $d/f on"
	[[ $(lsattr "$d/f" | cut -d' ' -f1) == *j* ]] || fail "no +j after on: $(lsattr "$d/f")"
	stamp -q journal-data "$d/f" off
	assert_success
	assert_output ""
	[[ $(lsattr "$d/f" | cut -d' ' -f1) != *j* ]] || fail "+j after off: $(lsattr "$d/f")"
	stamp -q verify "$d/f"
	assert_success
}

@test "mapped: SEEK_DATA and FIEMAP see delayed, written and cleared-cache data, and holes" {
	local d=$MNT/mapped
	mkdir -p "$d"
	# Delayed (not yet written back): both interfaces report it as data.
	stamp -q create "$d/f" 64K
	assert_success
	stamp mapped "$d/f"
	assert_success
	assert_output "mapped $d/f size=65536 seek_data=65536 fiemap=65536 extents=1 delalloc=1 unwritten=0"
	sync
	stamp --clear-es mapped "$d/f"
	assert_success
	assert_output "mapped $d/f size=65536 seek_data=65536 fiemap=65536 extents=1 delalloc=0 unwritten=0"
	# A hole at the end: exit 4, and the line printed even with -q.
	truncate -s 128K "$d/f"
	stamp -q mapped "$d/f"
	assert_failure 4
	assert_output "mapped $d/f size=131072 seek_data=65536 fiemap=65536 extents=1 delalloc=0 unwritten=0"
	stamp mapped "$d/missing"
	assert_one_line_error 8 ext4da-stamp "$d/missing"
	stamp mapped "$d"
	assert_one_line_error 8 ext4da-stamp "$d"
}

@test "quota without quota on the filesystem, and --as, fail with one line" {
	local d=$MNT/asuser
	mkdir -p "$d"
	stamp quota "$d" user 1000
	assert_one_line_error 8 ext4da-stamp "$d"
	[[ $stderr == *"failed"* ]] || fail "$stderr"
	# Without root's capabilities the write is refused by the mode bits.
	chmod 0755 "$d"
	stamp --as 1000:1000 create "$d/f" 4K
	assert_one_line_error 8 ext4da-stamp "$d/f"
	chmod 0777 "$d"
	# bats makes its temporary directories 0700: let uid 1000 through.
	local p=$MNT
	while [[ $p == "$BATS_RUN_TMPDIR"* ]]; do
		chmod o+x "$p"
		p=$(dirname "$p")
	done
	stamp -q --as 1000:1000 create "$d/f" 4K
	assert_success
	[ "$(stat -c %u:%g "$d/f")" = 1000:1000 ] || fail "owner $(stat -c %u:%g "$d/f")"
}

@test "ext4da-stamp: bad input exits 8 with one line" {
	local d
	d=$(scratch)
	stamp overwrite "$d/missing" 0 512
	assert_one_line_error 8 ext4da-stamp "$d/missing"
	assert_equal "$stderr" "ext4da-stamp: $d/missing: No such file or directory"
	stamp truncate "$d/missing" 0
	assert_one_line_error 8 ext4da-stamp "$d/missing"
	stamp verify "$d/missing"
	assert_one_line_error 8 ext4da-stamp "$d/missing"
	stamp verify "$d"
	assert_one_line_error 8 ext4da-stamp "$d"
	stamp create "$d/no/such/dir" 512
	assert_one_line_error 8 ext4da-stamp "$d/no/such/dir"
	printf 'odd' >"$d/odd"
	stamp append "$d/odd" 512
	assert_one_line_error 8 ext4da-stamp "$d/odd"
	[[ $stderr == *"its size 3 is not a multiple of 512"* ]] || fail "$stderr"
	stamp rename-over "$d/src" "$d/missing"
	assert_one_line_error 8 ext4da-stamp "$d/missing"
	[ ! -e "$d/src" ] || fail "rename-over wrote SRC although DST's size is unknown"
	stamp poison /dev/null
	assert_one_line_error 8 ext4da-stamp /dev/null
	# A full filesystem.
	stamp create "$MNT/too-big" 128M
	rm -f "$MNT/too-big"
	assert_one_line_error 8 ext4da-stamp "$MNT/too-big"
	[[ $stderr == *"No space left on device"* ]] || fail "$stderr"
}

@test "ext4da-mark: usage errors exit 16 and write nothing" {
	local dev args before many=()
	dev=$(scratch)/dev.img
	poisoned_dev "$dev" 4M
	before=$(sha "$dev")
	while IFS= read -r args; do
		# shellcheck disable=SC2086
		mark -d "$dev" $args
		assert_usage_error ext4da-mark "ext4da-mark $args"
	done <<'EOF'
--bogus
a b
--seq 0 x
--seq x x
--seq -1 x
--dump --seq 3
--dump -D /etc/hostname
--dump a b
x 0123456789012345678901234567890123456789012345678901234567890123
0123456789012345678901234567890123456789012345678901234567890123
EOF
	mark -d "$dev"
	assert_usage_error ext4da-mark "no NAME"
	mark -d "$dev" "two words"
	assert_usage_error ext4da-mark "a space"
	mark -d "$dev" ""
	assert_usage_error ext4da-mark "an empty NAME"
	for _ in $(seq 16); do many+=(-D /etc/hostname); done
	mark -d "$dev" "${many[@]}" x
	assert_usage_error ext4da-mark "16 --durable"
	[ "$(sha "$dev")" = "$before" ] || fail "the device changed"
}

@test "ext4da-mark: bad input exits 8 with one line and writes nothing" {
	local d dev before
	d=$(scratch)
	dev=$d/dev.img
	poisoned_dev "$dev" 4M
	before=$(sha "$dev")
	mark -d "$d/missing" x
	assert_one_line_error 8 ext4da-mark "$d/missing"
	assert_equal "$stderr" "ext4da-mark: $d/missing: No such file or directory"
	mark --dump "$d/missing"
	assert_one_line_error 8 ext4da-mark "$d/missing"
	mark -d "$d" x
	assert_one_line_error 8 ext4da-mark "$d"
	mark -d /dev/null x
	assert_one_line_error 8 ext4da-mark /dev/null
	mark -d "$dev" -D "$d/missing" x
	assert_one_line_error 8 ext4da-mark "$d/missing"
	mark -d "$dev" -D "$d" x
	assert_one_line_error 8 ext4da-mark "$d"
	[ "$(sha "$dev")" = "$before" ] || fail "the device changed"
}

# --- chrome: help, version, man pages, completions ---------------------------------

help_options() {
	"$1" --help | grep -oE '(^| )(-[[:alnum:]?]|--[[:alnum:]-]+)' | tr -d ' ' | sort -u
}

man_text() {
	groff -man -Tascii -P-cbou "$SRCDIR/man/$1" 2>/dev/null
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

@test "help and version: stdout, exit 0" {
	local tool
	for tool in ext4da-stamp ext4da-mark; do
		run --separate-stderr "$tool" --help
		assert_success
		[ -z "$stderr" ] || fail "$tool --help wrote to stderr"
		assert_output --partial "Exit status"
		run --separate-stderr "$tool" --version
		assert_success
		assert_output --regexp "^$tool [0-9]+\.[0-9]+"
	done
	run ext4da-stamp --help
	local op
	for op in create overwrite append truncate rename-over verify poison; do
		assert_output --partial " $op "
	done
}

@test "man pages: no groff warnings, whatis entries, sections, every option" {
	local page tool text opt s
	for tool in ext4da-stamp ext4da-mark; do
		page=$tool.8
		run groff -man -Tutf8 -ww -z "$SRCDIR/man/$page"
		assert_success
		[ -z "$output" ] || fail "groff warnings in $page: $output"
		run lexgrog "$SRCDIR/man/$page"
		assert_success
		text=$(man_text "$page")
		for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
			grep -qx "$s" <<<"$text" || fail "$page has no $s section"
		done
		while read -r opt; do
			[[ $text =~ (^|[^[:alnum:]-])${opt//\?/\\?}([^[:alnum:]-]|$) ]] ||
				fail "$page does not mention $opt"
		done < <(help_options "$tool")
	done
	text=$(man_text ext4da.7)
	for s in E4DAPOIS E4DASTMP E4DAMARK "crc32c" "slot"; do
		[[ $text == *"$s"* ]] || fail "ext4da.7 does not mention $s"
	done
}

@test "completion: ext4da-stamp offers options, operations, then files" {
	source "$SRCDIR/completions/ext4da-stamp"
	complete -p ext4da-stamp | grep -q -- '-F _ext4da_stamp'
	local opt d
	complete_words _ext4da_stamp ext4da-stamp -
	while read -r opt; do
		[[ " ${COMPREPLY[*]} " == *" $opt "* ]] || fail "completion does not offer $opt"
	done < <(help_options ext4da-stamp)
	complete_words _ext4da_stamp ext4da-stamp --fd
	assert_equal "${COMPREPLY[*]}" "--fdatasync"
	complete_words _ext4da_stamp ext4da-stamp re
	assert_equal "${COMPREPLY[*]}" "rename-over"
	complete_words _ext4da_stamp ext4da-stamp --fsync ""
	assert_equal "${COMPREPLY[*]}" "create overwrite append truncate rename-over verify poison checkpoint journal-data mapped quota"
	complete_words _ext4da_stamp ext4da-stamp journal-data f o
	assert_equal "${COMPREPLY[*]}" "on off"
	complete_words _ext4da_stamp ext4da-stamp quota f ""
	assert_equal "${COMPREPLY[*]}" "user group"
	complete_words _ext4da_stamp ext4da-stamp --as ""
	assert_equal "${#COMPREPLY[@]}" 0
	d=$(scratch)
	cd "$d"
	touch alpha.dat
	complete_words _ext4da_stamp ext4da-stamp create a
	assert_equal "${COMPREPLY[*]}" "alpha.dat"
	complete_words _ext4da_stamp ext4da-stamp rename-over alpha.dat a
	assert_equal "${COMPREPLY[*]}" "alpha.dat"
	# Numbers are not files.
	complete_words _ext4da_stamp ext4da-stamp create alpha.dat a
	assert_equal "${#COMPREPLY[@]}" 0
	complete_words _ext4da_stamp ext4da-stamp --gen a
	assert_equal "${#COMPREPLY[@]}" 0
}

@test "completion: ext4da-mark offers options, and files for --device and --durable" {
	source "$SRCDIR/completions/ext4da-mark"
	complete -p ext4da-mark | grep -q -- '-F _ext4da_mark'
	local opt
	complete_words _ext4da_mark ext4da-mark -
	while read -r opt; do
		[[ " ${COMPREPLY[*]} " == *" $opt "* ]] || fail "completion does not offer $opt"
	done < <(help_options ext4da-mark)
	complete_words _ext4da_mark ext4da-mark --du
	assert_equal "${COMPREPLY[*]}" "--dump --durable"
	cd "$(scratch)"
	touch beta.img
	for opt in -d --device -D --durable; do
		complete_words _ext4da_mark ext4da-mark "$opt" b
		assert_equal "${COMPREPLY[*]}" "beta.img"
	done
	complete_words _ext4da_mark ext4da-mark --device=b
	assert_equal "${COMPREPLY[*]}" "beta.img"
	complete_words _ext4da_mark ext4da-mark --dump b
	assert_equal "${COMPREPLY[*]}" "beta.img"
	# NAME is free text.
	complete_words _ext4da_mark ext4da-mark b
	assert_equal "${#COMPREPLY[@]}" 0
}
