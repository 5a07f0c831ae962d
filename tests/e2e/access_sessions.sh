#!/usr/bin/env bash
# e2e: access sessions, short-lived WireGuard tunnels for outside clients.
#   usage: access_sessions.sh PATH/TO/weft
# Machines m0, m1 (namespaces h0, h1) form a mesh on a LAN; two renters r1, r2 are plain hosts
# on the same LAN running wireguard-go with the config `weft access grant` printed on m0, set up
# as wg-quick would (wg setconf, address, routes). Each renter widens its AllowedIPs to the whole
# cluster network and access range, as a renter probing for more would: only m0's firewall
# stands between it and the rest. Checks:
#   - bad grants (zero TTL, malformed key, a target in the access range, an unknown service,
#     an unknown id to revoke, a local route into the access range) fail with a message and
#     change nothing;
#   - r1 (granted m0's .1:8080) reaches it, but not m0's .1:9090, not m1, not r2;
#   - r2 (granted m1's .1:8080, on another machine) reaches it through m0, not m0's services;
#   - the renters do not reach each other (a listener on r2 answers m0, not r1);
#   - `weft access ls` and the audit log show the grants and first handshakes;
#   - a session granted with --pubkey gets a placeholder config, and revoke removes its peer;
#   - r1's TTL passes: its peer leaves m0's device, its traffic stops, the audit log says so;
#   - m0's agent is killed -9 during r2's session and restarted after r2's expiry: once the
#     mesh peer is back on the device, r2's peer is not, and r2's traffic stays cut.
source "$(dirname "$0")/lib.sh"
WEFT=$(realpath "$1")
e2e_init access-sessions
SW=${E2E_TAG}sw
H=(${E2E_TAG}h0 ${E2E_TAG}h1)
IP=(198.51.100.10 198.51.100.11)
R=(${E2E_TAG}r1 ${E2E_TAG}r2)
RIP=(198.51.100.21 198.51.100.22)
declare -a AGENT

e2e_switch "$SW"
for i in 0 1; do
  e2e_ns "${H[$i]}"
  e2e_plug "$SW" "${H[$i]}" eth0 "${IP[$i]}/24"
done
for i in 0 1; do
  e2e_ns "${R[$i]}"
  e2e_plug "$SW" "${R[$i]}" eth0 "${RIP[$i]}/24"
done

start_agent() { local i=$1; shift; e2e_machine_agent "$i" "${H[$i]}" "${IP[$i]}" "$@"; }
wg_at() { local i=$1; shift; nsenter -t "${AGENT[$i]}" -m -n wg "$@"; }
subnet_of() { weft_at "$1" status --json | sed -n 's/.*"subnet": *"\([0-9.]*\)\.0\/24".*/\1/p'; }
now_ms() { date +%s%3N; }

e2e_log "founding the cluster on m0, m1 joins"
token=$("$WEFT" init --data-dir "$E2E_DIR/d0" --name m0 --advertise "${IP[0]}:51821" | tail -n1)
start_agent 0
mkdir -p "$E2E_DIR/d1"
start_agent 1 --token "$token" --name m1
ping_ok() { ip netns exec "$1" ping -c1 -W1 -q "$2"; }
both_up() { [ -n "$(subnet_of 0)" ] && [ -n "$(subnet_of 1)" ]; }
wait_for 60 "both machines have a subnet" both_up
NET=("$(subnet_of 0)" "$(subnet_of 1)")
wait_for 60 "m0 pings m1's .1 through the mesh" ping_ok "${H[0]}" "${NET[1]}.1"
e2e_log "subnets: ${NET[*]}"

