#!/usr/bin/env bash
# Every benchmark in one command (not part of CI), then one report: each figure next to its
# anchor (a real program measured in the same run, or the issue's target where the anchor is a
# number), as markdown tables. Runs, in order:
#   DNS        bench/run-dns-bench.sh     weft vs dnsmasq, NSD, a do-nothing responder (dnsperf)
#   gossip     bench/run-gossip-bench.sh  join / failure detection / leave / traffic at rest vs memberlist
#   paths      bench/run-path-bench.sh    direct path through NATs vs wireguard-go by hand; relay vs a UDP forwarder
#   wireguard  bench/run-wg-bench.sh      reconcile at 255 peers, tunnel throughput, RSS and idle CPU at 255 peers
#   simulator  bench/run-sim-bench.sh     weft-sim at 1,000 nodes, and 10,000 (formed) when ~18 GB are free
#   bench/run-all.sh [--quick] [--out DIR]
# --quick shortens every run (fewer trials, shorter windows: figures are noisier). Measured on 2
# cores: 33 min in full, 27 with --quick, 11-13 of them for 10,000 simulated nodes either way. Each benchmark's whole
# output is kept in DIR (default /tmp/weft-bench-<time>); the report goes to stdout and
# DIR/report.md. Every benchmark sends traffic only to loopback or to namespaces it creates and
# removes.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
out=/tmp/weft-bench-$(date +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--quick] [--out DIR]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
if [ "$quick" = 1 ]; then
  dns=(--seconds 5) gossip=(--nodes 12 --trials 3 --rest-seconds 10) paths=(--runs 3) wg=(--idle-seconds 20)
  sim=(--seeds 1 --loss-seconds 100)
else
  dns=() gossip=() paths=(--runs 10) wg=(--idle-seconds 60) sim=(--seeds 2 --loss-seconds 1000)
fi

failed=()
run() {  # NAME SCRIPT ARGS...: the whole output to DIR/NAME.log; a failure is reported, not fatal
  local name=$1 script=$2
  shift 2
  echo "== $name: $script $* (log: $out/$name.log)"
  local t0=$SECONDS
  if bash "$script" "$@" >"$out/$name.log" 2>&1; then
    echo "   done in $((SECONDS - t0)) s"
  else
    echo "   FAILED after $((SECONDS - t0)) s: see $out/$name.log" >&2
    failed+=("$name")
  fi
}
run dns bench/run-dns-bench.sh "${dns[@]}"
run gossip bench/run-gossip-bench.sh "${gossip[@]}"
run paths bench/run-path-bench.sh "${paths[@]}"
run wireguard bench/run-wg-bench.sh "${wg[@]}"
run sim-1000 bench/run-sim-bench.sh --nodes 1000 "${sim[@]}"

# 10,000 nodes, started as a formed cluster (a 10,000-node join storm is N^2 log N
# retransmissions): every node holds every member and record, so memory grows with N^2. Peak RSS
# measured at 10,000 nodes: 16.2 GB; run it only when ~18 GB are free.
sim10k_note=""
avail_mb=$(( $(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1024 ))
if [ "$avail_mb" -ge 18000 ]; then
  run sim-10000 bench/run-sim-bench.sh --nodes 10000 --seeds 1 --loss-seconds 100 --formed
else
  sim10k_note="| 10000 nodes in one process | not run: ~18000 MB needed (16.2 GB peak RSS measured), ${avail_mb} MB available | target: runs | |"
fi

{
  echo "# weft benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([ -n "$(git status --porcelain 2>/dev/null)" ] && echo ' (modified)'),"\
       "$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1048576 )) GiB,"\
       "kernel $(uname -r)$([ "$quick" = 1 ] && echo ', --quick')"
  section() {  # TITLE LOG: the markdown table rows of LOG
    echo
    echo "## $1"
    echo
    # Table rows only; a blank line between tables that had other output between them.
    if [ -f "$2" ] && grep -q '^|' "$2"; then
      awk '/^\|/ { if (gap && n) print ""; print; n++; gap = 0; next } { gap = 1 }' "$2"
    else
      echo "(no figures: see $2)"
    fi
  }
  section "DNS: weft vs dnsmasq and NSD (dnsperf, loopback)" "$out/dns.log"
  section "Gossip: weft vs HashiCorp memberlist (separate processes, loopback)" "$out/gossip.log"
  section "Paths through NAT and the relay (network namespaces)" "$out/paths.log"
  section "WireGuard: reconcile, throughput, one agent at 255 peers" "$out/wireguard.log"
  section "Simulator, 1,000 nodes (weft-sim: the agent's cores, virtual time)" "$out/sim-1000.log"
  if [ -f "$out/sim-10000.log" ]; then
    section "Simulator, 10,000 nodes (started formed)" "$out/sim-10000.log"
  elif [ -n "$sim10k_note" ]; then
    echo
    echo "## Simulator, 10,000 nodes"
    echo
    echo "| figure | weft | anchor | ratio |"
    echo "|---|---|---|---|"
    echo "$sim10k_note"
  fi
  if [ ${#failed[@]} -gt 0 ]; then
    echo
    echo "**Failed:** ${failed[*]} (logs in $out)"
  fi
} | tee "$out/report.md"
[ ${#failed[@]} -eq 0 ]
