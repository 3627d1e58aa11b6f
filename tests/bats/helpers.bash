# Shared setup for the Bats suites: tool paths, assertions, scratch space.
# Tests run from the build tree; BUILDDIR and SRCDIR come from the Makefile.
: "${BUILDDIR:=$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}"
: "${SRCDIR:=$BUILDDIR}"
export PATH="$BUILDDIR:$BUILDDIR/tests/tools:$PATH"

load_libs() {
	local d
	for d in /usr/lib/bats /usr/lib/bats-core "$BATS_ROOT/lib" /usr/local/lib; do
		if [ -f "$d/bats-support/load.bash" ]; then
			load "$d/bats-support/load.bash"
			load "$d/bats-assert/load.bash"
			return
		fi
	done
	echo "bats-support/bats-assert not found" >&2
	return 1
}
load_libs

# Per-test scratch directory (removed by Bats).
scratch() {
	echo "$BATS_TEST_TMPDIR"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# Run e2fsck's journal-only replay on a copy: the reference result.
e2fsck_replay() {
	local in=$1 out=$2
	cp --sparse=always "$in" "$out"
	e2fsck -y -E journal_only "$out" >/dev/null 2>&1 || true
}

# Skip only when the machine cannot do what the test needs; CI has root.
require_root() {
	[ "$(id -u)" = 0 ] || fail "this test needs root (loop mounts); run make check as root"
}

# --- the kernel as the reference (fast commits, where e2fsck is wrong) ---

# What the kernel makes of image $1 at mount, in image $2; fails if the
# kernel refuses to mount it.
kernel_replay() {
	local mnt
	cp --sparse=always "$1" "$2"
	mnt=$(mktemp -d "$BATS_TEST_TMPDIR/mnt.XXXXXX")
	mount -t ext4 -o loop "$2" "$mnt" 2>/dev/null || { rmdir "$mnt"; return 1; }
	umount "$mnt"
	rmdir "$mnt"
}

# The file tree of image $1 as a listing (path, mode, size, sha256), one
# line per file, sorted.
tree_of() {
	local d
	d=$(mktemp -d "$BATS_TEST_TMPDIR/tree.XXXXXX")
	debugfs -R "rdump / $d" "$1" >/dev/null 2>&1
	(cd "$d" && find . -mindepth 1 -printf '%p %m %s ' -exec sh -c \
		'[ -f "$1" ] && sha256sum <"$1" | cut -c1-16 || echo dir' _ {} \; | sort)
}

# Image $2 holds the file tree the kernel makes of image $1.
same_tree_as_kernel() {
	local k="$BATS_TEST_TMPDIR/kernel.img"
	kernel_replay "$1" "$k" || fail "the kernel refused to mount $1"
	diff <(tree_of "$k") <(tree_of "$2") || fail "file trees differ from the kernel's"
}

fsck_clean() {
	run e2fsck -fn "$1"
	[ "$status" -eq 0 ] || fail "e2fsck -fn $1 finds problems: $output"
}
