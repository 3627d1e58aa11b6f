#!/bin/sh
# Many small files, each written with stamped data and fsynced, each
# followed by a durability mark naming it.  Runs in the guest, in the
# mounted filesystem's root; $EXT4DA_SEED seeds the write generations.
set -e
n=${1:-20}
seed=${EXT4DA_SEED:-1}
mkdir -p small
i=1
while [ "$i" -le "$n" ]; do
	ext4da-stamp -q --seed "$((seed * 1000 + i))" --fsync create "small/f$i" "$(( (i % 4 + 1) * 4096 ))"
	ext4da-mark -q "small-$i" --durable "small/f$i"
	i=$((i + 1))
done
echo "small-fsync: $n files"
