#!/usr/bin/env bash
# weft-sim at scale (not part of CI): the simulator issue's targets, measured by the simulator
# running the same cores as the agent. Prints one JSON line per run and a table.
#   bench/run-sim-bench.sh [--nodes N] [--seeds K] [--loss-seconds S] [--formed]
# Defaults: 1,000 nodes, 2 seeds, 1,000 s of 10% loss (10^6 probe periods at 1,000 nodes); the
# cluster forms in a join storm through one seed. --formed starts it formed instead (weft-sim
# --scenario formed), as 10,000 nodes need: a 10,000-node storm is N^2 log N retransmissions.
#   bench/run-sim-bench.sh --nodes 10000 --seeds 1 --loss-seconds 100 --formed   (~16 GB, ~15 min)
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=1000 seeds=2 loss_seconds=1000 formed=0
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --loss-seconds) loss_seconds=$2; shift 2 ;;
    --formed) formed=1; shift ;;
    *) echo "usage: $0 [--nodes N] [--seeds K] [--loss-seconds S] [--formed]" >&2; exit 2 ;;
  esac
done
bash scripts/install-deps.sh
export DEBIAN_FRONTEND=noninteractive
dpkg-query -W python3 >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends python3
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target weft-sim
out=$(mktemp)
if [ "$formed" = 1 ]; then
  calm=(--scenario formed --loss 0 --duration 60) lossy=(--scenario formed --loss 0.1 --duration "$loss_seconds")
else
  calm=(--scenario join-storm) lossy=(--scenario loss --duration "$loss_seconds")
fi
for s in $(seq 1 "$seeds"); do
  for args in calm lossy; do
    declare -n run_args=$args
    /usr/bin/time -f '{"rss_kb": %M}' -o "$out.rss" \
      build/weft-sim "${run_args[@]}" --nodes "$nodes" --seed "$s" --json | tee -a "$out"
    cat "$out.rss" >> "$out"
  done
done
python3 - "$out" "$nodes" <<'PY'
import json, sys
runs, rss = [], []
for line in open(sys.argv[1]):
    d = json.loads(line)
    (rss if "rss_kb" in d else runs).append(d)
for r, m in zip(runs, rss):
    r["rss_mb"] = m["rss_kb"] / 1024
    # Two roles: the calm run (join storm, or formed without loss) and the lossy one (10%).
    r["role"] = "lossy" if r["loss"] > 0 else "calm"
n = int(sys.argv[2])
print(f"\n| scenario | seed | ok | join s | settle s | 99.99% rounds | 100% rounds | detect p50/p99/max s "
      f"| false dead / probe periods | steady kbit/s/node | steady x real time | whole run x | RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in runs:
    at = f", {r['loss']:.0%} loss" if r["loss"] > 0 else ""
    print(f"| {r['scenario']} {n}{at} | {r['seed']} | {r['ok']} | {r['join_s']:.1f} | {r['settle_s']:.1f} "
          f"| {r['rounds_to_99.99%']:.1f} | {r['rounds_to_100%']:.1f} "
          f"| {r['detection_p50_s']:.1f} / {r['detection_p99_s']:.1f} / {r['detection_max_s']:.1f} "
          f"| {r['false_dead']} / {r['probe_periods']} | {r['steady_kbit_per_node_s']:.1f} "
          f"| {r['steady_speedup']:.0f} | {r['speedup']:.1f} | {r['rss_mb']:.0f} |")
    if not r["ok"]:
        print(f"  violation: {r['violation']}")
print("\nTargets: 99.99% within 10 rounds (12 at 10% loss; 12 and 14 at 10,000 nodes); detection p99 "
      "<= 15 s (20 s at 10,000); 0 false dead in 10^6 probe periods at 10% loss; <= 40 kbit/s/node and >= 100x "
      "real time at 1,000 nodes.")
# The same figures next to their anchors (the issue's targets; memberlist's defaults for detection).
worst = lambda key, role: max((r[key] for r in runs if r["role"] == role), default=None)
best = lambda key, role: min((r[key] for r in runs if r["role"] == role), default=None)
start = "formed cluster" if runs and runs[0]["scenario"] == "formed" else "join storm"
big = n >= 10000
rows = [
    (f"{n} nodes, {start}: rounds to 99.99% (worst seed)", worst("rounds_to_99.99%", "calm"), 12 if big else 10),
    (f"{n} nodes, 10% loss: rounds to 99.99% (worst seed)", worst("rounds_to_99.99%", "lossy"), 14 if big else 12),
    (f"{n} nodes: crash seen dead by all, s p99 (worst seed)", worst("detection_p99_s", "calm"), 20 if big else 15),
    (f"{n} nodes, 10% loss: false dead verdicts / probe periods", f"{sum(r['false_dead'] for r in runs if r['role'] == 'lossy')}"
     f" / {sum(r['probe_periods'] for r in runs if r['role'] == 'lossy')}", "0 / 10^6"),
    # The traffic and speed targets are the issue's at 1,000 nodes; at other sizes, no anchor.
    (f"{n} nodes: control traffic, kbit/s/node, steady", worst("steady_kbit_per_node_s", "calm"), 40 if n == 1000 else None),
    (f"{n} nodes, 10% loss: control traffic, kbit/s/node", worst("steady_kbit_per_node_s", "lossy"), 40 if n == 1000 else None),
    (f"{n} nodes: simulated s per wall s, " + ("steady" if start == "formed cluster" else "just after the storm")
     + " (a write spread, a crash detected; slowest seed)", best("steady_speedup", "calm"), 100 if n == 1000 else None),
    (f"{n} nodes, 10% loss: simulated s per wall s over the loss window (slowest seed)", best("steady_speedup", "lossy"),
     100 if n == 1000 else None),
    (f"{n} nodes: one more machine joins through one seed, s until all see it (worst run)",
     max(r["join_s"] for r in runs), None) if start == "formed cluster" else None,
    (f"{n} nodes: simulator RSS, MB (largest run, peak)", max(r["rss_mb"] for r in runs), None),
    (f"{n} nodes: simulator heap in use at the end of the steady window, MB (largest run)", max(r.get("steady_heap_mb", -1) for r in runs), None),
]
print("\n| figure | weft | anchor | ratio |")
print("|---|---|---|---|")
for name, value, target in filter(None, rows):
    v = f"{value:.1f}" if isinstance(value, float) else str(value)
    anchor = "" if target is None else f"target: {target}"
    ratio = f"{value / target:.2f}" if isinstance(value, (int, float)) and isinstance(target, (int, float)) and target else ""
    print(f"| {name} | {v} | {anchor} | {ratio} |")
PY
rm -f "$out" "$out.rss"
