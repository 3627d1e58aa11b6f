#!/usr/bin/env bats
# needs root: it makes its images and logs on loop-mounted filesystems
# ext4da-replay --upto TID (SPEC section 3): "replay only transactions up to
# TID, revokes included, to get the image as a crash right after TID's
# commit left it".  The reference for each TID of a real crashed image is
# e2fsck -E journal_only on a copy in which the log was cut right after
# TID's commit block (the next journal block zeroed, so the log ends there
# for every recovery), with that one journal block put back afterwards.
# Every committed TID of several multi-transaction images is checked,
# wrapped logs included.  Then the range and usage errors.

load helpers

# NAME|SIZE|MKFS OPTIONS|MOUNT OPTIONS|SEED|MORE CRASHGEN OPTIONS
IMAGES_MATRIX=(
	"plain_1k|32M|-b 1024|commit=600|71|"
	"wrap_1k|32M|-b 1024 -J size=1|commit=600|72|--wrap"
	"wrap_4k|32M|-b 4096 -J size=4||73|--wrap"
	"data_journal|32M|-b 4096|data=journal,commit=600|74|"
	"csum_v1|32M|-O ^metadata_csum|journal_checksum,commit=600|75|"
	"nocsum_no64bit|32M|-O ^metadata_csum,^64bit|commit=600|76|"
	"async_commit|32M|-b 4096|data=writeback,journal_async_commit|77|"
	"fast_commit|32M|-O fast_commit|commit=600|78|--fc-tail"
)
OPS=${EXT4DA_CRASHGEN_OPS:-120}

setup_file() {
	require_root
	export IMAGES="$BATS_FILE_TMPDIR/images"
	mkdir -p "$IMAGES"
	local r name size mkfs mount seed more c
	for r in "${IMAGES_MATRIX[@]}"; do
		IFS='|' read -r name size mkfs mount seed more <<<"$r"
		c="$(printf '%q ' "$SRCDIR/tests/fixtures/crashgen" "$IMAGES/$name.img" \
			--seed "$seed" --size "$size" --mkfs "$mkfs" --mount "$mount" \
			--ops "$OPS") $more >$(printf '%q' "$IMAGES/$name.log") 2>&1"
		while [ "$(jobs -rp | wc -l)" -ge "${EXT4DA_JOBS:-2}" ]; do
			wait -n || true
		done
		EXT4DA_REPLAY="$BUILDDIR/ext4da-replay" bash -c "$c" &
	done
	wait || true
}

# Device blocks of the journal inode's blocks $2... in image $1.
jmap() {
	local img=$1
	shift
	printf 'bmap <8> %s\n' "$@" | debugfs -f - "$img" 2>/dev/null | grep -v '^debugfs'
}

be32() {
	echo $((0x$(od -An -tx1 -j "$2" -N4 "$1" | tr -d ' \n')))
}

recipe() {
	local r name size mkfs mount seed more
	for r in "${IMAGES_MATRIX[@]}"; do
		IFS='|' read -r name size mkfs mount seed more <<<"$r"
		[ "$name" = "$1" ] || continue
		echo "crashgen OUT.img --seed $seed --size $size --mkfs '$mkfs' --mount '$mount' --ops $OPS $more"
	done
}

keep() {
	local dir="${TMPDIR:-/tmp}/ext4da-upto-failures"
	mkdir -p "$dir"
	cp --sparse=always "$1" "$dir/"
	echo "(kept as $dir/$(basename "$1"))"
}

image() {
	local img="$IMAGES/$1.img"
	[ -f "$img" ] || fail "$1.img was not made: $(cat "$IMAGES/$1.log")"
	echo "$img"
}

