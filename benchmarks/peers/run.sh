#!/usr/bin/env bash
# bin/bench peers [--quick]: the peers benchmark (docs/benchmarks.md, "Peers"). Builds the C tools
# with gcc and the Java contenders (Maven profile bench), then runs, in one go:
#   1. the peers table: C recv loop, JDK NIO, Reactor Netty, Netty epoll, this library (Linux backend
#      Flux<DevmemFrag> and Flux<DevmemFragBatch>, emulated NIC), bin/devmem recv (both backends),
#      ROUNDS rounds with the order rotated, BYTES per run from one C sender;
#   2. scaling: 1..16 flows through one listen(), 1 and 2 I/O loops, Linux backend and emulated NIC;
#   3. token return: one DONTNEED per frag vs the library's batching, in ns per frag;
#   4. release -> DONTNEED latency under a slow trickle and under load (emulated NIC);
#   5. cancel -> socket and binding closed, with a silent peer.
# The results replace the block between the peers markers in docs/benchmarks.md (with the command
# and the machine) and stay in benchmarks/target/peers/. Environment: PEERS_ROUNDS, PEERS_BYTES,
# PEERS_SCALING_BYTES, PEERS_CANCEL_RUNS override the defaults (--quick lowers them all).
set -eu
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
quick=0
[ "${1:-}" = --quick ] && quick=1
if [ $quick = 1 ]; then
  rounds=${PEERS_ROUNDS:-2}; bytes=${PEERS_BYTES:-$((256 << 20))}; sbytes=${PEERS_SCALING_BYTES:-$((64 << 20))}
  cancels=${PEERS_CANCEL_RUNS:-20}; tokens=400000; srounds=1; trickle=100; lbytes=$((64 << 20))
else
  rounds=${PEERS_ROUNDS:-7}; bytes=${PEERS_BYTES:-$((4 << 30))}; sbytes=${PEERS_SCALING_BYTES:-$((1 << 30))}
  cancels=${PEERS_CANCEL_RUNS:-200}; tokens=4000000; srounds=${PEERS_SCALING_ROUNDS:-1}
  trickle=500; lbytes=$((1 << 30))
fi
command -v gcc >/dev/null 2>&1 || "$root/bin/setup-host"
command -v gcc >/dev/null 2>&1 || { echo "bin/bench peers: needs gcc (Debian: apt-get install gcc)" >&2; exit 3; }
JAVA_HOME=$("$root/bin/find-jdk")
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
out="$root/benchmarks/target/peers"
tools="$out/tools"
mkdir -p "$tools"
for c in peer_send peer_recv cpu_run; do
  gcc -O2 -Wall -o "$tools/$c" "$root/benchmarks/peers/$c.c"
done
echo "bin/bench peers: building the contenders..." >&2
mvn -q -B -ntp -f "$root/pom.xml" -Pbench -pl benchmarks,samples/cli -am package -DskipTests >&2
"$root/bin/devmem" --help >/dev/null   # builds its AOT cache once, so no run pays for it
jar="$root/benchmarks/target/benchmarks.jar"
java=(java --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -cp "$jar")
# PEERS_PARTS="scaling cancel" reruns only those parts; the others keep their last results.
parts=" ${PEERS_PARTS:-peers scaling tokens latency cancel} "
part() { [[ "$parts" == *" $1 "* ]]; }
start=$(date +%s)
if part peers; then
  echo "bin/bench peers: peers table, $rounds rounds of $bytes bytes..." >&2
  "${java[@]}" dev.devmem.benchmarks.peers.PeersBench "$tools" "$root" "$rounds" "$bytes" > "$out/peers.md"
fi
if part scaling; then
  echo "bin/bench peers: scaling..." >&2
  "${java[@]}" dev.devmem.benchmarks.peers.ScalingBench "$tools" "$root" "$sbytes" "$srounds" > "$out/scaling.md"
fi
if part tokens; then
  echo "bin/bench peers: token return..." >&2
  "${java[@]}" dev.devmem.benchmarks.peers.TokenReturnBench "$tokens" > "$out/tokens.md"
fi
if part latency; then
  echo "bin/bench peers: release -> DONTNEED latency..." >&2
  "${java[@]}" dev.devmem.benchmarks.peers.ReleaseLatencyBench "$trickle" "$lbytes" > "$out/latency.md"
fi
if part cancel; then
  echo "bin/bench peers: cancel..." >&2
  "${java[@]}" dev.devmem.benchmarks.peers.CancelBench "$cancels" > "$out/cancel.md"
fi
secs=$(( $(date +%s) - start ))

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
doc="$root/docs/benchmarks.md"
# A part this invocation ran prints its fresh table; a part it did not run keeps the section the
# document already has (a fresh clone has no earlier results under target/).
section() { # $1 part, $2 result file, $3 section title
  if part "$1" && [ -f "$2" ]; then
    cat "$2"
  else
    awk -v title="#### $3" '
      $0 == title { on = 1; next }
      on && (/^#### / || /<!-- peers:end -->/) { exit }
      on && !/^_\(kept from the previous run/ { print }' "$doc" | cat -s | sed -e '1{/^$/d}' -e '${/^$/d}'
    echo
    echo "_(kept from the previous run: this invocation did not run this part)_"
  fi
}
{
  echo "<!-- peers:begin (written by bin/bench peers; edits inside are overwritten) -->"
  echo
  echo "Command: \`$(env | grep '^PEERS_' | sort | tr '\n' ' ')bin/bench peers$([ $quick = 1 ] && echo ' --quick')\`, $(date -u +%Y-%m-%d); parts run by this invocation:$parts(${secs} s after the build); each table states its own rounds and sizes."
  echo "Machine: $cpu, $(nproc) CPUs, Linux $(uname -r), $(java -version 2>&1 | head -1), load average at start $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "#### Peers"
  echo
  section peers "$out/peers.md" "Peers"
  echo
  echo "#### Scaling: flows through one listen()"
  echo
  section scaling "$out/scaling.md" "Scaling: flows through one listen()"
  echo
  echo "#### Token return"
  echo
  section tokens "$out/tokens.md" "Token return"
  echo
  echo "#### Release → DONTNEED latency (emulated NIC)"
  echo
  section latency "$out/latency.md" "Release → DONTNEED latency (emulated NIC)"
  echo
  echo "#### Cancel with a silent peer"
  echo
  section cancel "$out/cancel.md" "Cancel with a silent peer"
  echo
  echo "<!-- peers:end -->"
} > "$out/block.md"
if grep -q '<!-- peers:begin' "$doc"; then
  awk -v block="$out/block.md" '
    /<!-- peers:begin/ { while ((getline l < block) > 0) print l; skip = 1; next }
    /<!-- peers:end -->/ { skip = 0; next }
    !skip { print }' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
else
  { echo; echo "## Peers: receive side by side with a C loop, NIO, Netty and Reactor Netty"; echo; cat "$out/block.md"; } >> "$doc"
fi
cat "$out/block.md"
echo "bin/bench peers: done in ${secs} s; written to docs/benchmarks.md" >&2
