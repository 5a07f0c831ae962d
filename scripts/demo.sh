#!/usr/bin/env bash
# The demo: a real weft mesh in network namespaces on this machine.
#   scripts/demo.sh          install, build, start the mesh, show it, keep it running until Ctrl-C
#   scripts/demo.sh --down   remove a mesh left by an earlier run (namespaces, agents, files)
#   scripts/demo.sh --check  the same mesh and steps, each answer checked; then it removes
#                            everything and exits (0: every step worked). ctest's e2e.demo runs
#                            this with WEFT_BIN_DIR set to its build (no apt, no build here).
# An "internet" switch (203.0.113.0/24, TEST-NET-3) with three machines, each a network
# namespace running `weft agent` with userspace WireGuard (wireguard-go):
#   m0 on the switch itself (public, 203.0.113.10), founds the cluster;
#   m1 behind router r1, an endpoint-independent NAT (most home routers), LAN 192.168.1.0/24;
#   m2 behind router r2, a symmetric NAT (a new port per destination), LAN 192.168.2.0/24.
# m1 and m2 join with m0's address only. m0-m1 and m0-m2 are direct, m1-m2 goes through the
# relay on m0 (nothing can punch through a symmetric NAT to an endpoint-dependent filter). A
# container serves HTTP as service `api` on m1: a real Docker container (dockerd runs inside
# m1's namespace, image imported from busybox-static, labels weft.service=api and
# weft.port=http:80/tcp, registered by m1's agent) when dockerd is installed, else a namespace
# on m1's bridge registered with `weft service add`.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=/run/weft-demo
# Switch, NAT routers and hosts come from the e2e tests' helpers (tests/e2e/lib.sh).
source tests/e2e/lib.sh
exec 3>&2
E2E_NSS=()

down() {
  set +e
  # dockerd first (it holds the container's namespace and the shims); containers go with it.
  if [ -f $STATE/docker/docker.pid ]; then
    E2E_DOCKERD=$(cat $STATE/docker/docker.pid) E2E_DOCKER_DIR=$STATE/docker E2E_DOCKER_SOCK=$STATE/docker/docker.sock
    e2e_docker_stop
  fi
  if [ -f $STATE/pids ]; then
    while read -r pid; do kill -TERM "$pid" 2>/dev/null; done <$STATE/pids
    while read -r pid; do
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    done <$STATE/pids
  fi
  local ns
  for ns in $(cat $STATE/namespaces 2>/dev/null) "${E2E_NSS[@]}"; do
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  rmdir /etc/netns 2>/dev/null
  rm -rf $STATE
}
CHECK=0
case "${1:-}" in
  --down) down; echo "demo mesh removed"; exit 0 ;;
  --check) CHECK=1 ;;
  "") ;;
  *) echo "usage: $0 [--down | --check]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "the demo needs root (network namespaces)" >&2; exit 1; }
[ -e $STATE ] && { echo "a demo is already running (or left behind): scripts/demo.sh --down" >&2; exit 1; }

if [ -n "${WEFT_BIN_DIR:-}" ]; then
  BIN=$(realpath "$WEFT_BIN_DIR")
  [ -x "$BIN/weft" ] && [ -x "$BIN/weft-sim" ] || { echo "WEFT_BIN_DIR=$WEFT_BIN_DIR: no weft and weft-sim there" >&2; exit 1; }
else
  bash scripts/install-deps.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$(nproc)" --target weft weft-sim
  BIN=$(realpath build)
fi
WEFT=$BIN/weft
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

step "an internet switch, a public machine and two machines behind NAT routers (network namespaces)"
IP=(203.0.113.10 192.168.1.2 192.168.2.2)
e2e_switch weft-inet
e2e_ns weft-m0
e2e_plug weft-inet weft-m0 eth0 "${IP[0]}/24"
e2e_nat_router weft-inet weft-r1 weft-m1 203.0.113.11 192.168.1 eim
e2e_nat_router weft-inet weft-r2 weft-m2 203.0.113.12 192.168.2 sym
printf "%s\n" "${E2E_NSS[@]}" >$STATE/namespaces
echo "m0 ${IP[0]} (public); m1 ${IP[1]} behind r1 (endpoint-independent NAT, 203.0.113.11);"
echo "m2 ${IP[2]} behind r2 (symmetric NAT, 203.0.113.12)"

