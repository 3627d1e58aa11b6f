#!/bin/sh
# small-fsync [N]: many small files, each written with stamped data (4-16
# KiB), fsynced, and followed by a durability mark naming it, spread over a
# few directories.  Runs in the guest from the mounted filesystem's root;
# $EXT4DA_SEED seeds the write generations.  Every crash state must hold
# every file marked before it, whole.  Prints EXT4DA-DATA-BYTES.
set -e
n=${1:-20}
seed=${EXT4DA_SEED:-1}
mkdir -p small/a small/b small/c
data=0
i=1
while [ "$i" -le "$n" ]; do
	case $((i % 3)) in 0) d=small/a ;; 1) d=small/b ;; *) d=small/c ;; esac
	len=$(((i % 4 + 1) * 4096))
	ext4da-stamp -q --seed "$((seed * 1000 + i))" --fsync create "$d/f$i" "$len"
	ext4da-mark -q "small-$i" --durable "$d/f$i"
	data=$((data + len))
	i=$((i + 1))
done
echo "small-fsync: $n files"
echo "EXT4DA-DATA-BYTES $data"