# Check --upto for every committed TID of image $1 (a matrix name).
check_every_tid() {
	local name=$1 img d json bs blocks first jlast sb0 before tids tid lb next dev seq n=0
	img=$(image "$name")
	d=$(scratch)
	before=$(sha "$img")
	json=$(ext4da-replay --list --json "$img")
	bs=$(jq .journal.blocksize <<<"$json")
	blocks=$(jq .journal.blocks <<<"$json")
	first=$(jq .journal.first <<<"$json")
	jlast=$((blocks - $(jq .journal.fast_commit_blocks <<<"$json")))
	sb0=$(jmap "$img" 0)
	tids=$(jq -r '.transactions[] | select(.state == "committed" and .replayable) | .tid' <<<"$json")
	[ "$(wc -w <<<"$tids")" -ge 2 ] || fail "$name: fewer than two committed transactions"
	for tid in $tids; do
		lb=$(jq --argjson t "$tid" '.transactions[] | select(.tid == $t) | .last_block' <<<"$json")
		next=$((lb + 1))
		[ "$next" -lt "$jlast" ] || next=$first
		dev=$(jmap "$img" "$next")
		# The reference: e2fsck on a copy whose log ends after TID.
		rm -f "$d/cut.img" "$d/ours.img"
		cp --sparse=always "$img" "$d/cut.img"
		dd if=/dev/zero of="$d/cut.img" bs="$bs" seek="$dev" count=1 conv=notrunc status=none
		run e2fsck -y -E journal_only "$d/cut.img"
		if grep -qiE 'error|invalid|corrupt|abort|illegal' <<<"${output//"$d"/}"; then
			fail "$name: e2fsck could not recover the log cut after tid $tid: $output"
		fi
		seq=$(be32 "$d/cut.img" $((sb0 * bs + 0x18)))
		[ "$seq" = $((tid + 2)) ] ||
			fail "$name: cutting the log at journal block $next did not end it after tid $tid" \
				"(e2fsck set s_sequence $seq)"
		dd if="$img" of="$d/cut.img" bs="$bs" skip="$dev" seek="$dev" count=1 conv=notrunc status=none

		run ext4da-replay --upto "$tid" --output "$d/ours.img" "$img"
		[ "$status" -eq 0 ] || fail "$name: --upto $tid exited $status: $output"
		run imgcmp "$d/cut.img" "$d/ours.img"
		if [ "$status" -ne 0 ]; then
			fail "$(printf '%s\n' "$name: --upto $tid differs from e2fsck on the log cut at journal block $next" \
				"(device block $dev):" "$output" "recipe: $(recipe "$name")" "$(keep "$img")")"
		fi
		[ "$(sha "$img")" = "$before" ] || fail "$name: the input changed (--upto $tid)"
		n=$((n + 1))
	done
	echo "# $name: $n transactions ($(head -1 <<<"$tids") to $(tail -1 <<<"$tids")), log start $(jq .journal.start <<<"$json") of $blocks blocks" >&3
}

wrapped() {
	ext4da-replay --list --json "$1" | jq -e '.journal.start as $s |
		any(.transactions[] | select(.state == "committed");
		    .last_block < .first_block or .first_block < $s)' >/dev/null
}

@test "--upto every tid: 1 KiB blocks" {
	check_every_tid plain_1k
}

@test "--upto every tid: 1 KiB blocks, wrapped 1 MiB log" {
	wrapped "$(image wrap_1k)" || fail "the log does not wrap"
	check_every_tid wrap_1k
}

@test "--upto every tid: 4 KiB blocks, wrapped 4 MiB log, default commit" {
	wrapped "$(image wrap_4k)" || fail "the log does not wrap"
	check_every_tid wrap_4k
}

@test "--upto every tid: data=journal" {
	check_every_tid data_journal
}

@test "--upto every tid: checksum v1" {
	check_every_tid csum_v1
}

@test "--upto every tid: no checksum, 32-bit tags" {
	check_every_tid nocsum_no64bit
}

@test "--upto every tid: journal_async_commit" {
	check_every_tid async_commit
}

