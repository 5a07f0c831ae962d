# Shared helpers of the e2e tests: network namespaces the test creates (and removes), agents it
# starts (and kills, by PID), and waiting on conditions with deadlines (never a bare sleep).
# Every test sources this, then calls e2e_init NAME. Needs root; fails loudly otherwise.
set -euo pipefail

e2e_fail() { echo "E2E FAIL: $*" >&3; exit 1; }  # fd 3: the test's stderr, even inside wait_for
e2e_log() { echo "[$(date +%H:%M:%S)] $*"; }

e2e_init() {  # NAME
  [ "$(id -u)" -eq 0 ] || e2e_fail "e2e tests need root (network namespaces, WireGuard)"
  E2E_NAME=$1
  exec 3>&2
  E2E_TAG="w$$"  # unique per run: namespaces of parallel tests never collide
  E2E_DIR=$(mktemp -d "/tmp/weft-e2e-$1.XXXXXX")
  E2E_NSS=()
  E2E_PIDS=()
  mkdir -p /run/wireguard  # mount point for each host's private tmpfs
  trap e2e_cleanup EXIT
}

e2e_cleanup() {
  local status=$?
  set +e
  for pid in "${E2E_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${E2E_PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
  done
  for ns in "${E2E_NSS[@]}"; do
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"  # a resolv.conf the test gave the namespace
  done
  rmdir /etc/netns 2>/dev/null
  if [ $status -ne 0 ]; then
    echo "--- logs of the failed run ($E2E_DIR)"
    for f in "$E2E_DIR"/*.log "$E2E_DIR"/*/wireguard-go.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 150 "$f"; }; done
  fi
  rm -rf "$E2E_DIR"
  exit $status
}

e2e_ns() {  # NAME: creates a namespace, registered for removal
  ip netns add "$1"
  E2E_NSS+=("$1")
  ip -n "$1" link set lo up
}

# A LAN: a switch namespace with a bridge; hosts plug in with a veth.
e2e_switch() {  # NS
  e2e_ns "$1"
  ip -n "$1" link add br0 type bridge
  ip -n "$1" link set br0 up
}
e2e_plug() {  # SWITCH HOST IFNAME ADDR/PREFIX
  local port="p$((${#E2E_NSS[@]}))"
  ip link add "$3" netns "$2" type veth peer name "$port" netns "$1"
  ip -n "$1" link set "$port" master br0 up
  ip -n "$2" addr add "$4" dev "$3"
  ip -n "$2" link set "$3" up
}

# wait_for DEADLINE_S DESCRIPTION COMMAND...: polls COMMAND until it succeeds; fails with the
# description when the deadline passes.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || e2e_fail "timed out waiting for: $what"
    sleep 0.2
  done
}

# A host behind a NAT router: ROUTER plugs into SWITCH with WAN_ADDR/24 on "wan" and serves
# HOST on LAN_PREFIX.0/24 ("lan" .1, the host's eth0 .2, default route through the router).
# MODE eim: MASQUERADE (Linux keeps the source port when free: endpoint-independent mapping,
# port-restricted filtering); sym: MASQUERADE --random-fully (a new port per destination). Like a
# home router, it drops new inbound connections to itself (without that, a hole punch between
# two such routers loses to the router's own conntrack entry).
e2e_nat_router() {  # SWITCH ROUTER HOST WAN_ADDR LAN_PREFIX MODE
  local sw=$1 r=$2 h=$3 wan=$4 lan=$5 mode=$6
  e2e_ns "$r"
  e2e_ns "$h"
  e2e_plug "$sw" "$r" wan "$wan/24"
  ip link add lan netns "$r" type veth peer name eth0 netns "$h"
  ip -n "$r" addr add "$lan.1/24" dev lan
  ip -n "$r" link set lan up
  ip -n "$h" addr add "$lan.2/24" dev eth0
  ip -n "$h" link set eth0 up
  ip -n "$h" route add default via "$lan.1"
  ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
  e2e_nat_mode "$r" "$mode"
  ip netns exec "$r" iptables -A INPUT -i wan -m conntrack --ctstate NEW -j DROP
}
# Switches a router's NAT mode and forgets its mappings (as a reconfigured router does).
e2e_nat_mode() {  # ROUTER MODE
  local extra=""
  [ "$2" = sym ] && extra="--random-fully"
  ip netns exec "$1" iptables -t nat -F POSTROUTING
  ip netns exec "$1" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE $extra
  ip netns exec "$1" conntrack -F >/dev/null 2>&1 || e2e_fail "conntrack -F in $1 failed (is conntrack installed?)"
}

