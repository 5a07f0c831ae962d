#!/usr/bin/env bash
# e2e: a restarted agent never applies a partial peer set.
#   usage: wireguard_partial_view.sh PATH/TO/weft
# The WireGuard device of machine M outlives its agent here (a wireguard-go the test runs itself,
# used with --wireguard-go none: the situation of the kernel backend). M and the founder F form a
# mesh; both agents stop; M's agent restarts alone, so it knows nobody alive and cannot sync. It
# must configure its host networking but leave F's peer on the device. When F comes back, M syncs
# and the tunnel carries traffic again: the hold was the sync gate, nothing else.
source "$(dirname "$0")/lib.sh"
WEFT=$(realpath "$1")
e2e_init wireguard-partial-view
SW=${E2E_TAG}sw F=${E2E_TAG}f M=${E2E_TAG}m
e2e_switch "$SW"
e2e_ns "$F"; e2e_plug "$SW" "$F" eth0 198.51.100.20/24
e2e_ns "$M"; e2e_plug "$SW" "$M" eth0 198.51.100.21/24

# M's WireGuard daemon, owned by the test.
ip netns exec "$M" sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec env WG_PROCESS_FOREGROUND=1 wireguard-go -f weft' \
  >"$E2E_DIR/m-wireguard-go.log" 2>&1 &
WGM=$!
E2E_PIDS+=("$WGM")
sock_ok() { nsenter -t "$WGM" -m test -S /run/wireguard/weft.sock; }
wait_for 10 "M's wireguard-go socket" sock_ok

start_f() {
  e2e_agent "$F" "$E2E_DIR/f" 198.51.100.20:51821 "$E2E_DIR/f.log" --docker off
  FPID=$E2E_LAST_PID
}
start_m() {  # [args]
  nsenter -t "$WGM" -m -n "$WEFT" agent --data-dir "$E2E_DIR/m" --bind 198.51.100.21:51821 --wg-backend userspace \
    --wireguard-go none --dns-upstream none --docker off "$@" >>"$E2E_DIR/m.log" 2>&1 &
  MPID=$!
  E2E_PIDS+=("$MPID")
}
metric() {  # DATADIR NAME
  curl -s --unix-socket "$1/api.sock" http://weft/metrics | awk -v n="$2" '$1==n {print $2}'
}
alive2() { [ "$("$WEFT" members --json --data-dir "$1" | grep -c '"state": "alive"')" -eq 2 ]; }
mesh_address() { "$WEFT" status --json --data-dir "$1" | sed -n 's/.*"mesh_address": *"\([0-9.]*\)".*/\1/p'; }

token=$("$WEFT" init --data-dir "$E2E_DIR/f" --name f --advertise 198.51.100.20:51821 | tail -n1)
start_f
mkdir -p "$E2E_DIR/m"
start_m --token "$token" --name m
wait_for 60 "F and M see each other alive" alive2 "$E2E_DIR/m"
has_address() { [ -n "$(mesh_address "$1")" ]; }
wait_for 60 "F has a mesh address" has_address "$E2E_DIR/f"
FADDR=$(mesh_address "$E2E_DIR/f")
ping_f() { ip netns exec "$M" ping -c1 -W1 -q "$FADDR"; }
wait_for 60 "M pings F's $FADDR through the tunnel" ping_f
before=$(nsenter -t "$WGM" -m -n wg show weft peers)
[ "$(wc -l <<<"$before")" -eq 1 ] || e2e_fail "M's device should hold F's peer only: $before"
e2e_log "mesh up; M's device holds F's peer $before"

kill -TERM "$MPID" "$FPID"
wait "$MPID" || e2e_fail "M's agent failed to stop cleanly"
wait "$FPID" || e2e_fail "F's agent failed to stop cleanly"
[ "$(nsenter -t "$WGM" -m -n wg show weft peers)" = "$before" ] || e2e_fail "M's device lost its peer when the agent stopped"

e2e_log "restarting M alone: nobody to sync with"
start_m
held() {
  [ "$(metric "$E2E_DIR/m" weft_wg_host_configured)" = 1 ] &&
    [ "$(metric "$E2E_DIR/m" weft_seed_connect_failures_total)" -ge 3 ]
}
wait_for 60 "M configures its host side and fails to reach F 3 times" held
after=$(nsenter -t "$WGM" -m -n wg show weft peers)
[ "$after" = "$before" ] || e2e_fail "M changed its peers from a partial view: before '$before', after '$after'"
[ "$(metric "$E2E_DIR/m" weft_wg_peer_updates_total)" = 0 ] || e2e_fail "M sent peer updates before any sync"
[ "$(metric "$E2E_DIR/m" weft_wg_reconciles_held_total)" -ge 1 ] || e2e_fail "M does not report its held peer plan"
e2e_log "M held its peers while alone ($(metric "$E2E_DIR/m" weft_seed_connect_failures_total) failed connections to F)"

start_f
wait_for 60 "M and F see each other alive again" alive2 "$E2E_DIR/m"
wait_for 60 "M pings F again" ping_f
[ "$(nsenter -t "$WGM" -m -n wg show weft peers)" = "$before" ] || e2e_fail "F's peer changed after the sync"
e2e_log "PASS"