@test "--upto on a journal with a live fast commit: full commits only, the fast commit dropped" {
	# The fast-commit area holds work for the log's end E (a fast commit
	# after the last full commit, E-1).  A crash right after the commit of
	# a TID below E-1 leaves a log that ends at TID+1, and the kernel ignores
	# a fast-commit head for another tid: --upto TID needs no fast-commit
	# replay and must give e2fsck's result on the log cut after TID (with
	# the fast-commit area cleared for e2fsck 1.47.0, which fails on a head
	# for another tid instead of ignoring it: see replay_equivalence.bats).
	# --upto E-1 ends the log at E: the full commits only; the fast commit
	# for E is dropped, and the output says so.
	local img d json bs blocks first jlast end tids tid lb next dev fcdev seq b n=0
	img=$(image fast_commit)
	d=$(scratch)
	json=$(ext4da-replay --list --json "$img")
	[ "$(jq .fast_commit_present <<<"$json")" = true ] || fail "no live fast commit in the image"
	end=$(jq .end_tid <<<"$json")
	bs=$(jq .journal.blocksize <<<"$json")
	blocks=$(jq .journal.blocks <<<"$json")
	first=$(jq .journal.first <<<"$json")
	jlast=$((blocks - $(jq .journal.fast_commit_blocks <<<"$json")))
	mapfile -t fcdev < <(jmap "$img" $(seq "$jlast" $((blocks - 1))))

	# --upto E-1: every full commit, and not the fast commit after them;
	# e2fsck's result with the fast-commit area cleared.
	run ext4da-replay --upto $((end - 1)) --output "$d/last.img" "$img"
	[ "$status" -eq 0 ] && [[ $output == *"not replayed: --upto replays full commits only"* ]] ||
		fail "--upto $((end - 1)) (the fast commit's log end): exit $status, fast commit not dropped: $output"
	cp --sparse=always "$img" "$d/nofc.img"
	for b in "${fcdev[@]}"; do
		dd if=/dev/zero of="$d/nofc.img" bs="$bs" seek="$b" count=1 conv=notrunc status=none
	done
	e2fsck -y -E journal_only "$d/nofc.img" >/dev/null 2>&1 || true
	for b in "${fcdev[@]}"; do
		dd if="$img" of="$d/nofc.img" bs="$bs" skip="$b" seek="$b" count=1 conv=notrunc status=none
	done
	run imgcmp "$d/nofc.img" "$d/last.img"
	[ "$status" -eq 0 ] || fail "--upto $((end - 1)) differs from e2fsck without the fast commit: $output"

	tids=$(jq -r --argjson e "$end" '.transactions[] | select(.replayable and .tid < $e - 1) | .tid' <<<"$json")
	[ -n "$tids" ] || fail "fewer than two committed transactions"
	for tid in $tids; do
		lb=$(jq --argjson t "$tid" '.transactions[] | select(.tid == $t) | .last_block' <<<"$json")
		next=$((lb + 1))
		[ "$next" -lt "$jlast" ] || next=$first
		dev=$(jmap "$img" "$next")
		rm -f "$d/cut.img" "$d/ours.img"
		cp --sparse=always "$img" "$d/cut.img"
		for b in "$dev" "${fcdev[@]}"; do
			dd if=/dev/zero of="$d/cut.img" bs="$bs" seek="$b" count=1 conv=notrunc status=none
		done
		run e2fsck -y -E journal_only "$d/cut.img"
		if grep -qiE 'error|invalid|corrupt|abort|illegal' <<<"${output//"$d"/}"; then
			fail "e2fsck could not recover the log cut after tid $tid: $output"
		fi
		seq=$(be32 "$d/cut.img" $(($(jmap "$img" 0) * bs + 0x18)))
		[ "$seq" = $((tid + 2)) ] ||
			fail "cutting the log at journal block $next did not end it after tid $tid (s_sequence $seq)"
		for b in "$dev" "${fcdev[@]}"; do
			dd if="$img" of="$d/cut.img" bs="$bs" skip="$b" seek="$b" count=1 conv=notrunc status=none
		done
		run ext4da-replay --upto "$tid" --output "$d/ours.img" "$img"
		[ "$status" -eq 0 ] ||
			fail "--upto $tid, below the fast commit's transaction $end: exit $status: $output"
		run imgcmp "$d/cut.img" "$d/ours.img"
		[ "$status" -eq 0 ] || fail "--upto $tid differs from e2fsck on the cut log: $output"
		n=$((n + 1))
	done
	echo "# fast_commit: $n transactions below the fast commit's ($end)" >&3
}

