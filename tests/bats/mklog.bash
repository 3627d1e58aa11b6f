# mklog and its byte helpers: dm-log-writes logs made by hand, for the
# ext4da-crash suites.

le64() {
	local v=$1 i out=''
	for i in 0 1 2 3 4 5 6 7; do
		out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))
	done
	printf '%b' "$out"
}

le32() {
	local v=$1 i out=''
	for i in 0 1 2 3; do
		out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))
	done
	printf '%b' "$out"
}

# N bytes of BYTE (a number).
fill() {
	head -c "$1" /dev/zero | tr '\0' "\\$(printf '%03o' "$2")"
}

# mklog OUT SECTOR_SIZE ENTRY...: a dm-log-writes log, entries being
#   w:SECTOR:NR:BYTE     a write of NR sectors, every byte BYTE
#   fua:SECTOR:NR:BYTE   the same with FUA
#   f                    a FLUSH
#   d:SECTOR:NR          a DISCARD
#   m:TEXT               a MARK
mklog() {
	local out=$1 ss=$2 spec kind a b c
	shift 2
	{
		le64 $((0x6a736677736872))
		le64 1
		le64 $#
		le32 "$ss"
		head -c $((ss - 28)) /dev/zero
		for spec in "$@"; do
			IFS=: read -r kind a b c <<<"$spec"
			case $kind in
			w | fua)
				le64 "$a"; le64 "$b"; le64 "$([ "$kind" = fua ] && echo 2 || echo 0)"; le64 0
				head -c $((ss - 32)) /dev/zero
				fill $((b * ss)) "$c"
				;;
			f)
				le64 0; le64 0; le64 1; le64 0
				head -c $((ss - 32)) /dev/zero
				;;
			d)
				le64 "$a"; le64 "$b"; le64 4; le64 0
				head -c $((ss - 32)) /dev/zero
				;;
			m)
				le64 0; le64 0; le64 8; le64 ${#a}
				printf '%s' "$a"
				head -c $((ss - 32 - ${#a})) /dev/zero
				;;
			esac
		done
	} >"$out"
}
