#!/usr/bin/env bash
# e2e: a real 3-machine WireGuard mesh (wireguard-go) on a simulated LAN.
#   usage: wireguard_mesh.sh PATH/TO/weft
# Machines h0..h2 are network namespaces on one bridge (198.51.100.0/24, TEST-NET-2), each with
# its own mount namespace and a tmpfs on /run/wireguard (the UAPI socket path is global).
# h0 founds the cluster; h1 and h2 join with its address only (the join token). Checks:
#   - every machine pings every other's .1 through the tunnel;
#   - a "container" on h1's bridge (10.210.X.2) is reached from h0 and from a container on h2,
#     and sees the sender's real mesh address (no NAT inside the mesh);
#   - `wg show` in each namespace lists the two right peers with recent handshakes;
#   - DNS on a machine's .1 answers another machine's name through the tunnel;
#   - kill -9 of h1's agent and a restart: the mesh is whole again, nothing duplicated;
#   - h2 stopped for good: the others drop its peer only once it is declared dead;
#   - a container's traffic to a host outside the mesh is masqueraded (and only that traffic);
#   - weft leave --cleanup, and a clean stop with --cleanup-on-exit, remove the interface,
#     bridge, route and firewall chains.
source "$(dirname "$0")/lib.sh"
WEFT=$(realpath "$1")
e2e_init wireguard-mesh
SW=${E2E_TAG}sw
H=(${E2E_TAG}h0 ${E2E_TAG}h1 ${E2E_TAG}h2)
IP=(198.51.100.10 198.51.100.11 198.51.100.12)
declare -a AGENT

e2e_switch "$SW"
for i in 0 1 2; do
  e2e_ns "${H[$i]}"
  e2e_plug "$SW" "${H[$i]}" eth0 "${IP[$i]}/24"
done
OUT=${E2E_TAG}out  # a host on the LAN that is not in the mesh ("the internet")
e2e_ns "$OUT"
e2e_plug "$SW" "$OUT" eth0 198.51.100.50/24

start_agent() { local i=$1; shift; e2e_machine_agent "$i" "${H[$i]}" "${IP[$i]}" "$@"; }
wg_at() { local i=$1; shift; nsenter -t "${AGENT[$i]}" -m -n wg "$@"; }
subnet_of() { weft_at "$1" status --json | sed -n 's/.*"subnet": *"\([0-9.]*\)\.0\/24".*/\1/p'; }

e2e_log "founding the cluster on h0"
token=$("$WEFT" init --data-dir "$E2E_DIR/d0" --name m0 --advertise "${IP[0]}:51821" | tail -n1)
start_agent 0
for i in 1 2; do
  mkdir -p "$E2E_DIR/d$i"
  start_agent "$i" --token "$token" --name "m$i"
done