# Services: m0 serves 8080 (granted to r1) and 9090 (granted to nobody), m1 serves 8080 (r2's).
serve() {  # NS ADDR:PORT TEXT
  local dir
  dir=$(mktemp -d "$E2E_DIR/www.XXXXXX")
  echo "$3" >"$dir/index.html"
  ip netns exec "$1" busybox httpd -f -p "$2" -h "$dir" &
  E2E_PIDS+=("$!")
}
serve "${H[0]}" "${NET[0]}.1:8080" m0-8080
serve "${H[0]}" "${NET[0]}.1:9090" m0-9090
serve "${H[1]}" "${NET[1]}.1:8080" m1-8080
get() { ip netns exec "$1" curl -s --max-time 2 "http://$2/"; }
answers() { [ "$(get "$1" "$2")" = "$3" ]; }
wait_for 20 "m1 reaches m0's 9090 over the mesh (the service is up)" answers "${H[1]}" "${NET[0]}.1:9090" m0-9090
wait_for 20 "m0 reaches m1's 8080 over the mesh" answers "${H[0]}" "${NET[1]}.1:8080" m1-8080

e2e_log "bad grants fail and change nothing"
refused() {  # EXPECTED-TEXT ARGS...: weft access ... fails and says EXPECTED-TEXT
  local want=$1 out
  shift
  if out=$(weft_at 0 access "$@" 2>&1); then e2e_fail "weft access $* succeeded: $out"; fi
  grep -q -- "$want" <<<"$out" || e2e_fail "weft access $* said '$out', want '$want'"
}
refused "zero" grant --ttl 0s
refused "longer than 30 days" grant --ttl 31d
refused "not a WireGuard public key" grant --pubkey 'not-a-key'
refused "access range" grant --to 10.77.0.9
refused "no service nosuch" grant --to nosuch
refused "no access session" revoke 0123456789abcdef
[ "$(weft_at 0 access ls --json | grep -c '"id"')" -eq 0 ] || e2e_fail "a refused grant left a session behind"
[ ! -e "$E2E_DIR/d0/access-audit.jsonl" ] || e2e_fail "a refused grant was audited: $(cat "$E2E_DIR/d0/access-audit.jsonl")"

e2e_log "granting r1 (m0's 8080, 40 s) and r2 (m1's 8080, 80 s)"
weft_at 0 access grant --ttl 40s --name r1 --to "${NET[0]}.1:8080" --out "$E2E_DIR/r1.conf"
weft_at 0 access grant --ttl 80s --name r2 --to "${NET[1]}.1:8080" --out "$E2E_DIR/r2.conf"
[ "$(stat -c %a "$E2E_DIR/r1.conf")" = 600 ] || e2e_fail "the config file is not 0600"
grep -q "^AllowedIPs = ${NET[0]}.1/32$" "$E2E_DIR/r1.conf" || e2e_fail "r1's config: $(cat "$E2E_DIR/r1.conf")"
grep -q "^Endpoint = ${IP[0]}:51820$" "$E2E_DIR/r1.conf" || e2e_fail "r1's config names no endpoint on m0: $(cat "$E2E_DIR/r1.conf")"
r1_priv=$(sed -n 's/^PrivateKey = //p' "$E2E_DIR/r1.conf")
if grep -rq -- "$r1_priv" "$E2E_DIR/d0" "$E2E_DIR/agent0.log"; then e2e_fail "r1's private key is stored on m0"; fi

# A renter as wg-quick would set it up, but with AllowedIPs widened to everything of the mesh.
renter_up() {  # I
  local ns=${R[$1]} conf="$E2E_DIR/r$(($1 + 1)).conf" plain="$E2E_DIR/r$(($1 + 1)).wg" address
  address=$(sed -n 's/^Address = //p' "$conf")
  grep -v '^Address' "$conf" | sed 's|^AllowedIPs = .*|AllowedIPs = 10.210.0.0/16, 10.77.0.0/16|' >"$plain"
  ip netns exec "$ns" sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec wireguard-go -f wg0' \
    >>"$E2E_DIR/renter$1.log" 2>&1 &
  RENTER[$1]=$!
  E2E_PIDS+=("$!")
  wait_for 10 "r$(($1 + 1))'s wireguard-go is up" nsenter -t "${RENTER[$1]}" -m -n wg show wg0
  nsenter -t "${RENTER[$1]}" -m -n wg setconf wg0 "$plain"
  ip -n "$ns" addr add "$address" dev wg0
  ip -n "$ns" link set wg0 mtu 1420 up
  ip -n "$ns" route add 10.210.0.0/16 dev wg0
  ip -n "$ns" route add 10.77.0.0/16 dev wg0
}
declare -a RENTER
renter_up 0
renter_up 1
R_ADDR=("$(sed -n 's/^Address = \(.*\)\/32/\1/p' "$E2E_DIR/r1.conf")" "$(sed -n 's/^Address = \(.*\)\/32/\1/p' "$E2E_DIR/r2.conf")")
e2e_log "renters up: r1 ${R_ADDR[0]}, r2 ${R_ADDR[1]}"

