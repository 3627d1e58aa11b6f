#!/bin/sh
# appends [N]: N appends of 64 KiB to 1 MiB (4 KiB multiples, sizes from a
# seeded generator) spread over four files, each append followed by an
# fsync, as a log writer or a download manager would do.  Each append
# allocates a new extent and each fsync commits it, so the journal blocks
# per MiB show what one allocation costs in the journal: one update with
# stock delayed allocation and with deferred_map's mapping after the data,
# two with stage 1's unwritten extent and its conversion.  Ends with a
# durability mark naming the four files.  Prints EXT4DA-DATA-BYTES.
set -e
n=${1:-48}
seed=${EXT4DA_SEED:-1}
mkdir -p appends
for f in 0 1 2 3; do
	ext4da-stamp -q --gen "$((seed * 1000 + f))" create "appends/log$f" 0
done
data=0
r=$seed
i=1
while [ "$i" -le "$n" ]; do
	r=$(((r * 1103515245 + 12345) % 2147483648))
	kb=$((64 + 4 * ((r / 65536) % 241)))
	ext4da-stamp -q --gen "$((seed * 1000 + 10 + i))" --fsync append "appends/log$((i % 4))" "${kb}K"
	data=$((data + kb * 1024))
	i=$((i + 1))
done
ext4da-mark -q appends-end --durable appends/log0 --durable appends/log1 \
	--durable appends/log2 --durable appends/log3
echo "appends: $n appends, $((data / 1024)) KiB"
echo "EXT4DA-DATA-BYTES $data"
