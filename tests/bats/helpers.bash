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