all_alive() {  # I: machine I sees 3 members alive, each with a subnet
  local m
  m=$(weft_at "$1" members --json) || return 1
  [ "$(grep -o '"state": "alive"' <<<"$m" | wc -l)" -eq 3 ] && [ "$(grep -o '"subnet": "10\.210\.' <<<"$m" | wc -l)" -eq 3 ]
}
for i in 0 1 2; do wait_for 60 "m$i sees 3 live members with subnets" all_alive "$i"; done
NET=()
for i in 0 1 2; do NET[$i]=$(subnet_of "$i"); [ -n "${NET[$i]}" ] || e2e_fail "m$i has no subnet"; done
e2e_log "subnets: ${NET[*]}"

ping_ok() { ip netns exec "$1" ping -c1 -W1 -q "$2"; }
all_pairs() {
  for i in 0 1 2; do for j in 0 1 2; do
    [ "$i" = "$j" ] && continue
    wait_for 60 "m$i pings m$j's ${NET[$j]}.1" ping_ok "${H[$i]}" "${NET[$j]}.1"
  done; done
}
all_pairs
e2e_log "all pairs ping each other's .1"

# Containers: a namespace on h1's bridge and one on h2's.
container() {  # I NS: NS gets .2 of machine I's /24 on its bridge
  local i=$1 ns=$2
  e2e_ns "$ns"
  ip link add eth0 netns "$ns" type veth peer name "v$ns" netns "${H[$i]}"
  ip -n "${H[$i]}" link set "v$ns" master weft-br up
  ip -n "$ns" addr add "${NET[$i]}.2/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "${NET[$i]}.1"
}
C1=${E2E_TAG}c1
C2=${E2E_TAG}c2
container 1 "$C1"
container 2 "$C2"
# Count echo requests by source inside the container: what it sees is what arrived.
ip netns exec "$C1" iptables -A INPUT -p icmp --icmp-type echo-request -s "${NET[0]}.1" -j ACCEPT
ip netns exec "$C1" iptables -A INPUT -p icmp --icmp-type echo-request -s "${NET[2]}.2" -j ACCEPT
wait_for 30 "m0 reaches the container on m1" ping_ok "${H[0]}" "${NET[1]}.2"
wait_for 30 "the container on m2 reaches the container on m1" ping_ok "$C2" "${NET[1]}.2"
counted() { ip netns exec "$C1" iptables -nvxL INPUT | awk -v s="$1" '$8==s {n+=$1} END {print n+0}'; }
[ "$(counted "${NET[0]}.1")" -ge 1 ] || e2e_fail "the container on m1 never saw m0's real address ${NET[0]}.1"
[ "$(counted "${NET[2]}.2")" -ge 1 ] || e2e_fail "the container on m1 never saw the m2 container's real address ${NET[2]}.2"
e2e_log "containers reached, real source addresses seen (no NAT)"

# Leaving the mesh: the container on m1 reaches the outside host as m1's LAN address.
ip netns exec "$OUT" iptables -A INPUT -p icmp --icmp-type echo-request -s "${IP[1]}" -j ACCEPT
ip netns exec "$OUT" iptables -A INPUT -p icmp --icmp-type echo-request -s "${NET[1]}.2" -j ACCEPT
wait_for 30 "the container on m1 reaches a host outside the mesh" ping_ok "$C1" 198.51.100.50
seen_out() { ip netns exec "$OUT" iptables -nvxL INPUT | awk -v s="$1" '$8==s {n+=$1} END {print n+0}'; }
[ "$(seen_out "${IP[1]}")" -ge 1 ] || e2e_fail "outside traffic of the container was not masqueraded to ${IP[1]}"
[ "$(seen_out "${NET[1]}.2")" -eq 0 ] || e2e_fail "the outside host saw the container's mesh address"
e2e_log "outside-bound container traffic masqueraded to m1's address"

# A peer's allowed IPs, in `wg show weft dump` order-free: the machine's /24 and its block of the
# access range (10.77.N.0/24 for 10.210.N.0/24: replies to the access sessions it grants).
allowed_of() { local net=$1; echo "$net.0/24,10.77.${net##*.}.0/24"; }
sorted_ips() { tr ',' '\n' <<<"$1" | sort | paste -sd,; }
peer_line() {  # DUMP NET: the dump line of the peer holding exactly NET's allowed IPs
  local want
  want=$(sorted_ips "$(allowed_of "$2")")
  while read -r line; do
    [ "$(sorted_ips "$(awk '{print $4}' <<<"$line")")" = "$want" ] && echo "$line"
  done <<<"$1"
  return 0
}
# wg show: two peers each, the right allowed IPs, a handshake in the last 3 minutes.
check_wg() {  # I
  local i=$1 dump now peers
  dump=$(wg_at "$i" show weft dump) || { echo "wg show weft failed on m$i"; return 1; }
  now=$(date +%s)
  peers=$(tail -n +2 <<<"$dump")
  [ "$(wc -l <<<"$peers")" -eq 2 ] || { echo "m$i: wg show lists $(wc -l <<<"$peers") peers, want 2: $dump"; return 1; }
  for j in 0 1 2; do
    [ "$i" = "$j" ] && continue
    local line
    line=$(peer_line "$peers" "${NET[$j]}")
    [ -n "$line" ] || { echo "m$i: no peer with allowed IPs $(allowed_of "${NET[$j]}"): $dump"; return 1; }
    local hs
    hs=$(awk '{print $5}' <<<"$line")
    [ "$hs" -gt 0 ] && [ $((now - hs)) -lt 180 ] || { echo "m$i: peer ${NET[$j]}.0/24 has no recent handshake ($hs)"; return 1; }
  done
}
require_wg() { local why; why=$(check_wg "$1") || e2e_fail "$why"; }
for i in 0 1 2; do require_wg "$i"; done
weft_at 0 peers
e2e_log "wg show: right peers, recent handshakes"

# Drift: someone removes a peer and widens another's allowed IPs by hand; the agent repairs both.
key1=$(peer_line "$(wg_at 0 show weft dump | tail -n +2)" "${NET[1]}" | awk '{print $1}')
key2=$(peer_line "$(wg_at 0 show weft dump | tail -n +2)" "${NET[2]}" | awk '{print $1}')
wg_at 0 set weft peer "$key1" remove
wg_at 0 set weft peer "$key2" allowed-ips "${NET[2]}.0/24,192.168.77.0/24"
repaired() { check_wg 0 && [ "$(wg_at 0 show weft allowed-ips | grep -c 192.168.77)" -eq 0 ]; }
wait_for 30 "m0's agent repairs the hand-edited device" repaired
wait_for 30 "m0 pings m1 after the repair" ping_ok "${H[0]}" "${NET[1]}.1"
grep -q "drifted from the cluster state" "$E2E_DIR/agent0.log" || e2e_fail "the repair was not logged as drift"
e2e_log "hand edits of the device repaired"

answer=$(ip netns exec "${H[0]}" dig +short +time=2 +tries=3 "@${NET[1]}.1" m2.m.internal)
[ "$answer" = "${NET[2]}.1" ] || e2e_fail "dig @${NET[1]}.1 m2.m.internal from m0 answered '$answer', want ${NET[2]}.1"
e2e_log "DNS on m1's .1 answers m2.m.internal = $answer through the tunnel"
answer=$(ip netns exec "${H[0]}" dig +short +time=2 +tries=3 @127.0.0.1 m1.m.internal)
[ "$answer" = "${NET[1]}.1" ] || e2e_fail "dig @127.0.0.1 m1.m.internal on m0 answered '$answer', want ${NET[1]}.1"
e2e_log "and on loopback by default"

e2e_log "kill -9 of m1's agent, then a restart"
wgpid=$(sed -n 's/.*wireguard-go started for weft (pid \([0-9]*\)).*/\1/p' "$E2E_DIR/agent1.log" | tail -n1)
[ -n "$wgpid" ] || e2e_fail "m1's agent did not log its wireguard-go pid"
kill -KILL "${AGENT[1]}"
wait "${AGENT[1]}" 2>/dev/null || true
gone() { ! kill -0 "$1"; }
wait_for 10 "m1's wireguard-go ($wgpid) exits with its agent" gone "$wgpid"
start_agent 1 --cleanup-on-exit
all_pairs
for i in 0 1 2; do wait_for 60 "m$i sees 3 live members after the restart" all_alive "$i"; done
[ "$(subnet_of 1)" = "${NET[1]}" ] || e2e_fail "m1 changed its subnet on restart: $(subnet_of 1)"
for i in 0 1 2; do
  n=$(weft_at "$i" members --json | grep -c '"name"')
  [ "$n" -eq 3 ] || e2e_fail "m$i lists $n members after the restart, want 3"
done
wait_for 30 "m0 reaches the container on m1 again" ping_ok "${H[0]}" "${NET[1]}.2"
for i in 0 1 2; do require_wg "$i"; done
e2e_log "the mesh is whole again, nothing duplicated"

e2e_log "stopping m2 for good"
kill -KILL "${AGENT[2]}"
wait "${AGENT[2]}" 2>/dev/null || true
key2=$(peer_line "$(wg_at 0 show weft dump | tail -n +2)" "${NET[2]}" | awk '{print $1}')
[ -n "$key2" ] || e2e_fail "m0 holds no peer for m2 before the test"
dropped_after_dead() {  # I: peer gone from the device; the member must already be dead then
  local dump members
  dump=$(nsenter -t "${AGENT[$1]}" -m -n wg show weft dump)
  members=$(weft_at "$1" members --json)
  if grep -q "^$key2" <<<"$dump"; then return 1; fi
  grep -A3 '"name": "m2"' <<<"$members" | grep -q '"state": "dead"' ||
    e2e_fail "m$1 dropped m2's peer while m2 was not yet declared dead: $members"
}
for i in 0 1; do wait_for 90 "m$i drops m2's peer once m2 is dead" dropped_after_dead "$i"; done
ping_ok "${H[0]}" "${NET[1]}.1" >/dev/null || e2e_fail "m0 lost m1 while m2 went away"
e2e_log "m2's peer dropped after it was declared dead"

e2e_log "weft leave --cleanup on m0"
weft_at 0 leave --cleanup
wait "${AGENT[0]}" || e2e_fail "m0's agent exited with an error after leave"
ip -n "${H[0]}" link show weft >/dev/null 2>&1 && e2e_fail "interface weft still exists on m0"
ip -n "${H[0]}" link show weft-br >/dev/null 2>&1 && e2e_fail "bridge weft-br still exists on m0"
ip -n "${H[0]}" route | grep -q '10\.210\.' && e2e_fail "a 10.210 route is left on m0: $(ip -n "${H[0]}" route)"
ip -n "${H[0]}" route | grep -q '10\.77\.' && e2e_fail "the access range's route is left on m0: $(ip -n "${H[0]}" route)"
ip netns exec "${H[0]}" iptables -S | grep -q WEFT && e2e_fail "filter rules left on m0: $(ip netns exec "${H[0]}" iptables -S)"
ip netns exec "${H[0]}" iptables -t nat -S | grep -q WEFT && e2e_fail "nat rules left on m0"
ip netns exec "${H[0]}" iptables -t raw -S | grep -q WEFT && e2e_fail "raw rules left on m0"
[ "$(ip netns exec "${H[0]}" cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || e2e_fail "ip_forward left on on m0"
e2e_log "clean stop of m1 (started with --cleanup-on-exit)"
kill -TERM "${AGENT[1]}"
wait "${AGENT[1]}" || e2e_fail "m1's agent exited with an error on SIGTERM"
ip -n "${H[1]}" link show weft-br >/dev/null 2>&1 && e2e_fail "bridge weft-br still exists on m1 after a clean stop"
ip netns exec "${H[1]}" iptables -S | grep -q WEFT && e2e_fail "filter rules left on m1 after a clean stop"
ip netns exec "${H[1]}" iptables -t nat -S | grep -q WEFT && e2e_fail "nat rules left on m1 after a clean stop"
e2e_log "PASS"