@test "the images have revoke records that a later --upto must ignore" {
	# Coverage: some block is logged in one transaction and revoked in a
	# later one, so that --upto between them must still replay it.
	local name hits=0
	for name in plain_1k wrap_1k wrap_4k data_journal csum_v1 nocsum_no64bit async_commit fast_commit; do
		if ext4da-replay --list -v --json "$(image "$name")" | jq -e '
			[.transactions[] | select(.state == "committed")] as $t |
			any(range(0; $t | length) as $i | range($i + 1; $t | length) as $j |
			    $t[$i].tags[].fs_block as $b | $t[$j].revokes | any(.[]; . == $b); .)' \
			>/dev/null; then
			hits=$((hits + 1))
		fi
	done
	echo "# $hits image(s) revoke a block that an earlier transaction logged" >&3
	[ "$hits" -gt 0 ]
}

@test "--upto in place equals --upto --output" {
	local img d json tid
	img=$(image wrap_1k)
	d=$(scratch)
	json=$(ext4da-replay --list --json "$img")
	tid=$(jq '[.transactions[] | select(.replayable)] | .[length / 2 | floor].tid' <<<"$json")
	run ext4da-replay --upto "$tid" --output "$d/out.img" "$img"
	assert_success
	cp --sparse=always "$img" "$d/inplace.img"
	run ext4da-replay --upto "$tid" --undo "$d/undo" "$d/inplace.img"
	assert_success
	run imgcmp "$d/out.img" "$d/inplace.img"
	assert_success
}

# Out of range: exit 8, nothing written (input, output, undo file).
expect_range_error() {
	local img=$1 tid=$2 d before
	d=$(scratch)
	before=$(sha "$img")
	rm -f "$d/x.img" "$d/undo"
	run ext4da-replay --upto "$tid" --output "$d/x.img" "$img"
	[ "$status" -eq 8 ] || fail "--upto $tid --output: exit $status, not 8: $output"
	[ ! -e "$d/x.img" ] && [ ! -e "$d/x.img.partial" ] || fail "--upto $tid left an output file"
	run ext4da-replay --upto "$tid" --dry-run "$img"
	[ "$status" -eq 8 ] || fail "--upto $tid --dry-run: exit $status, not 8: $output"
	run ext4da-replay --upto "$tid" --undo "$d/undo" "$img"
	[ "$status" -eq 8 ] || fail "--upto $tid --undo: exit $status, not 8: $output"
	[ ! -e "$d/undo" ] || fail "--upto $tid left an undo file"
	run ext4da-replay --upto "$tid" "$img"
	[ "$status" -eq 8 ] || fail "--upto $tid in place: exit $status, not 8: $output"
	[ "$(sha "$img")" = "$before" ] || fail "--upto $tid changed the input"
}

@test "--upto out of range exits 8 and changes nothing" {
	local img json start end
	img=$(image plain_1k)
	json=$(ext4da-replay --list --json "$img")
	start=$(jq .journal.sequence <<<"$json")
	end=$(jq .end_tid <<<"$json")
	[ "$start" -gt 0 ] || fail "the log starts at tid 0: nothing is below it"
	expect_range_error "$img" $((start - 1))	# below the first tid
	expect_range_error "$img" "$end"		# the first tid not replayable
	expect_range_error "$img" $((end + 1))
	expect_range_error "$img" $((end + 1000000))
	expect_range_error "$img" 4294967295	# the tid before 0: far below
	expect_range_error "$img" $(((start + 0x80000000) & 0xffffffff))
}

@test "--upto out of range on a wrapped log exits 8" {
	local img json
	img=$(image wrap_4k)
	json=$(ext4da-replay --list --json "$img")
	expect_range_error "$img" $(($(jq .journal.sequence <<<"$json") - 1))
	expect_range_error "$img" "$(jq .end_tid <<<"$json")"
}

@test "--upto that is not a number exits 16 and changes nothing" {
	local img d before tid
	img=$(image plain_1k)
	d=$(scratch)
	before=$(sha "$img")
	for tid in abc 12abc '' -1 1.5 0x 99999999999999999999 4294967296; do
		rm -f "$d/x.img"
		run ext4da-replay --upto "$tid" --output "$d/x.img" "$img"
		[ "$status" -eq 16 ] || fail "--upto '$tid': exit $status, not 16: $output"
		[ ! -e "$d/x.img" ] || fail "--upto '$tid' wrote an output"
		run ext4da-replay --upto="$tid" "$img"
		[ "$status" -eq 16 ] || fail "--upto='$tid' in place: exit $status, not 16: $output"
	done
	[ "$(sha "$img")" = "$before" ]
}