wait_for 20 "r1 reaches m0's 8080 through its tunnel" answers "${R[0]}" "${NET[0]}.1:8080" m0-8080
wait_for 20 "r2 reaches m1's 8080 through m0" answers "${R[1]}" "${NET[1]}.1:8080" m1-8080
not_reached() {  # NS ADDR:PORT
  local out
  out=$(get "$1" "$2") && e2e_fail "$1 reached $2, which it was not granted: $out"
  return 0
}
not_reached "${R[0]}" "${NET[0]}.1:9090"
not_reached "${R[0]}" "${NET[1]}.1:8080"
not_reached "${R[1]}" "${NET[0]}.1:8080"
not_reached "${R[1]}" "${NET[0]}.1:9090"
ping_ok "${R[0]}" "${NET[1]}.1" >/dev/null && e2e_fail "r1 pings m1, which it was not granted"
e2e_log "each renter reaches what it was granted and nothing else of the mesh"

serve "${R[1]}" "${R_ADDR[1]}:8080" r2-listener
wait_for 20 "m0 reaches r2's listener through r2's tunnel (the listener works)" answers "${H[0]}" "${R_ADDR[1]}:8080" r2-listener
not_reached "${R[0]}" "${R_ADDR[1]}:8080"
ping_ok "${R[0]}" "${R_ADDR[1]}" >/dev/null && e2e_fail "r1 pings r2"
ping_ok "${R[1]}" "${R_ADDR[0]}" >/dev/null && e2e_fail "r2 pings r1"
e2e_log "the renters do not reach each other"