start_agent() {  # I [args]
  local i=$1
  shift
  # Each machine gets its own /run/wireguard (the UAPI socket path is global otherwise).
  ip netns exec weft-m$i sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec "$0" "$@"' "$WEFT" agent \
    --data-dir $STATE/m$i --bind ${IP[$i]}:51821 --wg-backend userspace --dns-upstream none "$@" \
    >$STATE/m$i.log 2>&1 &
  echo $! >>$STATE/pids
}
# m1 runs dockerd when it is installed; its agent then watches it.
DOCKER=0
docker_m1=(--docker off)
if command -v dockerd >/dev/null && command -v busybox >/dev/null; then
  step "dockerd inside m1 (its own network and mount namespace, state under $STATE/docker)"
  e2e_dockerd weft-m1 $STATE/docker $STATE/dockerd.log
  e2e_docker_busybox_image
  DOCKER=1
  docker_m1=(--docker-host "unix://$E2E_DOCKER_SOCK")
  echo "dockerd $(dockerd --version | sed 's/^Docker version //'); image weft-test/busybox:1 imported"
fi
step "weft init on m0, weft agent on every machine (m1 and m2 know only m0's address)"
show "$WEFT init --data-dir $STATE/m0 --name m0 --advertise ${IP[0]}:51821 | tail -n1 > $STATE/token"
start_agent 0 --docker off
mkdir -p $STATE/m1 $STATE/m2
start_agent 1 --name m1 --token "$(cat $STATE/token)" "${docker_m1[@]}"
start_agent 2 --name m2 --token "$(cat $STATE/token)" --docker off
mesh_address() { "$WEFT" status --json --data-dir $STATE/m$1 | sed -n 's/.*"mesh_address": *"\([0-9.]*\)".*/\1/p'; }
ready() { [ -n "$(mesh_address "$1")" ]; }
for i in 0 1 2; do wait_for 60 "m$i's /24" ready $i; done
A0=$(mesh_address 0) A1=$(mesh_address 1) A2=$(mesh_address 2)
pings() { ip netns exec weft-m0 ping -c1 -W1 -q "$A1" && ip netns exec weft-m0 ping -c1 -W1 -q "$A2" &&
  ip netns exec weft-m1 ping -c1 -W1 -q "$A2" && ip netns exec weft-m2 ping -c1 -W1 -q "$A1"; }
wait_for 120 "the tunnels (m0-m1, m0-m2, m1-m2)" pings
# m1 and m2 settle on the relay once their hole punch has failed (a few attempts, tens of seconds).
path_of() {  # I NAME: "direct" or "relay" in machine I's view of NAME
  "$WEFT" peers --json --data-dir $STATE/m$1 | python3 -c '
import json, sys
print(next((p["path"] for p in json.load(sys.stdin) if p["machine"] == sys.argv[1]), ""))' "$2"
}
relayed() { [ "$(path_of 1 m2)" = relay ] && [ "$(path_of 2 m1)" = relay ]; }
wait_for 180 "m1 and m2 to settle on the relay through m0" relayed

NET1=${A1%.1}
mkdir -p $STATE/www
if [ "$DOCKER" = 1 ]; then
  step "a Docker container on m1 serving HTTP, labelled weft.service=api: m1's agent registers it"
  echo "hello from the api container on m1 (Docker)" >$STATE/www/index.html
  chmod -R a+rX $STATE/www
  network() { e2e_docker_api http://docker/v1.41/networks/weft | grep -q "\"Subnet\":\"$NET1.0/24\""; }
  wait_for 60 "m1's agent to create the Docker network weft on $NET1.0/24" network
  e2e_docker_run api-1 '{"Image":"weft-test/busybox:1","Cmd":["httpd","-f","-p","80","-h","/www"],
    "Labels":{"weft.service":"api","weft.port":"http:80/tcp"},
    "HostConfig":{"NetworkMode":"weft","Binds":["'"$STATE/www"':/www:ro"]}}' >/dev/null
  echo "\$ docker -H unix://$E2E_DOCKER_SOCK run -d --network weft -l weft.service=api -l weft.port=http:80/tcp \\"
  echo "    -v $STATE/www:/www:ro weft-test/busybox:1 httpd -f -p 80 -h /www"