# Starts `weft agent` ($WEFT) in namespace NS, in its own mount namespace with a private
# /run/wireguard (the UAPI socket path is global, not per network namespace), userspace
# WireGuard, no upstream DNS, log appended to LOG. The PID goes to E2E_PIDS (killed at cleanup)
# and to E2E_LAST_PID.
e2e_agent() {  # NS DATADIR BIND LOG [args]
  local ns=$1 dir=$2 bind=$3 log=$4
  shift 4
  ip netns exec "$ns" sh -c 'mount -t tmpfs tmpfs /run/wireguard && exec "$0" "$@"' "$WEFT" agent --data-dir "$dir" \
    --bind "$bind" --wg-backend userspace --dns-upstream none "$@" >>"$log" 2>&1 &
  E2E_LAST_PID=$!
  E2E_PIDS+=("$!")
}
# Machine I of a test: data dir $E2E_DIR/dI, control port IP:51821, log agentI.log, no Docker;
# its PID in AGENT[I]. weft_at I ARGS... runs the weft CLI against machine I.
e2e_machine_agent() {  # I NS IP [args]
  local i=$1 ns=$2 ip=$3
  shift 3
  e2e_agent "$ns" "$E2E_DIR/d$i" "$ip:51821" "$E2E_DIR/agent$i.log" --docker off "$@"
  AGENT[$i]=$E2E_LAST_PID
}
weft_at() { local i=$1; shift; "$WEFT" "$@" --data-dir "$E2E_DIR/d$i"; }

# --- a real dockerd inside a namespace (tests/e2e/docker_containers.sh, scripts/demo.sh)
# dockerd runs in network namespace NS and its own mount namespace, with data-root, exec-root
# and socket under DIR (E2E_DOCKER_DIR; socket E2E_DOCKER_SOCK), Docker's own bridge off. Its PID
# in E2E_DOCKERD. Fails if dockerd is missing or does not answer within 30 s.
e2e_dockerd() {  # NS DIR LOG
  E2E_DOCKER_DIR=$2
  E2E_DOCKER_SOCK=$2/docker.sock
  command -v dockerd >/dev/null || e2e_fail "dockerd is not installed (docker.io)"
  mkdir -p "$2"
  [ -f "$2/daemon.json" ] || echo '{}' >"$2/daemon.json"
  unshare --mount --propagation slave nsenter --net="/run/netns/$1" dockerd --config-file "$2/daemon.json" \
    --data-root "$2/data" --exec-root "$2/exec" --pidfile "$2/docker.pid" --host "unix://$E2E_DOCKER_SOCK" \
    --bridge none --iptables=true --ip-forward=true >>"$3" 2>&1 </dev/null &
  E2E_DOCKERD=$!
  wait_for 30 "dockerd answers on $E2E_DOCKER_SOCK" e2e_docker_api http://docker/_ping
}
e2e_docker_api() { curl -sf --unix-socket "$E2E_DOCKER_SOCK" "$@"; }
# Imports an image `weft-test/busybox:1` built from busybox-static (no registry is reachable).
e2e_docker_busybox_image() {
  local root=$E2E_DOCKER_DIR/rootfs
  mkdir -p "$root/bin"
  cp "$(command -v busybox)" "$root/bin/busybox"
  ldd "$root/bin/busybox" >/dev/null 2>&1 && e2e_fail "busybox is not the static one (busybox-static)"
  local a
  for a in sh httpd wget cat echo sleep; do ln -sf busybox "$root/bin/$a"; done
  tar -C "$root" -cf "$E2E_DOCKER_DIR/rootfs.tar" .
  e2e_docker_api -X POST -H 'Content-Type: application/x-tar' --data-binary @"$E2E_DOCKER_DIR/rootfs.tar" \
    "http://docker/v1.41/images/create?fromSrc=-&repo=weft-test/busybox&tag=1&changes=ENV%20PATH%3D%2Fbin" >/dev/null ||
    e2e_fail "cannot import the busybox image"
}
# Creates and starts container NAME from the JSON body; prints its id.
e2e_docker_run() {  # NAME JSON-BODY
  local id
  id=$(e2e_docker_api -X POST -H 'Content-Type: application/json' -d "$2" "http://docker/v1.41/containers/create?name=$1" |
    sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p')
  [ -n "$id" ] || e2e_fail "cannot create container $1"
  e2e_docker_api -X POST "http://docker/v1.41/containers/$id/start" >/dev/null || e2e_fail "cannot start container $1"
  echo "$id"
}
# Removes every container (busybox httpd ignores SIGTERM), then stops dockerd and the shims it
# left (found by the exec-root in their command line: only this dockerd's). Returns the status
# it was called with, so `trap 'e2e_docker_stop; e2e_cleanup' EXIT` keeps the test's verdict.
e2e_docker_stop() {
  local status=$?
  [ -n "${E2E_DOCKERD:-}" ] || return $status
  set +e
  local id pid
  for id in $(e2e_docker_api "http://docker/v1.41/containers/json?all=1" | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
    e2e_docker_api -X DELETE "http://docker/v1.41/containers/$id?force=1" >/dev/null
  done
  kill -TERM "$E2E_DOCKERD" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$E2E_DOCKERD" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$E2E_DOCKERD" 2>/dev/null
  for pid in $(pgrep -f -- "$E2E_DOCKER_DIR/exec"); do kill -KILL "$pid" 2>/dev/null; done
  return $status
}
