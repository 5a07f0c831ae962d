#!/usr/bin/env bash
# e2e: Docker containers in the mesh, with a real dockerd.
#   usage: docker_containers.sh PATH/TO/weft
# Two machines (namespaces, userspace WireGuard); machine 1 runs dockerd inside its namespace
# (data-root, exec-root and socket in the test's temp dir) with an image imported from
# busybox-static (no registry). The agent on machine 1 creates the Docker network `weft` on its
# /24. Checks:
#   - a container labelled weft.service=api (weft.port=http:8000/tcp) gets an address of m1's
#     /24; from m0, `dig @<m0's .1> api.internal` returns it, SRV carries the port, and
#     `curl http://api.internal:8000/` (resolved by m0's own .1) reaches the container, which
#     sees m0's mesh address as the source;
#   - a container whose healthcheck fails is never answered;
#   - a container started with --dns <m1's .1> --dns-search internal reaches http://api:8000/;
#   - a network `weft` someone made on another subnet is reported and left alone, and replaced by
#     the right one only after it is removed;
#   - dockerd restarts: the agent reconnects, puts back its DOCKER-USER jump, and a container
#     started again is answered again;
#   - stopping the container removes the name from DNS within seconds.
# If dockerd cannot start, the test fails (it never skips).
source "$(dirname "$0")/lib.sh"
WEFT=$(realpath "$1")
e2e_init docker-containers
SW=${E2E_TAG}sw H0=${E2E_TAG}h0 H1=${E2E_TAG}h1
e2e_switch "$SW"
e2e_ns "$H0"; e2e_plug "$SW" "$H0" eth0 198.51.100.30/24
e2e_ns "$H1"; e2e_plug "$SW" "$H1" eth0 198.51.100.31/24
D=$E2E_DIR/docker
mkdir -p "$D/www"

# --- dockerd inside machine 1's network namespace (in a mount namespace of its own: e2e_dockerd in lib.sh)
trap 'e2e_docker_stop; e2e_cleanup' EXIT
e2e_dockerd "$H1" "$D" "$E2E_DIR/dockerd.log"
SOCK=$E2E_DOCKER_SOCK
DOCKERD=$E2E_DOCKERD
api() { e2e_docker_api "$@"; }
e2e_docker_busybox_image

# --- the mesh
start_agent() {  # NS DATADIR BIND [args]
  local ns=$1 dir=$2 bind=$3
  shift 3
  e2e_agent "$ns" "$dir" "$bind" "$dir.log" "$@"
}
token=$("$WEFT" init --data-dir "$E2E_DIR/m0" --name m0 --advertise 198.51.100.30:51821 | tail -n1)
start_agent "$H0" "$E2E_DIR/m0" 198.51.100.30:51821 --docker off
# Someone already made a network called weft, on a subnet that is not m1's.
api -X POST -H 'Content-Type: application/json' -d '{"Name":"weft","Driver":"bridge","IPAM":{"Config":[{"Subnet":"10.99.0.0/24"}]}}' \
  http://docker/v1.41/networks/create >/dev/null || e2e_fail "cannot create the conflicting network"
mkdir -p "$E2E_DIR/m1"
start_agent "$H1" "$E2E_DIR/m1" 198.51.100.31:51821 --token "$token" --name m1 --docker-host "unix://$SOCK"
reported() { "$WEFT" status --json --data-dir "$E2E_DIR/m1" | grep -q 'exists with subnet 10.99.0.0/24.*left alone'; }
wait_for 60 "m1 reports the conflicting Docker network" reported
api http://docker/v1.41/networks/weft | grep -q '"Subnet":"10.99.0.0/24"' || e2e_fail "the conflicting network was replaced"
grep -q "left alone" "$E2E_DIR/m1.log" || e2e_fail "the conflict is not in m1's log"
api -X DELETE http://docker/v1.41/networks/weft >/dev/null || e2e_fail "cannot remove the conflicting network"
e2e_log "a conflicting weft network was reported and left alone"
mesh_address() { "$WEFT" status --json --data-dir "$1" | sed -n 's/.*"mesh_address": *"\([0-9.]*\)".*/\1/p'; }
has_address() { [ -n "$(mesh_address "$1")" ]; }
wait_for 60 "m0 has a mesh address" has_address "$E2E_DIR/m0"
wait_for 60 "m1 has a mesh address" has_address "$E2E_DIR/m1"
A0=$(mesh_address "$E2E_DIR/m0") A1=$(mesh_address "$E2E_DIR/m1")
NET1=${A1%.1}
ping_ok() { ip netns exec "$1" ping -c1 -W1 -q "$2"; }
wait_for 60 "m0 pings m1 through the tunnel" ping_ok "$H0" "$A1"