else
  step "a container on m1's bridge serving HTTP, registered as service api (dockerd is not installed)"
  e2e_ns weft-api
  echo weft-api >>$STATE/namespaces
  ip link add eth0 netns weft-api type veth peer name vapi netns weft-m1
  ip -n weft-m1 link set vapi master weft-br up
  ip -n weft-api addr add "$NET1.2/24" dev eth0
  ip -n weft-api link set eth0 up
  ip -n weft-api route add default via "$A1"
  echo "hello from the api container on m1 ($NET1.2)" >$STATE/www/index.html
  chmod -R a+rX $STATE/www
  ip netns exec weft-api busybox httpd -f -p 80 -h $STATE/www &
  echo $! >>$STATE/pids
  show "$WEFT service add api $NET1.2:80 --port-name http --data-dir $STATE/m1"
fi

step "what the mesh looks like"
show "$WEFT members --data-dir $STATE/m0"
show "$WEFT peers --data-dir $STATE/m1    # m0 direct (through r1's mapping), m2 through the relay on m0"
show "$WEFT peers --data-dir $STATE/m2    # behind the symmetric NAT: m0 direct, m1 relayed"
show "ip netns exec weft-m0 ping -c2 -q $A2 | tail -n2"
# Each machine resolves through its own .1 (ip netns exec bind-mounts /etc/netns/NS/resolv.conf).
for i in 0 2; do
  mkdir -p /etc/netns/weft-m$i
  eval "echo nameserver \$A$i" >/etc/netns/weft-m$i/resolv.conf
done
resolves() { [ -n "$(ip netns exec weft-m$1 dig +short +time=1 +tries=1 @"$2" api.internal)" ]; }
wait_for 30 "api.internal in m0's DNS" resolves 0 "$A0"
wait_for 30 "api.internal in m2's DNS" resolves 2 "$A2"
show "ip netns exec weft-m0 dig +short @$A0 api.internal"
show "ip netns exec weft-m0 dig +short @$A0 SRV _http._tcp.api.internal"
show "ip netns exec weft-m0 dig +short @$A0 m2.m.internal"
show "ip netns exec weft-m0 curl -s http://api.internal/    # m0 -> m1, direct"
show "ip netns exec weft-m2 curl -s http://api.internal/    # m2 -> m1, symmetric NAT to NAT, relayed by m0"

step "the simulator: 50 machines, a partition and its heal, same cores in virtual time"
show "$BIN/weft-sim --scenario partition-heal --nodes 50 --seed 1"

if [ "$CHECK" = 1 ]; then
  step "checking what the demo showed"
  fail() { echo "demo check FAILED: $*" >&2; exit 1; }
  members=$("$WEFT" members --json --data-dir $STATE/m0)
  python3 -c '
import json, sys
m = json.load(sys.stdin)
alive = sorted(x["name"] for x in m if x["state"] == "alive")
sys.exit(0 if alive == ["m0", "m1", "m2"] else "members seen by m0: %s" % m)' <<<"$members" || fail "m0 does not see m0, m1, m2 alive"
  [ "$(path_of 0 m1)" = direct ] && [ "$(path_of 0 m2)" = direct ] || fail "m0's paths to m1 and m2 are not direct"
  [ "$(path_of 1 m0)" = direct ] && [ "$(path_of 2 m0)" = direct ] || fail "m1's or m2's path to m0 is not direct"
  relayed || fail "m1-m2 is not on the relay"
  api=$(ip netns exec weft-m0 dig +short @"$A0" api.internal)
  [ "$api" = "$NET1.2" ] || fail "api.internal from m0: '$api', expected $NET1.2"
  [ "$(ip netns exec weft-m0 dig +short @"$A0" m2.m.internal)" = "$A2" ] || fail "m2.m.internal from m0 is not $A2"
  for i in 0 2; do
    body=$(ip netns exec weft-m$i curl -s --max-time 10 http://api.internal/)
    [[ $body == "hello from the api container on m1"* ]] || fail "HTTP to api.internal from m$i answered '$body'"
  done
  # weft-sim above exits 1 on a broken invariant, and `set -e` ends the demo there.
  echo "demo check passed: members, paths (two direct, one relayed), DNS, HTTP from m0 and m2, weft-sim"
  exit 0
fi

step "running; try the commands above (data dirs under $STATE). Ctrl-C (or scripts/demo.sh --down) removes everything"
sleep infinity &
echo $! >>$STATE/pids  # --down from another shell ends this wait too
wait $! || true
