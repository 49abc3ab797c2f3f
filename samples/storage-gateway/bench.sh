#!/usr/bin/env bash
# Socket to fsynced file: the storage gateway (emulated devmem NIC, Flux<DevmemFragBatch>, tokens back
# after fsync) against `nc -l | dd` baselines, in the same run, on the same disk, with the same sender.
#   samples/storage-gateway/bench.sh [SIZE_MIB (2048)] [DIR (/var/tmp/devmem-gateway-bench)] [RUNS (2)]
# Prints a Markdown table: wall time from the first byte sent to the object durable (the gateway's
# "stored" line: data fsynced and manifest published; dd's exit after conv=fsync), and the receiving
# side's CPU (user + sys; the gateway JVM's /proc/PID/stat delta, nc + dd's rusage).
set -eu
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(cd "$here/../.." && pwd)
size_mib=${1:-2048}
dir=${2:-/var/tmp/devmem-gateway-bench}
runs=${3:-2}
chunk_mib=256
[ $((size_mib % chunk_mib)) -eq 0 ] || { echo "SIZE_MIB must be a multiple of $chunk_mib" >&2; exit 2; }
for c in nc dd awk; do command -v $c >/dev/null || { echo "bench.sh needs $c (bin/setup-host installs it)" >&2; exit 2; }; done

"$here/gateway" --version >/dev/null # builds the jar if needed
mkdir -p "$dir"
pattern=$(mktemp /dev/shm/devmem-gateway-pattern.XXXXXX)
work=$(mktemp -d)
gw_pid=
cleanup() {
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
  rm -rf "$pattern" "$work" "$dir/gw" "$dir/base.data"
}
trap cleanup EXIT
# The netcat pattern (1..6 then 0), generated once in memory so that the sender costs the same in every run.
yes "$(printf '\001\002\003\004\005\006')" | tr '\n' '\0' | head -c $((chunk_mib << 20)) > "$pattern"
tck=$(getconf CLK_TCK)

send() { # PORT MIB
  for _ in $(seq $(($2 / chunk_mib))); do cat "$pattern"; done | nc -N 127.0.0.1 "$1"
}
now() { date +%s.%N; }
row() { # NAME SECONDS CPU
  awk -v n="$1" -v s="$2" -v c="$3" -v m="$size_mib" 'BEGIN {
    g = m / 1024; printf "| %s | %.2f | %.0f | %.2f | %.2f |\n", n, s, m / s, c, c / g }'
}

baseline() { # NAME DD_FLAGS
  local port=$((20000 + RANDOM % 20000))
  rm -f "$dir/base.data"
  ( TIMEFORMAT='%U %S'; { time ( nc -l 127.0.0.1 "$port" | dd of="$dir/base.data" bs=1M iflag=fullblock $2 conv=fsync status=none ) ; } 2> "$work/time" ) &
  local recv=$!
  sleep 0.5
  local t0; t0=$(now)
  send "$port" "$size_mib"
  wait "$recv"
  local t1; t1=$(now)
  [ "$(stat -c %s "$dir/base.data")" -eq $((size_mib << 20)) ] || { echo "baseline $1: short file" >&2; exit 1; }
  row "$1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(awk '{ print $1 + $2 }' "$work/time")"
}

gateway() { # NAME GATEWAY_ARGS...
  local name=$1; shift
  rm -rf "$dir/gw"
  "$here/gateway" --dir "$dir/gw" --listen 127.0.0.1:0 --http off "$@" > "$work/gw.log" 2>&1 &
  gw_pid=$!
  local port=
  for _ in $(seq 600); do
    port=$(sed -n 's/^storage-gateway: flows 127.0.0.1:\([0-9]*\).*/\1/p' "$work/gw.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/gw.log" >&2; exit 1; }
  send "$port" "$chunk_mib" # warm-up flow: JIT, page faults of the dmabuf
  until grep -q '^gateway: stored' "$work/gw.log"; do sleep 0.01; done
  local c0; c0=$(awk '{ print $14 + $15 }' /proc/$gw_pid/stat)
  local t0; t0=$(now)
  send "$port" "$size_mib"
  until [ "$(grep -c '^gateway: stored' "$work/gw.log")" -ge 2 ]; do sleep 0.005; done
  local t1; t1=$(now)
  local c1; c1=$(awk '{ print $14 + $15 }' /proc/$gw_pid/stat)
  grep -q "gateway: stored .* ($((size_mib << 20)) bytes" "$work/gw.log" || { cat "$work/gw.log" >&2; exit 1; }
  kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true; gw_pid=
  row "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN { print (b - a) / t }')"
}

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $dir on $(df -T "$dir" | awk 'NR == 2 { print $2 " " $1 }'), ${size_mib} MiB per run"
echo "| receiver | s | MiB/s | CPU s | CPU s/GiB |"
echo "|---|---|---|---|---|"
for _ in $(seq "$runs"); do
  baseline "nc -l \| dd oflag=direct conv=fsync" "oflag=direct"
  baseline "nc -l \| dd conv=fsync (page cache)" ""
  gateway "gateway O_DIRECT, fsync=group" --direct-io on --fsync group
  gateway "gateway page cache, fsync=group" --direct-io off --fsync group
  gateway "gateway page cache, fsync=object" --direct-io off --fsync object
done
