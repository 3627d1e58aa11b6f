#!/bin/sh
# stream-fsync [STREAM_MB [CHUNK_KB [QUEUE]]]: one large file streams in the
# background (ext4da-stamp append, CHUNK_KB at a time, STREAM_MB in all)
# while the foreground overwrites a small file in place and fsyncs it, again
# and again, timing each step.  It measures the fsync latency a small file
# pays while another file streams: the data=ordered penalty (doc/design.md §1).
#
# Console lines (the campaign's perf harness parses them):
#   FSYNC-IDLE-US n      overwrite 4 KiB + fsync, nothing streaming
#   WRITE-LATENCY-US n   overwrite 4 KiB without fsync, while streaming:
#                        the cost of the measurement itself (process start)
#   FSYNC-LATENCY-US n   overwrite 4 KiB + fsync, while streaming
#   STREAM-US n          how long the stream took (its throughput, with
#   STREAM-BYTES n       the bytes it appended)
#   EXT4DA-DATA-BYTES n  bytes of file data the workload wrote
#
# The clock: busybox date has no %N, so adjtimex(2) (busybox adjtimex,
# time.tv_sec and time.tv_usec) gives microseconds; /proc/uptime (10 ms)
# is the fallback.  Durability marks: the small file is overwritten again
# and again, and a mark pins a file's content until a later mark names the
# same inode, so it is marked once, after its last fsync, with the stream.
set -e
mb=${1:-64}
chunk=${2:-1024}
queue=${3:-}
seed=${EXT4DA_SEED:-1}
idle=5

if adjtimex 2>/dev/null | grep -q 'time.tv_usec'; then
	clock=adjtimex
else
	clock=uptime
fi
echo "stream-fsync: clock $clock"
# now_us: set T to the time in microseconds, without forking more than once.
now_us() {
	if [ "$clock" = adjtimex ]; then
		_t=$(adjtimex)
		_s=${_t#*time.tv_sec:}
		_s=${_s%%time.tv_usec*}
		_u=${_t#*time.tv_usec:}
		_u=${_u%%return*}
		# shellcheck disable=SC2086
		set -- $_s $_u
		T=$(($1 * 1000000 + $2))
	else
		read -r _up _ </proc/uptime
		T=$((${_up%.*} * 1000000 + ${_up#*.} * 10000))
	fi
}

# Small dirty limits, so that the stream is written back while it runs (as
# it would be on a real machine streaming more than its RAM), whatever the
# guest's memory: background writeback from 4 MiB dirty, writers throttled
# at 16 MiB.
if [ -w /proc/sys/vm/dirty_background_bytes ]; then
	echo $((4 << 20)) >/proc/sys/vm/dirty_background_bytes
	echo $((16 << 20)) >/proc/sys/vm/dirty_bytes
fi

# QUEUE: at most that many requests in flight on the disk (nr_requests, and
# 128 KiB each).  The guest kernel has no I/O scheduler and no writeback
# throttling, so on a throttled disk its default queue (hundreds of
# requests) becomes a FIFO of seconds that every sync write waits behind,
# whatever the filesystem does; a shallow queue bounds what waits ahead of
# a sync write, as a distribution kernel's scheduler and wbt aim to, and
# leaves what the filesystem makes fsync wait for.
if [ -n "$queue" ]; then
	dev=$(awk '$2 == "/mnt" { print $1 }' /proc/mounts)
	q=/sys/block/${dev#/dev/}/queue
	echo 128 >"$q/max_sectors_kb"
	echo "$queue" >"$q/nr_requests"
	echo "stream-fsync: $dev nr_requests $(cat "$q/nr_requests"), max_sectors_kb $(cat "$q/max_sectors_kb")"
fi

data=0
ext4da-stamp -q --gen "$((seed * 1000))" --fsync create small 4096
data=$((data + 4096))
i=0
while [ "$i" -lt "$idle" ]; do
	now_us; t0=$T
	ext4da-stamp -q --gen "$((seed * 1000 + 1 + i))" --fsync overwrite small 0 4096
	now_us
	echo "FSYNC-IDLE-US $((T - t0))"
	i=$((i + 1))
done
data=$((data + idle * 4096))

# The stream: its own process, so that the foreground's fsyncs and its
# writes overlap.  It leaves a file behind when it is done.
rm -f stream.done
(
	set -e
	now_us; s0=$T
	ext4da-stamp -q --gen "$((seed * 1000000))" create big 0
	k=0
	last=$(((mb * 1024 + chunk - 1) / chunk))
	while [ "$k" -lt "$last" ]; do
		# The last append fsyncs: the stream ends when its data is on
		# the disk, so its time is the disk's throughput, and the
		# fsyncs counted below include those that met its writeback.
		sync_last=
		[ $((k + 1)) -lt "$last" ] || sync_last=--fsync
		ext4da-stamp -q --gen "$((seed * 1000000 + k + 1))" $sync_last append big "${chunk}K"
		k=$((k + 1))
	done
	now_us
	echo "STREAM-US $((T - s0))"
	echo "STREAM-BYTES $((k * chunk * 1024))"
	echo "$k" >stream.done
) &
streamer=$!

n=0
gen=$((seed * 1000 + 100))
while [ ! -e stream.done ] && kill -0 "$streamer" 2>/dev/null; do
	now_us; t0=$T
	ext4da-stamp -q --gen "$gen" overwrite small 0 4096
	now_us; t1=$T
	ext4da-stamp -q --gen "$((gen + 1))" --fsync overwrite small 0 4096
	now_us
	# Only fsyncs that began and ended while the stream ran count.
	if [ ! -e stream.done ]; then
		echo "WRITE-LATENCY-US $((t1 - t0))"
		echo "FSYNC-LATENCY-US $((T - t1))"
		n=$((n + 1))
	fi
	gen=$((gen + 2))
	data=$((data + 8192))
done
wait "$streamer" || { echo "stream-fsync: the streaming writer failed"; exit 1; }
chunks=$(cat stream.done)
data=$((data + chunks * chunk * 1024))
# (not "WARNING": ext4da-record reads that word on the console as the kernel's)
[ "$n" -gt 0 ] || echo "stream-fsync: no fsync overlapped the stream (make it longer)"

ext4da-stamp -q --gen "$gen" --fsync overwrite small 0 4096
data=$((data + 4096))
ext4da-mark -q stream-end --durable small --durable big
echo "stream-fsync: ${chunks} x ${chunk} KiB streamed, $n fsyncs while streaming"
echo "EXT4DA-DATA-BYTES $data"