r1_key=$(awk '/^PrivateKey/ {print $3}' "$E2E_DIR/r1.conf" | wg pubkey)
r2_key=$(awk '/^PrivateKey/ {print $3}' "$E2E_DIR/r2.conf" | wg pubkey)
both_handshaken() {
  local ls
  ls=$(weft_at 0 access ls --json)
  [ "$(grep -c '"first_handshake": "20' <<<"$ls")" -eq 2 ] && [ "$(grep -c '"event":"first_handshake"' "$E2E_DIR/d0/access-audit.jsonl")" -eq 2 ]
}
wait_for 20 "weft access ls and the audit log show both first handshakes" both_handshaken
[ "$(grep -c '"event":"grant"' "$E2E_DIR/d0/access-audit.jsonl")" -eq 2 ] || e2e_fail "audit log: $(cat "$E2E_DIR/d0/access-audit.jsonl")"
[ "$(stat -c %a "$E2E_DIR/d0/access-audit.jsonl")" = 600 ] || e2e_fail "the audit log is not 0600"
weft_at 0 access ls

e2e_log "a session for a client that brings its own key, then revoked"
own_key=$(wg genkey | wg pubkey)
out=$(weft_at 0 access grant --ttl 10m --name byok --pubkey "$own_key" --qr)
grep -q '^PrivateKey = <your private key>$' <<<"$out" || e2e_fail "with --pubkey the config holds a private key: $out"
grep -q '█' <<<"$out" || e2e_fail "--qr printed no QR code"
wait_for 10 "the byok peer is on m0's device" grep -q "$own_key" <(wg_at 0 show weft peers)
byok_id=$(weft_at 0 access ls --json | tr -d ' \n' | grep -o '{[^}]*"label":"byok"[^}]*}' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
[ -n "$byok_id" ] || e2e_fail "no id for the byok session: $(weft_at 0 access ls --json)"
weft_at 0 access revoke "$byok_id"
peer_gone() { ! wg_at 0 show weft peers | grep -q -- "$1"; }
wait_for 5 "the revoked peer leaves m0's device" peer_gone "$own_key"
grep -q "\"event\":\"revoke\".*\"session\":\"$byok_id\"\|\"session\":\"$byok_id\".*\"event\":\"revoke\"" "$E2E_DIR/d0/access-audit.jsonl" ||
  e2e_fail "the revoke is not in the audit log"

e2e_log "waiting for r1's TTL"
wait_for 60 "r1's peer leaves m0's device after its TTL" peer_gone "$r1_key"
wg_at 0 show weft peers | grep -q -- "$r2_key" || e2e_fail "r2's peer went with r1's"
not_reached "${R[0]}" "${NET[0]}.1:8080"
expire_line=$(grep '"event":"expire"' "$E2E_DIR/d0/access-audit.jsonl" | head -n1)
[ -n "$expire_line" ] || e2e_fail "r1's expiry is not in the audit log"
grep -q '"rx_bytes":[1-9]' <<<"$expire_line" || e2e_fail "r1's expiry audits no bytes received: $expire_line"
e2e_log "r1 expired and is cut off; audit: $expire_line"

e2e_log "kill -9 of m0's agent during r2's session; restart after r2's expiry"
r2_expires=$(weft_at 0 access ls --json | tr -d ' \n' | grep -o '{[^}]*"label":"r2"[^}]*}' | sed -n 's/.*"expires_ms":\([0-9]*\).*/\1/p')
[ -n "$r2_expires" ] || e2e_fail "no expiry for r2: $(weft_at 0 access ls --json)"
[ "$(now_ms)" -lt "$r2_expires" ] || e2e_fail "r2 expired before the kill (the machine is too slow for this test's TTLs)"
kill -KILL "${AGENT[0]}"
wait "${AGENT[0]}" 2>/dev/null || true
past_expiry() { [ "$(now_ms)" -gt "$((r2_expires + 1000))" ]; }
wait_for 90 "r2's expiry passes while m0's agent is down" past_expiry
start_agent 0
m1_key=$(wg_at 1 show weft public-key 2>/dev/null || true)
mesh_back() { wg_at 0 show weft peers | grep -q -- "$m1_key"; }
[ -n "$m1_key" ] || e2e_fail "no public key on m1's device"
wait_for 60 "m0's restarted agent puts m1's peer back" mesh_back
wait_for 20 "the restarted m0 audits r2's expiry" grep -q '"label":"r2".*"event":"expire"\|"event":"expire".*"label":"r2"' "$E2E_DIR/d0/access-audit.jsonl"
peer_gone "$r2_key" || e2e_fail "the restarted m0 put back r2's expired peer"
not_reached "${R[1]}" "${NET[1]}.1:8080"
wait_for 20 "m0 reaches m1's 8080 again (the mesh works after the restart)" answers "${H[0]}" "${NET[1]}.1:8080" m1-8080
[ "$(weft_at 0 access ls --json | grep -c '"live": true')" -eq 0 ] || e2e_fail "sessions still live: $(weft_at 0 access ls --json)"
e2e_log "a local route into the access range: grant refuses and changes nothing"
ip -n "${H[1]}" route add 10.77.250.0/24 dev eth0
out=$(weft_at 1 access grant --ttl 1h --to "${NET[1]}.1:8080" 2>&1) && e2e_fail "m1 granted a session over a conflicting route: $out"
grep -q "overlaps the local route 10.77.250.0/24" <<<"$out" || e2e_fail "m1's refusal does not name the route: $out"
[ "$(weft_at 1 access ls --json | grep -c '"id"')" -eq 0 ] || e2e_fail "the refused grant left a session on m1"
e2e_log "expired sessions stay gone across a kill -9; audit log:"
cat "$E2E_DIR/d0/access-audit.jsonl"
e2e_log "PASS"
