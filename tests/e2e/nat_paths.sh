#!/usr/bin/env bash
# e2e: paths through NAT. usage: nat_paths.sh PATH/TO/weft
#   P (203.0.113.100) on the "internet" switch (203.0.113.0/24, TEST-NET-3);
#   A behind RA (eim), B behind RB (sym), C behind RC (eim), each on its own 192.168.x.0/24.
# All three join with P's address only. Checks:
#   - every machine sees four live members (the control plane works through the NATs);
#   - every pair pings every other's .1 through WireGuard;
#   - A-C is direct (hole punched through both NATs), and `weft peers` says so;
#   - cut P off the internet: A-C keeps working.
source "$(dirname "$0")/lib.sh"
WEFT=$(realpath "$1")
e2e_init nat-paths
T=$E2E_TAG
INET=${T}inet
N=(${T}P ${T}A ${T}B ${T}C)      # machine namespaces
NAME=(p a b c)
IP=(203.0.113.100 192.168.10.2 192.168.20.2 192.168.30.2)
declare -a AGENT

e2e_switch "$INET"
e2e_ns "${N[0]}"
e2e_plug "$INET" "${N[0]}" eth0 203.0.113.100/24
e2e_nat_router "$INET" "${T}RA" "${N[1]}" 203.0.113.10 192.168.10 eim
e2e_nat_router "$INET" "${T}RB" "${N[2]}" 203.0.113.20 192.168.20 sym
e2e_nat_router "$INET" "${T}RC" "${N[3]}" 203.0.113.30 192.168.30 eim

start_agent() {  # I [extra args]
  local i=$1
  shift
  ip netns exec "${N[$i]}" sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec "$0" "$@"' \
    "$WEFT" agent --data-dir "$E2E_DIR/d$i" --bind "${IP[$i]}:51821" --wg-backend userspace \
    --dns-upstream none --docker off "$@" >>"$E2E_DIR/agent$i.log" 2>&1 &
  AGENT[$i]=$!
  E2E_PIDS+=("$!")
}
weft_at() { local i=$1; shift; "$WEFT" "$@" --data-dir "$E2E_DIR/d$i"; }
subnet_of() { weft_at "$1" status --json | sed -n 's/.*"subnet": *"\([0-9.]*\)\.0\/24".*/\1/p'; }

e2e_log "founding the cluster on P"
token=$("$WEFT" init --data-dir "$E2E_DIR/d0" --name p --advertise "${IP[0]}:51821" | tail -n1)
start_agent 0
for i in 1 2 3; do
  mkdir -p "$E2E_DIR/d$i"
  start_agent "$i" --token "$token" --name "${NAME[$i]}"
done

all_alive() {  # I: machine I sees 4 members alive, each with a subnet
  local m
  m=$(weft_at "$1" members --json) || return 1
  [ "$(grep -o '"state": "alive"' <<<"$m" | wc -l)" -eq 4 ] && [ "$(grep -o '"subnet": "10\.210\.' <<<"$m" | wc -l)" -eq 4 ]
}
for i in 0 1 2 3; do wait_for 60 "${NAME[$i]} sees 4 live members with subnets" all_alive "$i"; done
NET=()
for i in 0 1 2 3; do NET[$i]=$(subnet_of "$i"); [ -n "${NET[$i]}" ] || e2e_fail "${NAME[$i]} has no subnet"; done
e2e_log "control plane through the NATs: 4 live members everywhere; subnets ${NET[*]}"

ping_ok() { ip netns exec "$1" ping -c1 -W1 -q "$2"; }
for i in 1 2 3; do
  wait_for 60 "${NAME[$i]} pings p" ping_ok "${N[$i]}" "${NET[0]}.1"
  wait_for 60 "p pings ${NAME[$i]}" ping_ok "${N[0]}" "${NET[$i]}.1"
done
e2e_log "P and the machines behind NAT ping each other"

peer_path() {  # I NAME: "path endpoint" of machine I's peer NAME
  weft_at "$1" peers --json | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p["machine"] == sys.argv[1]:
        print(p["path"], p["endpoint"])' "$2"
}
is_direct_at() {  # I NAME ENDPOINT
  [ "$(peer_path "$1" "$2")" = "direct $3" ]
}
wait_for 60 "a pings c" ping_ok "${N[1]}" "${NET[3]}.1"
wait_for 60 "c pings a" ping_ok "${N[3]}" "${NET[1]}.1"
wait_for 30 "a's path to c is direct to RC's mapping" is_direct_at 1 c 203.0.113.30:51820
wait_for 30 "c's path to a is direct to RA's mapping" is_direct_at 3 a 203.0.113.10:51820
weft_at 1 peers
e2e_log "A-C direct through both NATs (hole punched)"

e2e_log "cutting P off the internet"
ip -n "${N[0]}" link set eth0 down
p_gone_at() {  # I: machine I no longer counts p as alive
  weft_at "$1" members --json | python3 -c '
import json, sys
m = [x for x in json.load(sys.stdin) if x["name"] == "p"]
sys.exit(0 if m and m[0]["state"] == "dead" else 1)'
}
wait_for 90 "a declares p dead" p_gone_at 1
wait_for 90 "c declares p dead" p_gone_at 3
ping_ok "${N[1]}" "${NET[3]}.1" >/dev/null || e2e_fail "a lost c when p went away"
ping_ok "${N[3]}" "${NET[1]}.1" >/dev/null || e2e_fail "c lost a when p went away"
alive_at() {  # I NAME
  weft_at "$1" members --json | python3 -c '
import json, sys
m = [x for x in json.load(sys.stdin) if x["name"] == sys.argv[1]]
sys.exit(0 if m and m[0]["state"] == "alive" else 1)' "$2"
}
alive_at 1 c || e2e_fail "a does not see c alive without p"
alive_at 3 a || e2e_fail "c does not see a alive without p"
e2e_log "without P, A and C still see each other and ping through the tunnel"
e2e_log "PASS"
