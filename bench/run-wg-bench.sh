#!/usr/bin/env bash
# WireGuard mesh benchmark (not part of CI), in network namespaces it creates and removes:
#   1. reconcile cost at 255 peers against a real wireguard-go: time per cluster change and per
#      drift check, syscalls per change (strace -c), next to `wg set` of one peer (the tool an
#      operator would run) measured the same way;
#   2. iperf3 through the weft tunnel (two agents, userspace backend) vs the bare veth link;
#   3. one agent with 255 peers (256 agents on loopback, the measured one with wireguard-go):
#      its RSS and idle CPU over a minute, next to its wireguard-go and a gossip-only agent.
#   bench/run-wg-bench.sh [--idle-seconds N]
set -euo pipefail
umask 077
cd "$(dirname "$0")/.."
IDLE=60
[ "${1:-}" = "--idle-seconds" ] && IDLE=$2
bash scripts/install-deps.sh
export DEBIAN_FRONTEND=noninteractive
dpkg-query -W iperf3 strace >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends iperf3 strace
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target weft weft-bench-wg-reconcile >/dev/null
WEFT=$(realpath build/weft)
RECON=$(realpath build/bench/weft-bench-wg-reconcile)
W=$(mktemp -d /tmp/weft-wg-bench.XXXXXX)
TAG=wb$$
NSS=()
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -KILL "$p" 2>/dev/null; done
  for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
mkdir -p /run/wireguard
ns() { ip netns add "$1"; NSS+=("$1"); ip -n "$1" link set lo up; }
wait_for() {  # SECONDS WHAT CMD...
  local deadline=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out: $what" >&2; exit 1; }; sleep 0.2; done
}
calls() { awk '$NF=="total" {print $(NF-2)}' "$1"; }  # strace -c: "100.00 secs usecs calls errors total"

echo "== 1. reconcile at 255 peers (wireguard-go $(wireguard-go --version | head -1 | awk '{print $2}'))"
ns ${TAG}r
ip netns exec ${TAG}r sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec env WG_PROCESS_FOREGROUND=1 wireguard-go -f wgb' >"$W/wgb.log" 2>&1 &
WGP=$!; PIDS+=($WGP)
wait_for 10 "wireguard-go socket" nsenter -t $WGP -m test -S /run/wireguard/wgb.sock
in_r() { nsenter -t $WGP -m -n "$@"; }
RESULT=$(in_r "$RECON" --interface wgb --changes 300)
echo "$RESULT"
in_r strace -f -c -o "$W/s0" "$RECON" --interface wgb --changes 0 --drift-checks 0 >/dev/null
in_r strace -f -c -o "$W/s1" "$RECON" --interface wgb --changes 300 --drift-checks 0 >/dev/null
in_r strace -f -c -o "$W/s2" "$RECON" --interface wgb --changes 0 --drift-checks 300 >/dev/null
per_change=$(( ($(calls "$W/s1") - $(calls "$W/s0")) / 300 ))
per_drift=$(( ($(calls "$W/s2") - $(calls "$W/s0")) / 300 ))
key=$(in_r wg show wgb peers | sed -n 1p)  # not head: wg would die of SIGPIPE under pipefail
t0=$(date +%s%N)
for i in $(seq 1 100); do in_r wg set wgb peer "$key" endpoint "198.51.100.9:$((30000 + i))"; done
wgset_ms=$(echo "scale=3; ($(date +%s%N) - $t0) / 100 / 1000000" | bc)
in_r strace -f -c -o "$W/s3" wg set wgb peer "$key" endpoint 198.51.100.9:29999
wgset_calls=$(calls "$W/s3")
change_ms=$(sed 's/.*"change_ms_p50": \([0-9.]*\).*/\1/' <<<"$RESULT")

echo "== 2. iperf3: weft tunnel vs bare link"
ns ${TAG}sw; ip -n ${TAG}sw link add br0 type bridge; ip -n ${TAG}sw link set br0 up
for i in 0 1; do
  ns ${TAG}h$i
  ip link add eth0 netns ${TAG}h$i type veth peer name p$i netns ${TAG}sw
  ip -n ${TAG}sw link set p$i master br0 up
  ip -n ${TAG}h$i addr add 198.51.100.1$i/24 dev eth0; ip -n ${TAG}h$i link set eth0 up
done
agent() {  # NS DATADIR BIND LOG [args]
  local n=$1 d=$2 b=$3 log=$4; shift 4
  ip netns exec "$n" sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec "$0" "$@"' "$WEFT" agent --data-dir "$d" --bind "$b" \
    --dns-upstream none --docker off "$@" >"$log" 2>&1 &
  PIDS+=($!)
}
tok=$("$WEFT" init --data-dir "$W/i0" --name i0 --advertise 198.51.100.10:51821 | tail -n1)
agent ${TAG}h0 "$W/i0" 198.51.100.10:51821 "$W/i0.log" --wg-backend userspace
mkdir -p "$W/i1"; agent ${TAG}h1 "$W/i1" 198.51.100.11:51821 "$W/i1.log" --wg-backend userspace --token "$tok" --name i1
sub1() { "$WEFT" status --json --data-dir "$W/i1" | sed -n 's/.*"mesh_address": *"\([0-9.]*\)".*/\1/p'; }
has_mesh() { [ -n "$(sub1)" ]; }
wait_for 60 "i1 has a mesh address" has_mesh
T1=$(sub1)
wait_for 60 "tunnel up" ip netns exec ${TAG}h0 ping -c1 -W1 "$T1"
ip netns exec ${TAG}h1 iperf3 -s -D -I "$W/iperf.pid" >/dev/null
wait_for 10 "iperf3 server" test -s "$W/iperf.pid"
PIDS+=($(cat "$W/iperf.pid"))
bps() { ip netns exec ${TAG}h0 iperf3 -c "$1" -t 5 -J | sed -n 's/.*"bits_per_second":\s*\([0-9.e+]*\).*/\1/p' | tail -1; }
bare=$(bps 198.51.100.11)
tunnel=$(bps "$T1")
# Anchor: the same two hosts' link with wireguard-go configured by hand (wg, MTU 1420), no weft.
for i in 0 1; do
  wg genkey > "$W/k$i"; wg pubkey < "$W/k$i" > "$W/p$i"
  ip netns exec ${TAG}h$i sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec env WG_PROCESS_FOREGROUND=1 wireguard-go -f plain' >"$W/plain$i.log" 2>&1 &
  PIDS+=($!); PL[$i]=$!
