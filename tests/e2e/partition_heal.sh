#!/usr/bin/env bash
# e2e: a real network partition. usage: partition_heal.sh PATH/TO/weft
# Five machines on one LAN (198.51.100.0/24, TEST-NET-2), each its own namespace with wireguard-go.
# iptables DROP splits them into {m0,m1,m2} and {m3,m4}. Checks:
#   - each side declares the other dead and keeps working among itself (pings through the
#     tunnel, DNS names of its own side);
#   - after the rules are removed the mesh is whole again without restarting anything: five live
#     members everywhere, every pair pings, the same agent processes as before.
source "$(dirname "$0")/lib.sh"
WEFT=$(realpath "$1")
e2e_init partition-heal
SW=${E2E_TAG}sw
H=()
IP=()
for i in 0 1 2 3 4; do H+=("${E2E_TAG}h$i"); IP+=("198.51.100.2$i"); done
declare -a AGENT
LEFT=(0 1 2)
RIGHT=(3 4)

e2e_switch "$SW"
for i in 0 1 2 3 4; do
  e2e_ns "${H[$i]}"
  e2e_plug "$SW" "${H[$i]}" eth0 "${IP[$i]}/24"
done
start_agent() { local i=$1; shift; e2e_machine_agent "$i" "${H[$i]}" "${IP[$i]}" "$@"; }
subnet_of() { weft_at "$1" status --json | sed -n 's/.*"subnet": *"\([0-9.]*\)\.0\/24".*/\1/p'; }
alive_count() { weft_at "$1" members --json | grep -o '"state": "alive"' | wc -l; }
sees_alive() { [ "$(alive_count "$1")" -eq "$2" ]; }
sees_dead() { [ "$(weft_at "$1" members --json | grep -o '"state": "dead"' | wc -l)" -eq "$2" ]; }
ping_ok() { ip netns exec "${H[$1]}" ping -c1 -W1 -q "${NET[$2]}.1"; }

token=$("$WEFT" init --data-dir "$E2E_DIR/d0" --name m0 --advertise "${IP[0]}:51821" | tail -n1)
start_agent 0
for i in 1 2 3 4; do
  mkdir -p "$E2E_DIR/d$i"
  start_agent "$i" --token "$token" --name "m$i"
done
for i in 0 1 2 3 4; do wait_for 60 "m$i sees 5 live members" sees_alive "$i" 5; done
has_subnet() { [ -n "$(subnet_of "$1")" ]; }
# Two machines may pick the same /24 at once; the later claim moves within seconds. Take the
# subnets only once all five are distinct, or a ping may go to the winner's own address.
NET=()
distinct_subnets() {
  local i
  for i in 0 1 2 3 4; do NET[$i]=$(subnet_of "$i"); [ -n "${NET[$i]}" ] || return 1; done
  [ "$(printf '%s\n' "${NET[@]}" | sort -u | wc -l)" -eq 5 ]
}
for i in 0 1 2 3 4; do wait_for 60 "m$i holds a subnet" has_subnet "$i"; done
wait_for 30 "the five machines hold five different subnets" distinct_subnets
all_pairs() {
  for i in 0 1 2 3 4; do for j in 0 1 2 3 4; do
    [ "$i" = "$j" ] || wait_for 60 "m$i pings m$j" ping_ok "$i" "$j"
  done; done
}
all_pairs
PIDS_BEFORE="${AGENT[*]}"
e2e_log "five machines, every pair pings"

cut() {  # -A or -D: the DROP rules between the two sides, on every machine
  for i in "${LEFT[@]}"; do for j in "${RIGHT[@]}"; do
    ip netns exec "${H[$i]}" iptables "$1" INPUT -s "${IP[$j]}" -j DROP
    ip netns exec "${H[$i]}" iptables "$1" OUTPUT -d "${IP[$j]}" -j DROP
    ip netns exec "${H[$j]}" iptables "$1" INPUT -s "${IP[$i]}" -j DROP
    ip netns exec "${H[$j]}" iptables "$1" OUTPUT -d "${IP[$i]}" -j DROP
  done; done
}
e2e_log "partition: {m0,m1,m2} | {m3,m4}"
cut -A
for i in "${LEFT[@]}"; do wait_for 120 "m$i declares m3 and m4 dead" sees_dead "$i" 2; done
for i in "${RIGHT[@]}"; do wait_for 120 "m$i declares m0, m1 and m2 dead" sees_dead "$i" 3; done
for i in "${LEFT[@]}"; do sees_alive "$i" 3 || e2e_fail "m$i does not see its own side alive"; done
for i in "${RIGHT[@]}"; do sees_alive "$i" 2 || e2e_fail "m$i does not see its own side alive"; done
for i in "${LEFT[@]}"; do for j in "${LEFT[@]}"; do
  [ "$i" = "$j" ] || wait_for 30 "m$i pings m$j during the partition" ping_ok "$i" "$j"
done; done
wait_for 30 "m3 pings m4 during the partition" ping_ok 3 4
wait_for 30 "m4 pings m3 during the partition" ping_ok 4 3
answer=$(ip netns exec "${H[3]}" dig +short +time=2 +tries=3 "@${NET[4]}.1" m3.m.internal)
[ "$answer" = "${NET[3]}.1" ] || e2e_fail "DNS on m4 during the partition answered '$answer' for m3, want ${NET[3]}.1"
answer=$(ip netns exec "${H[0]}" dig +short +time=2 +tries=3 "@${NET[1]}.1" m4.m.internal)
[ -z "$answer" ] || e2e_fail "DNS on m1 still answers the unreachable m4 during the partition: $answer"
ping_ok 0 3 >/dev/null 2>&1 && e2e_fail "m0 reached m3 through the partition"
e2e_log "each side works among itself; the other side is dead to it"

e2e_log "healing"
cut -D
for i in 0 1 2 3 4; do wait_for 120 "m$i sees 5 live members after the heal" sees_alive "$i" 5; done
all_pairs
[ "${AGENT[*]}" = "$PIDS_BEFORE" ] || e2e_fail "agents were restarted"
for i in 0 1 2 3 4; do kill -0 "${AGENT[$i]}" || e2e_fail "m$i's agent is not running"; done
answer=$(ip netns exec "${H[0]}" dig +short +time=2 +tries=3 "@${NET[1]}.1" m4.m.internal)
[ "$answer" = "${NET[4]}.1" ] || e2e_fail "DNS on m1 after the heal answered '$answer' for m4, want ${NET[4]}.1"
e2e_log "the mesh is whole again, same processes"
e2e_log "PASS"
