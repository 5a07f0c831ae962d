#!/usr/bin/env bash
# The demo: a real weft mesh in network namespaces on this machine.
#   scripts/demo.sh          install, build, start the mesh, show it, keep it running until Ctrl-C
#   scripts/demo.sh --down   remove a mesh left by an earlier run (namespaces, agents, files)
# Three machines (namespaces weft-m0..m2) on one LAN (198.51.100.0/24, a documentation range),
# each running `weft agent` with userspace WireGuard (wireguard-go); m1 and m2 join with m0's
# address only. A "container" (namespace weft-api on m1's bridge) serves HTTP as service `api`.
# Machines behind NAT and Docker containers come with the NAT and container work (issues 7, 8).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=/run/weft-demo
NSS=(weft-lan weft-m0 weft-m1 weft-m2 weft-api)

down() {
  set +e
  if [ -f $STATE/pids ]; then
    while read -r pid; do kill -TERM "$pid" 2>/dev/null; done <$STATE/pids
    while read -r pid; do
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    done <$STATE/pids
  fi
  for ns in "${NSS[@]}"; do
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  rmdir /etc/netns 2>/dev/null
  rm -rf $STATE
}
if [ "${1:-}" = "--down" ]; then
  down
  echo "demo mesh removed"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "the demo needs root (network namespaces)" >&2; exit 1; }
[ -e $STATE ] && { echo "a demo is already running (or left behind): scripts/demo.sh --down" >&2; exit 1; }

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target weft weft-sim
WEFT=$(realpath build/weft)
umask 077
mkdir -p $STATE /run/wireguard
trap 'echo; echo "stopping the demo"; down' EXIT
trap 'exit 0' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; eval "$@"; }
wait_for() {  # SECONDS WHAT CMD...
  local deadline=$(( $(date +%s) + $1 )) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out waiting for: $what" >&2; exit 1; }
    sleep 0.2
  done
}

step "a LAN and three machines (network namespaces)"
ip netns add weft-lan
ip -n weft-lan link set lo up
ip -n weft-lan link add br0 type bridge
ip -n weft-lan link set br0 up
for i in 0 1 2; do
  ip netns add weft-m$i
  ip -n weft-m$i link set lo up
  ip link add eth0 netns weft-m$i type veth peer name m$i netns weft-lan
  ip -n weft-lan link set m$i master br0 up
  ip -n weft-m$i addr add 198.51.100.1$i/24 dev eth0
  ip -n weft-m$i link set eth0 up
done
echo "weft-m0 198.51.100.10, weft-m1 198.51.100.11, weft-m2 198.51.100.12"

start_agent() {  # I [args]
  local i=$1
  shift
  # Each machine gets its own /run/wireguard (the UAPI socket path is global otherwise).
  ip netns exec weft-m$i sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec "$0" "$@"' "$WEFT" agent \
    --data-dir $STATE/m$i --bind 198.51.100.1$i:51821 --wg-backend userspace --dns-upstream none --docker off "$@" \
    >$STATE/m$i.log 2>&1 &
  echo $! >>$STATE/pids
}
step "weft init on m0, weft agent on every machine (m1 and m2 know only m0's address)"
show "$WEFT init --data-dir $STATE/m0 --name m0 --advertise 198.51.100.10:51821 | tail -n1 > $STATE/token"
start_agent 0
for i in 1 2; do
  mkdir -p $STATE/m$i
  start_agent $i --name m$i --token "$(cat $STATE/token)"
done
mesh_address() { "$WEFT" status --json --data-dir $STATE/m$1 | sed -n 's/.*"mesh_address": *"\([0-9.]*\)".*/\1/p'; }
ready() { [ -n "$(mesh_address "$1")" ]; }
for i in 0 1 2; do wait_for 60 "m$i's /24" ready $i; done
A0=$(mesh_address 0) A1=$(mesh_address 1) A2=$(mesh_address 2)
pings() { ip netns exec weft-m0 ping -c1 -W1 -q "$A1" && ip netns exec weft-m0 ping -c1 -W1 -q "$A2" &&
  ip netns exec weft-m1 ping -c1 -W1 -q "$A2"; }
wait_for 60 "the tunnels" pings

step "a container on m1's bridge serving HTTP, registered as service api"
NET1=${A1%.1}
ip netns add weft-api
ip -n weft-api link set lo up
ip link add eth0 netns weft-api type veth peer name vapi netns weft-m1
ip -n weft-m1 link set vapi master weft-br up
ip -n weft-api addr add "$NET1.2/24" dev eth0
ip -n weft-api link set eth0 up
ip -n weft-api route add default via "$A1"
mkdir -p $STATE/www
echo "hello from the api container on m1 ($NET1.2)" >$STATE/www/index.html
chmod -R a+rX $STATE/www
ip netns exec weft-api busybox httpd -f -p 80 -h $STATE/www &
echo $! >>$STATE/pids
show "$WEFT service add api $NET1.2:80 --port-name http --data-dir $STATE/m1"

step "what the mesh looks like"
show "$WEFT members --data-dir $STATE/m0"
show "$WEFT peers --data-dir $STATE/m0"
show "ip netns exec weft-m0 ping -c2 -q $A2 | tail -n2"
# m0 resolves through its own .1 (ip netns exec bind-mounts /etc/netns/NS/resolv.conf).
mkdir -p /etc/netns/weft-m0
echo "nameserver $A0" >/etc/netns/weft-m0/resolv.conf
resolves() { [ -n "$(ip netns exec weft-m0 dig +short +time=1 +tries=1 @"$A0" api.internal)" ]; }
wait_for 30 "api.internal in m0's DNS" resolves
show "ip netns exec weft-m0 dig +short @$A0 api.internal"
show "ip netns exec weft-m0 dig +short @$A0 SRV _http._tcp.api.internal"
show "ip netns exec weft-m0 dig +short @$A0 m2.m.internal"
show "ip netns exec weft-m0 curl -s http://api.internal/"

step "the simulator: 50 machines, a partition and its heal, same cores in virtual time"
show "build/weft-sim --scenario partition-heal --nodes 50 --seed 1"

step "running; try the commands above (data dirs under $STATE). Ctrl-C (or scripts/demo.sh --down) removes everything"
sleep infinity &
echo $! >>$STATE/pids  # --down from another shell ends this wait too
wait $! || true
