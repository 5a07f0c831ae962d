#!/usr/bin/env bash
# e2e: paths through NAT. usage: nat_paths.sh PATH/TO/weft
#   P (203.0.113.100) on the "internet" switch (203.0.113.0/24, TEST-NET-3);
#   A behind RA (eim), B behind RB (sym), C behind RC (eim), each on its own 192.168.x.0/24.
# All three join with P's address only. Checks:
#   - every machine sees four live members (the control plane works through the NATs);
#   - every pair pings every other's .1 through WireGuard;
#   - A-C is direct (hole punched through both NATs), A-B and B-C go through the relay on P,
#     and `weft peers` says so;
#   - a capture on P holds relay frames of WireGuard messages only: a ping payload from A to B
#     never shows in the clear;
#   - B's NAT turns endpoint-independent: B's paths move to direct;
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

start_agent() { local i=$1; shift; e2e_machine_agent "$i" "${N[$i]}" "${IP[$i]}" "$@"; }
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

is_relayed_at() {  # I NAME: machine I reaches NAME through the relay on p
  [ "$(weft_at "$1" peers --json | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p["machine"] == sys.argv[1]:
        print(p["path"], p.get("relay"))' "$2")" = "relay p" ]
}
for pair in "1 2" "2 1" "3 2" "2 3"; do
  set -- $pair
  wait_for 120 "${NAME[$1]} reaches ${NAME[$2]} through the relay on p" is_relayed_at "$1" "${NAME[$2]}"
  wait_for 30 "${NAME[$1]} pings ${NAME[$2]} (relayed)" ping_ok "${N[$1]}" "${NET[$2]}.1"
done
weft_at 2 peers
e2e_log "A-B and B-C relayed through P"

e2e_log "capturing on P while A pings B with a marker payload"
MARK=5eedf00d5eedf00d5eedf00d5eedf00d
ip netns exec "${N[0]}" tcpdump -i eth0 -U -w "$E2E_DIR/p.pcap" udp >/dev/null 2>&1 &
DUMP=$!
E2E_PIDS+=("$DUMP")
capturing() { [ -s "$E2E_DIR/p.pcap" ]; }
wait_for 10 "tcpdump on P writes its capture" capturing
ip netns exec "${N[1]}" ping -c 20 -i 0.05 -W 1 -p "$MARK" -q "${NET[2]}.1" >/dev/null || e2e_fail "relayed ping with the marker failed"
kill -INT "$DUMP"
wait "$DUMP" 2>/dev/null || true
python3 - "$E2E_DIR/p.pcap" "$MARK" <<'PY' || e2e_fail "the capture on P does not show only WireGuard ciphertext in relay frames"
import struct, sys
data = open(sys.argv[1], "rb").read()
mark = bytes.fromhex(sys.argv[2])
if mark in data:
    sys.exit("the marker payload crossed P in the clear")
relayed = 0
off = 24
link = struct.unpack("<I", data[20:24])[0]
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if link == 1:
        pkt = pkt[14:]  # Ethernet
    if len(pkt) < 28 or pkt[9] != 17:
        continue
    ihl = (pkt[0] & 15) * 4
    payload = pkt[ihl + 8:]
    if payload[:1] == b"\xd7":
        inner = payload[9:]
        # A WireGuard message: type 1-4, three reserved zero bytes.
        if len(inner) < 32 or inner[0] not in (1, 2, 3, 4) or inner[1:4] != b"\0\0\0":
            sys.exit("a relay frame on P does not carry a WireGuard message")
        relayed += 1
if relayed < 40:
    sys.exit(f"only {relayed} relay frames seen on P for 20 relayed pings")
print(f"{relayed} relay frames on P, all WireGuard messages; marker never in the clear")
PY
e2e_log "P carried only WireGuard ciphertext"

e2e_log "B's NAT becomes endpoint-independent"
e2e_nat_mode "${T}RB" eim
wait_for 180 "b's path to a moves to direct" is_direct_at 2 a 203.0.113.10:51820
wait_for 60 "b's path to c moves to direct" is_direct_at 2 c 203.0.113.30:51820
wait_for 30 "a's path to b is direct" is_direct_at 1 b 203.0.113.20:51820
wait_for 30 "b pings a directly" ping_ok "${N[2]}" "${NET[1]}.1"
weft_at 2 peers
e2e_log "B's paths are direct"

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
ping_ok "${N[2]}" "${NET[3]}.1" >/dev/null || e2e_fail "b lost c when p went away"
e2e_log "without P, A, B and C still see each other and ping through the tunnel"
e2e_log "PASS"
