#!/usr/bin/env bats
# tests/run-bats, make check's runner for Bats suites: a suite whose header
# says "# needs root: WHY" is skipped with exit 77 (automake's SKIP) and its
# reason when the user is not root, and run as usual otherwise.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	# A directory the unprivileged user can read.
	DIR=$(mktemp -d /tmp/ext4da-runner.XXXXXX)
	chmod 755 "$DIR"
	printf '#!/usr/bin/env bats\n# needs root: it mounts things\n@test "t" { true; }\n' >"$DIR/root.bats"
	printf '#!/usr/bin/env bats\n# an ordinary suite\n@test "t" { true; }\n' >"$DIR/plain.bats"
	chmod 644 "$DIR"/*.bats
}

teardown() {
	rm -rf "$DIR"
}

as_nobody() {
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin BATS="${BATS:-/usr/bin/bats}" "$SRCDIR/tests/run-bats" "$@" 3>&-
}

@test "not root: a suite that needs root is skipped, with its reason" {
	as_nobody "$DIR/root.bats"
	[ "$status" -eq 77 ] || fail "exit $status: $output $stderr"
	assert_output "SKIP: $DIR/root.bats needs root: it mounts things"
}

@test "not root: an ordinary suite runs" {
	as_nobody "$DIR/plain.bats"
	assert_success
	assert_output --partial "ok 1 t"
}

@test "as this user: root runs the suite that needs root, others skip it" {
	run --separate-stderr env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin BATS="${BATS:-/usr/bin/bats}" "$SRCDIR/tests/run-bats" "$DIR/root.bats" 3>&-
	if [ "$(id -u)" = 0 ]; then
		assert_success
		assert_output --partial "ok 1 t"
	else
		[ "$status" -eq 77 ]
	fi
}