done
for i in 0 1; do
  wait_for 10 "plain wireguard-go $i" nsenter -t ${PL[$i]} -m test -S /run/wireguard/plain.sock
  j=$((1 - i))
  nsenter -t ${PL[$i]} -m -n wg set plain private-key "$W/k$i" listen-port 51900 peer "$(cat "$W/p$j")" \
    endpoint 198.51.100.1$j:51900 allowed-ips 10.99.$j.0/24
  ip -n ${TAG}h$i addr add 10.99.$i.1/16 dev plain
  ip -n ${TAG}h$i link set plain mtu 1420 up
done
wait_for 30 "plain tunnel up" ip netns exec ${TAG}h0 ping -c1 -W1 10.99.1.1
plain=$(bps 10.99.1.1)
bare_g=$(echo "scale=2; $bare / 1000000000" | bc -l); tunnel_g=$(echo "scale=2; $tunnel / 1000000000" | bc -l)
plain_g=$(echo "scale=2; $plain / 1000000000" | bc -l)

echo "== 3. one agent with 255 peers (256 agents on loopback; measured one with wireguard-go)"
ns ${TAG}big
for i in $(seq 1 255); do ip -n ${TAG}big addr add 127.0.1.$i/32 dev lo 2>/dev/null || true; done
tok=$("$WEFT" init --data-dir "$W/b0" --name b0 --advertise 127.0.1.1:51821 | tail -n1)
agent ${TAG}big "$W/b0" 127.0.1.1:51821 "$W/b0.log" --wg-backend userspace
B0=${PIDS[-1]}
# 256 agents start at once on this machine's cores: a first join may wait far longer than the
# default 20 s for the seed's answer, so the joiners get 10 minutes.
for i in $(seq 1 255); do
  mkdir -p "$W/b$i"
  ip netns exec ${TAG}big "$WEFT" agent --data-dir "$W/b$i" --bind "127.0.$((1 + i / 250)).$((i % 250 + 1)):51822" \
    --token "$tok" --name "b$i" --dns-upstream none --join-timeout-ms 600000 >"$W/b$i.log" 2>&1 &
  PIDS+=($!)
done
B1=${PIDS[-1]}
peers() { [ "$("$WEFT" peers --json --data-dir "$W/b0" | grep -o '"public_key"' | wc -l)" -ge 255 ]; }
t0=$(date +%s)
wait_for 600 "the first agent holds 255 WireGuard peers" peers
join_s=$(( $(date +%s) - t0 ))
WG0=$(sed -n 's/.*wireguard-go started for weft (pid \([0-9]*\)).*/\1/p' "$W/b0.log" | sed -n 1p)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
a0=$(cpu $B0); g0=$(cpu $WG0); n0=$(cpu $B1)
sleep "$IDLE"   # the measurement window itself: idle CPU over IDLE seconds
a1=$(cpu $B0); g1=$(cpu $WG0); n1=$(cpu $B1)
hz=$(getconf CLK_TCK)
pct() { echo "scale=2; 100 * ($2 - $1) / $hz / $IDLE" | bc; }

echo
echo "| figure | weft | anchor | ratio |"
echo "|---|---|---|---|"
echo "| one cluster change at 255 peers (wanted set + UAPI get + set), ms p50 | $change_ms | \`wg set\` one peer: $wgset_ms | $(echo "scale=2; $change_ms / $wgset_ms" | bc) |"
echo "| syscalls per change | $per_change | \`wg set\` one peer: $wgset_calls | $(echo "scale=2; $per_change / $wgset_calls" | bc) |"
echo "| drift check with nothing to do, syscalls | $per_drift | | |"
echo "| first full apply of 255 peers, ms | $(sed 's/.*"initial_apply_ms": \([0-9.]*\).*/\1/' <<<"$RESULT") | | |"
echo "| TCP through the tunnel, Gbit/s (iperf3 5 s) | $tunnel_g | bare veth: $bare_g | $(echo "scale=3; $tunnel / $bare" | bc -l) |"
echo "| TCP through the tunnel, Gbit/s | $tunnel_g | hand-configured wireguard-go, same hosts: $plain_g | $(echo "scale=2; $tunnel / $plain" | bc -l) |"
echo "| agent RSS at 255 peers, MiB | $(echo "scale=1; $(rss $B0) / 1024" | bc) | its wireguard-go: $(echo "scale=1; $(rss $WG0) / 1024" | bc) | $(echo "scale=2; $(rss $B0) / $(rss $WG0)" | bc) |"
echo "| agent idle CPU at 255 peers, % of a core over ${IDLE} s | $(pct $a0 $a1) | its wireguard-go: $(pct $g0 $g1) | |"
echo "| gossip-only agent in the same cluster: RSS MiB / CPU % | $(echo "scale=1; $(rss $B1) / 1024" | bc) / $(pct $n0 $n1) | | |"
echo "| 256 agents started to 255 peers on the first, s | $join_s | | |"