network_ok() { api http://docker/v1.41/networks/weft | grep -q "\"Subnet\":\"$NET1.0/24\""; }
wait_for 30 "m1's agent creates the Docker network weft on $NET1.0/24" network_ok
api http://docker/v1.41/networks/weft | grep -q '"com.docker.network.bridge.enable_ip_masquerade":"false"' ||
  e2e_fail "Docker's own masquerade is on for the weft network"
jump() { ip netns exec "$H1" iptables -C DOCKER-USER -j WEFT-FORWARD; }
wait_for 10 "the mesh's forward rules are reachable from DOCKER-USER" jump
e2e_log "mesh up; Docker network weft on $NET1.0/24"

run_container() { e2e_docker_run "$@"; }
echo "hello from the api container" >"$D/www/index.html"
API=$(run_container api-1 '{"Image":"weft-test/busybox:1","Cmd":["httpd","-f","-p","8000","-h","/www"],
  "Labels":{"weft.service":"api","weft.port":"http:8000/tcp"},
  "HostConfig":{"NetworkMode":"weft","Binds":["'"$D/www"':/www:ro"]}}')
SICK=$(run_container api-sick '{"Image":"weft-test/busybox:1","Cmd":["httpd","-f","-p","8000","-h","/www"],
  "Labels":{"weft.service":"api"},
  "Healthcheck":{"Test":["CMD-SHELL","exit 1"],"Interval":500000000,"Timeout":1000000000,"Retries":1},
  "HostConfig":{"NetworkMode":"weft","Binds":["'"$D/www"':/www:ro"]}}')
ip_of() { api "http://docker/v1.41/containers/$1/json" | sed -n 's/.*"weft":{[^}]*"IPAddress":"\([0-9.]*\)".*/\1/p'; }
APIIP=$(ip_of "$API") SICKIP=$(ip_of "$SICK")
[[ "$APIIP" == "$NET1".* ]] || e2e_fail "the api container got '$APIIP', not an address of $NET1.0/24"
e2e_log "containers: api $APIIP, api-sick $SICKIP"

answers() { ip netns exec "$H0" dig +short +time=1 +tries=1 "@$A0" "$@"; }
only_api() { [ "$(answers api.internal)" = "$APIIP" ]; }
wait_for 30 "m0's DNS answers api.internal with the container's address only" only_api
sick_is_unhealthy() { api "http://docker/v1.41/containers/$SICK/json" | grep -q '"Status":"unhealthy"'; }
wait_for 30 "the failing healthcheck marks api-sick unhealthy" sick_is_unhealthy
only_api || e2e_fail "an unhealthy container is answered: $(answers api.internal)"
srv=$(answers SRV _http._tcp.api.internal)
[[ "$srv" == *" 8000 "* ]] || e2e_fail "SRV of the container's port: '$srv'"
e2e_log "DNS on m0's .1: api.internal = $APIIP (the unhealthy one left out), SRV $srv"

# HTTP from m0 by name, through its own DNS; the container counts what arrives by source.
mkdir -p "/etc/netns/$H0"
echo "nameserver $A0" >"/etc/netns/$H0/resolv.conf"
CPID=$(api "http://docker/v1.41/containers/$API/json" | sed -n 's/.*"Pid":\([0-9]*\).*/\1/p')
nsenter -t "$CPID" -n iptables -A INPUT -p tcp --dport 8000 -s "$A0" -j ACCEPT
body=$(ip netns exec "$H0" curl -s --max-time 5 http://api.internal:8000/)
[ "$body" = "hello from the api container" ] || e2e_fail "curl http://api.internal:8000/ from m0 got '$body'"
seen=$(nsenter -t "$CPID" -n iptables -nvxL INPUT | awk -v s="$A0" '$8==s {n+=$1} END {print n+0}')
[ "$seen" -ge 1 ] || e2e_fail "the container never saw m0's mesh address $A0 as the source"
e2e_log "curl http://api.internal:8000/ from m0 reached the container, which saw $A0"

# Container DNS: --dns <m1's .1> --dns-search internal.
CLIENT=$(run_container client '{"Image":"weft-test/busybox:1","Cmd":["wget","-q","-O","/dev/null","http://api:8000/"],
  "HostConfig":{"NetworkMode":"weft","Dns":["'"$A1"'"],"DnsSearch":["internal"]}}')
code=$(curl -s --max-time 30 --unix-socket "$SOCK" -X POST "http://docker/v1.41/containers/$CLIENT/wait" |
  sed -n 's/.*"StatusCode":\([0-9]*\).*/\1/p')
[ "$code" = 0 ] || e2e_fail "a container with --dns $A1 --dns-search internal could not fetch http://api:8000/ (exit '$code')"
e2e_log "a container with --dns $A1 --dns-search internal fetched http://api:8000/"

e2e_log "restarting dockerd (and removing the DOCKER-USER jump by hand first)"
metric() { curl -s --unix-socket "$E2E_DIR/m1/api.sock" http://weft/metrics | awk -v n="$1" '$1==n {print $2}'; }
connects=$(metric weft_docker_connects_total)
ip netns exec "$H1" iptables -D DOCKER-USER -j WEFT-FORWARD
kill -TERM "$DOCKERD"
wait "$DOCKERD" || true
e2e_dockerd "$H1" "$D" "$E2E_DIR/dockerd.log"
DOCKERD=$E2E_DOCKERD
reconnected() { [ "$(metric weft_docker_connects_total)" -gt "$connects" ] && jump; }
wait_for 60 "m1 reconnects to the restarted dockerd and puts its DOCKER-USER jump back" reconnected
api -X POST "http://docker/v1.41/containers/$API/start" >/dev/null || e2e_fail "cannot start api-1 again"
APIIP=$(ip_of "$API")
wait_for 30 "api.internal is answered again after the restart" only_api
e2e_log "dockerd restarted: reconnected, jump restored, api.internal = $APIIP again"

api -X POST "http://docker/v1.41/containers/$API/stop?t=1" >/dev/null
gone() { [ -z "$(answers api.internal)" ]; }
wait_for 15 "api.internal leaves m0's DNS after the container stops" gone
e2e_log "container stopped: api.internal gone from DNS"
e2e_log "PASS"
