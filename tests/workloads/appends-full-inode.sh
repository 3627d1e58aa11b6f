#!/bin/sh
# appends-full-inode [N]: N fsynced appends of 64 KiB to 1 MiB (4 KiB
# multiples, sizes from the same seeded generator as appends.sh) to a log
# file whose inode already holds four extents, each append landing right
# after the file's last block.
#
# Why: an inode holds four extents itself; a fifth needs an extent tree
# leaf block.  A new block range that continues the last extent merges
# into it when it is inserted mapped, as stage 2 inserts it after the
# data.  Inserted unwritten, as the 6.1 defaults (d) and stage 1 do at
# writeback, it cannot merge with a written extent: the tree grows a leaf
# for it, and the conversion at IO completion merges it back and frees
# that leaf, which the journal records as a revoke.  So every append here
# costs d one journal block more than it costs stage 2 (and data=ordered
# without unwritten extents, a).
#
# The four extents: 64 KiB written at offsets 0, 1, 2 and 3 MiB, each
# fsynced, are four extents whatever the allocator does, since extents
# with a hole between them never merge; the appends then continue the last
# one at 3 MiB + 64 KiB, and the allocator's goal for them is the block
# after it.  `ext4da-stamp mapped` prints the file's extent count before
# the appends and after them (4 both times, the last extent holding the
# appends; 5 or more after them would mean the appends did not land after
# the last extent, and the run says nothing about unwritten extents).
#
# Ends with a durability mark naming the file.  Prints EXT4DA-DATA-BYTES.
set -e
n=${1:-48}
seed=${EXT4DA_SEED:-1}
mkdir -p full
ext4da-stamp -q --gen "$((seed * 1000))" --fsync create full/log 0
data=0
k=0
while [ "$k" -lt 4 ]; do
	ext4da-stamp -q --gen "$((seed * 1000 + 1 + k))" --fsync overwrite full/log "$((k << 20))" 64K
	data=$((data + 65536))
	k=$((k + 1))
done
# (mapped exits 4 on a file with holes: these are on purpose.)
ext4da-stamp mapped full/log || [ $? = 4 ]
r=$seed
i=1
while [ "$i" -le "$n" ]; do
	r=$(((r * 1103515245 + 12345) % 2147483648))
	kb=$((64 + 4 * ((r / 65536) % 241)))
	ext4da-stamp -q --gen "$((seed * 1000 + 100 + i))" --fsync append full/log "${kb}K"
	data=$((data + kb * 1024))
	i=$((i + 1))
done
ext4da-stamp mapped full/log || [ $? = 4 ]
ext4da-mark -q appends-full-inode-end --durable full/log
echo "appends-full-inode: $n appends after four extents, $((data / 1024)) KiB"
echo "EXT4DA-DATA-BYTES $data"
