#!/usr/bin/env bats
# ext4da-record with paths a user can make (issue 11, point 5): commas,
# '=', spaces and quotes in --out and --kernel reach qemu intact (its
# option strings take ',,' for a comma), and SIGTERM leaves nothing behind
# (exit 32).  No kernel is booted: QEMU points at a stand-in that checks
# the drive options with qemu-img, which parses them the way qemu does.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	[ -x "$BUILDDIR/kernel/initramfs" ] || export EXT4DA_INITRAMFS="$SRCDIR/kernel/initramfs"
	command -v qemu-img >/dev/null || fail "qemu-img is missing (scripts/install-deps)"
	FAKE=$(scratch)/fake-qemu
	cat >"$FAKE" <<-'FAKE'
	#!/bin/bash
	# Opens each file -blockdev with qemu-img's option parser; writes
	# what it opened, and the -chardev path, to $FAKE_OUT; then, with
	# FAKE_SLEEP, waits (to be interrupted).
	prev=
	for a in "$@"; do
		if [ "$prev" = -blockdev ] && [[ $a == driver=file,* ]]; then
			opts=${a%,node-name=*}
			qemu-img info --output=json --image-opts "$opts" | jq -r .filename >>"$FAKE_OUT" ||
				echo "UNPARSED $opts" >>"$FAKE_OUT"
		fi
		[ "$prev" = -chardev ] && echo "chardev $a" >>"$FAKE_OUT"
		[ "$prev" = -kernel ] && echo "kernel $a" >>"$FAKE_OUT"
		prev=$a
	done
	[ -z "${FAKE_SLEEP:-}" ] || exec sleep "$FAKE_SLEEP"
	exit 0
	FAKE
	chmod +x "$FAKE"
	export FAKE_OUT=$(scratch)/fake.out
}

@test "--out and --kernel with commas, '=', spaces and quotes reach qemu intact" {
	local d out kernel
	d=$(scratch)
	out="$d/rec-data=writeback,nodelalloc 'q\"x"
	kernel="$d/k,=1 'b\"z/bzImage"
	mkdir -p "$(dirname "$kernel")"
	echo "not a kernel" >"$kernel"
	echo 'true' >"$d/w.sh"
	mkdir "$d/t,mp=1"
	run --separate-stderr env QEMU="$FAKE" TMPDIR="$d/t,mp=1" \
		"$BUILDDIR/ext4da-record" -q --kernel "$kernel" --out "$out" --size 16M -- "$d/w.sh"
	# The stand-in boots nothing: the workload "did not finish" (exit 4).
	[ "$status" -eq 4 ] || fail "exit $status: $stderr"
	[[ $stderr == *"the workload did not finish"* ]] || fail "$stderr"
	! grep -q UNPARSED "$FAKE_OUT" || fail "$(cat "$FAKE_OUT")"
	grep -qx "$out/log.img" "$FAKE_OUT" || fail "log.img: $(cat "$FAKE_OUT")"
	grep -q "^$d/t,mp=1/ext4da-record\..*/disk1.img$" "$FAKE_OUT" || fail "disk1.img: $(cat "$FAKE_OUT")"
	grep -qxF "chardev file,id=console0,path=${out//,/,,}/console.log" "$FAKE_OUT" || fail "$(cat "$FAKE_OUT")"
	grep -qxF "kernel $kernel" "$FAKE_OUT" || fail "$(cat "$FAKE_OUT")"
	[ -s "$out/base.img" ] && [ -f "$out/log.img" ] && [ -f "$out/meta.json" ] || fail "$(ls -la "$out")"
	jq -e . "$out/meta.json" >/dev/null
}

@test "TMPDIR that does not exist: one line naming it, exit 8, no --out left behind" {
	local d
	d=$(scratch)
	echo "not a kernel" >"$d/bzImage"
	echo 'true' >"$d/w.sh"
	run --separate-stderr env QEMU="$FAKE" TMPDIR="$d/missing" \
		"$BUILDDIR/ext4da-record" -q --kernel "$d/bzImage" --out "$d/rec" --size 16M -- "$d/w.sh"
	[ "$status" -eq 8 ] || fail "exit $status: $stderr"
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "not one line: $stderr"
	[[ $stderr == "ext4da-record: TMPDIR $d/missing: no such directory"* ]] || fail "$stderr"
	[ ! -e "$d/rec" ] || fail "--out was made: $(ls -la "$d/rec")"
}

@test "SIGTERM while the guest runs: exit 32, no output directory, no temporary files" {
	local d out pid status=0 i
	d=$(scratch)
	out="$d/rec,1"
	mkdir "$d/tmp"
	echo 'true' >"$d/w.sh"
	echo "not a kernel" >"$d/bzImage"
	FAKE_SLEEP=60 QEMU="$FAKE" TMPDIR="$d/tmp" "$BUILDDIR/ext4da-record" -q --kernel "$d/bzImage" \
		--out "$out" --size 16M -- "$d/w.sh" 2>"$d/err" &
	pid=$!
	for i in $(seq 300); do
		grep -q chardev "$FAKE_OUT" 2>/dev/null && break
		sleep 0.1
	done
	grep -q chardev "$FAKE_OUT" || fail "qemu never started: $(cat "$d/err")"
	kill -TERM "$pid"
	wait "$pid" || status=$?
	[ "$status" -eq 32 ] || fail "exit $status: $(cat "$d/err")"
	[ ! -e "$out" ] || fail "left: $(ls -la "$out")"
	[ -z "$(ls -A "$d/tmp")" ] || fail "left: $(ls -la "$d/tmp")"
	grep -qx "ext4da-record: interrupted; nothing recorded" "$d/err" || fail "$(cat "$d/err")"
}
