#!/usr/bin/env bash
# Paths through NAT, measured (not part of CI), in network namespaces it creates and removes
# (the NAT topology of tests/e2e/nat_paths.sh: P public, A and C behind endpoint-independent
# NATs, B behind a symmetric one):
#   1. time to a working direct path A-C once both machines published their candidates, over
#      repeated runs (fresh agents, fresh NAT state), next to the floor: the same two hosts
#      running wireguard-go by hand, given each other's mapped endpoint at the same moment;
#   2. time to a working relayed path A-B (direct attempts first, then the relay on P);
#   3. relay packets per second: a weft agent relaying for two fake ends on loopback vs a plain
#      UDP forwarder (bench/udp_forwarder.c), the same generator, in the same run; per wall
#      second and per CPU second of the relaying process.
#   bench/run-path-bench.sh [--runs N]
set -euo pipefail
umask 077
cd "$(dirname "$0")/.."
RUNS=10
[ "${1:-}" = "--runs" ] && RUNS=$2
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target weft weft-bench-relay weft-udp-forwarder >/dev/null
WEFT=$(realpath build/weft)
RELAYB=$(realpath build/bench/weft-bench-relay)
FWD=$(realpath build/bench/weft-udp-forwarder)
source tests/e2e/lib.sh
e2e_init path-bench
T=$E2E_TAG
INET=${T}inet
P=${T}P A=${T}A B=${T}B C=${T}C
e2e_switch "$INET"
e2e_ns "$P"
e2e_plug "$INET" "$P" eth0 203.0.113.100/24
e2e_nat_router "$INET" "${T}RA" "$A" 203.0.113.10 192.168.10 eim
e2e_nat_router "$INET" "${T}RB" "$B" 203.0.113.20 192.168.20 sym
e2e_nat_router "$INET" "${T}RC" "$C" 203.0.113.30 192.168.30 eim
now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000" | bc | cut -d. -f1; }
pct() {  # P VALUES...: the P-th percentile (nearest rank)
  local p=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v p="$p" '{v[NR]=$1} END {i=int((p*NR+99)/100); if (i<1) i=1; print v[i]}'
}
agent() {  # NS DIR BIND [args]: pid in AGENT_PID
  local n=$1 d=$2 b=$3
  shift 3
  e2e_agent "$n" "$d" "$b" "$d.log" --docker off "$@"
  AGENT_PID=$E2E_LAST_PID
}
pings() {  # NS TARGET: polls until one ping answers (60 s at most)
  local deadline=$(( $(date +%s) + 60 ))
  until ip netns exec "$1" ping -c1 -W0.2 -q "$2" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || e2e_fail "no ping from $1 to $2 within 60 s"
  done
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
flush() { for r in RA RB RC; do ip netns exec "${T}$r" conntrack -F >/dev/null 2>&1; done; }
published_at() {  # LOG IP: when the agent first published a candidate list holding IP (log time)
  local line
  line=$(grep -m1 "WireGuard endpoint candidates: .*$2" "$1") || return 1
  date -d "$(sed 's/^\[\([^]]*\)\].*/\1/' <<<"$line")" +%s.%N
}
token=$("$WEFT" init --data-dir "$E2E_DIR/p" --name p --advertise 203.0.113.100:51821 | tail -n1)
agent "$P" "$E2E_DIR/p" 203.0.113.100:51821
pmesh() { "$WEFT" status --json --data-dir "$E2E_DIR/p" | grep -q '"mesh_address": "10'; }
wait_for 30 "p is up" pmesh
mesh_of() { "$WEFT" status --json --data-dir "$1" | sed -n 's/.*"mesh_address": *"\([0-9.]*\)".*/\1/p'; }

echo "== 1. time to a direct path A-C through two NATs ($RUNS runs)"
direct=()
for run in $(seq 1 "$RUNS"); do
  flush
  for h in a c; do rm -rf "$E2E_DIR/$h$run"; mkdir -p "$E2E_DIR/$h$run"; done
  agent "$A" "$E2E_DIR/a$run" 192.168.10.2:51821 --token "$token" --name "a$run"
  PA=$AGENT_PID
  agent "$C" "$E2E_DIR/c$run" 192.168.30.2:51821 --token "$token" --name "c$run"
  PC=$AGENT_PID
  has_mesh() { [ -n "$(mesh_of "$1")" ]; }
  wait_for 60 "c$run has a mesh address" has_mesh "$E2E_DIR/c$run"
  target=$(mesh_of "$E2E_DIR/c$run")
  pings "$A" "$target"
  t_ok=$(now)
  ta=$(published_at "$E2E_DIR/a$run.log" 203.0.113.10) tc=$(published_at "$E2E_DIR/c$run.log" 203.0.113.30)
  known=$(printf '%s\n' "$ta" "$tc" | sort -n | tail -1)
  direct+=("$(ms "$known" "$t_ok")")
  path=$("$WEFT" peers --json --data-dir "$E2E_DIR/a$run" | python3 -c 'import json,sys; print([p["path"] for p in json.load(sys.stdin) if p["machine"]==sys.argv[1]][0])' "c$run")
  echo "  run $run: ${direct[-1]} ms ($path)"
  if [ "$path" = relay ]; then  # keep the evidence of a failed hole punch
    mkdir -p "/tmp/weft-path-bench-failed/run$run"
    cp "$E2E_DIR/a$run.log" "$E2E_DIR/c$run.log" "$E2E_DIR/p.log" "/tmp/weft-path-bench-failed/run$run/"
    echo "    (logs kept in /tmp/weft-path-bench-failed/run$run)"
  fi
  "$WEFT" leave --data-dir "$E2E_DIR/a$run" >/dev/null 2>&1 || true
  "$WEFT" leave --data-dir "$E2E_DIR/c$run" >/dev/null 2>&1 || true
  stop "$PA"; stop "$PC"
done

echo "== 1b. the floor: wireguard-go by hand in A and C, each given the other's mapped endpoint at once"
hand=()
for n in A C; do wg genkey >"$E2E_DIR/$n.key"; wg pubkey <"$E2E_DIR/$n.key" >"$E2E_DIR/$n.pub"; done
for run in $(seq 1 "$RUNS"); do
  flush
  declare -A WGP=()
  for n in A C; do
    ns=${T}$n
    ip netns exec "$ns" sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec env WG_PROCESS_FOREGROUND=1 wireguard-go -f wgh' >/dev/null 2>&1 &
    WGP[$n]=$!
    E2E_PIDS+=($!)
  done
  sock_up() { nsenter -t "$1" -m test -S /run/wireguard/wgh.sock; }
  for n in A C; do wait_for 10 "wireguard-go in $n" sock_up "${WGP[$n]}"; done
  inwg() { local n=$1; shift; nsenter -t "${WGP[$n]}" -m -n "$@"; }
  inwg A ip addr add 10.99.1.1/24 dev wgh; inwg C ip addr add 10.99.1.2/24 dev wgh
  for n in A C; do inwg $n wg set wgh private-key "$E2E_DIR/$n.key" listen-port 51820; inwg $n ip link set wgh up; done
  t0=$(now)
  inwg A wg set wgh peer "$(cat "$E2E_DIR/C.pub")" endpoint 203.0.113.30:51820 allowed-ips 10.99.1.2/32 persistent-keepalive 1 &
  s1=$!
  inwg C wg set wgh peer "$(cat "$E2E_DIR/A.pub")" endpoint 203.0.113.10:51820 allowed-ips 10.99.1.1/32 persistent-keepalive 1 &
  s2=$!
  wait "$s1" "$s2"
  pings "$A" 10.99.1.2
  hand+=("$(ms "$t0" "$(now)")")
  echo "  run $run: ${hand[-1]} ms"
  for n in A C; do stop "${WGP[$n]}"; done
done

echo "== 2. time to a relayed path A-B (B behind a symmetric NAT; 3 runs)"
relay=()
for run in 1 2 3; do
  flush
  for h in ra rb; do rm -rf "$E2E_DIR/$h$run"; mkdir -p "$E2E_DIR/$h$run"; done
  agent "$A" "$E2E_DIR/ra$run" 192.168.10.2:51821 --token "$token" --name "ra$run"
  PA=$AGENT_PID
  agent "$B" "$E2E_DIR/rb$run" 192.168.20.2:51821 --token "$token" --name "rb$run"
  PB=$AGENT_PID
  wait_for 60 "rb$run has a mesh address" has_mesh "$E2E_DIR/rb$run"
  target=$(mesh_of "$E2E_DIR/rb$run")
  pings "$A" "$target"
  t_ok=$(now)
  ta=$(published_at "$E2E_DIR/ra$run.log" 203.0.113.10) tb=$(published_at "$E2E_DIR/rb$run.log" 203.0.113.20)
  known=$(printf '%s\n' "$ta" "$tb" | sort -n | tail -1)
  relay+=("$(ms "$known" "$t_ok")")
  echo "  run $run: ${relay[-1]} ms"
  "$WEFT" leave --data-dir "$E2E_DIR/ra$run" >/dev/null 2>&1 || true
  "$WEFT" leave --data-dir "$E2E_DIR/rb$run" >/dev/null 2>&1 || true
  stop "$PA"; stop "$PB"
done

echo "== 3. relay packets per second on loopback: weft relay vs a plain UDP forwarder (128-byte WireGuard packets)"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
rtoken=$("$WEFT" init --data-dir "$E2E_DIR/r" --name r --advertise 127.0.0.1:47101 | tail -n1)
"$WEFT" agent --data-dir "$E2E_DIR/r" --bind 127.0.0.1:47101 --dns-upstream none --stun-server 127.0.0.1:47101 \
  --relay-pair-pps 100000000 --relay-total-pps 100000000 >"$E2E_DIR/r.log" 2>&1 &
RP=$!; E2E_PIDS+=($RP)
capable() { "$WEFT" status --json --data-dir "$E2E_DIR/r" | grep -q '"relay_capable": true'; }
wait_for 30 "the loopback relay is relay-capable" capable
"$FWD" 127.0.0.1 47102 127.0.0.3 47103 &
FP=$!; E2E_PIDS+=($FP)
wr=() wc=() fr=() fc=()
for run in 1 2 3; do
  c0=$(cpu "$RP"); out=$("$RELAYB" --token "$rtoken" --relay 127.0.0.1:47101 --seconds 5 --size 128); c1=$(cpu "$RP")
  got=$(sed 's/.*received=\([0-9]*\).*/\1/' <<<"$out"); pps=$(sed 's/.*pps=\([0-9]*\).*/\1/' <<<"$out")
  wr+=("$pps"); wc+=("$(echo "$got * $hz / ($c1 - $c0)" | bc)")
  c0=$(cpu "$FP"); out=$("$RELAYB" --plain 127.0.0.1:47102 --receiver-port 47103 --seconds 5 --size 137); c1=$(cpu "$FP")
  got=$(sed 's/.*received=\([0-9]*\).*/\1/' <<<"$out"); pps=$(sed 's/.*pps=\([0-9]*\).*/\1/' <<<"$out")
  fr+=("$pps"); fc+=("$(echo "$got * $hz / ($c1 - $c0)" | bc)")
  echo "  run $run: weft ${wr[-1]} pps (${wc[-1]} per CPU s), forwarder ${fr[-1]} pps (${fc[-1]} per CPU s)"
done

echo
echo "== summary"
dp50=$(pct 50 "${direct[@]}") dp95=$(pct 95 "${direct[@]}") hp50=$(pct 50 "${hand[@]}") hp95=$(pct 95 "${hand[@]}")
rp50=$(pct 50 "${relay[@]}")
wp=$(pct 50 "${wr[@]}") wpc=$(pct 50 "${wc[@]}") fp=$(pct 50 "${fr[@]}") fpc=$(pct 50 "${fc[@]}")
echo "| figure | weft | anchor | ratio |"
echo "|---|---|---|---|"
echo "| direct path A-C through two NATs, ms p50 ($RUNS runs) | $dp50 | wireguard-go by hand, same hosts: $hp50 | $(echo "scale=2; $dp50 / $hp50" | bc) |"
echo "| direct path A-C, ms p95 | $dp95 | by hand: $hp95 | $(echo "scale=2; $dp95 / $hp95" | bc) |"
echo "| relayed path A-B (symmetric NAT), ms p50, after one round of direct attempts (15 s per candidate) | $rp50 | | |"
echo "| relay, packets/s (128-byte WireGuard packets, loopback) | $wp | plain UDP forwarder: $fp | $(echo "scale=2; $wp / $fp" | bc) |"
echo "| relay, packets per CPU second of the relaying process | $wpc | plain UDP forwarder: $fpc | $(echo "scale=2; $wpc / $fpc" | bc) |"
