#!/usr/bin/env bash
# Soak run (not CI): long churn in the simulator, every scenario at 200 nodes, open-ended
# fuzzing, then real agents killed and restarted at random.
#   bench/run-soak.sh [--sim-minutes 30] [--real-minutes 10] [--machines 5] [--sim-nodes 60]
#                     [--wide-seeds 30] [--fuzz-minutes 20]
# 1. weft-sim --scenario nemesis over consecutive seeds (each draws its own schedule of
#    partitions, cuts, crashes, restarts, leaves, stalls, skew and loss) for --sim-minutes:
#    runs, seeds with a broken invariant (must be 0), the first violation's seed.
# 1b. every weft-sim scenario at 200 nodes over --wide-seeds seeds (ctest runs them smaller):
#    scenario and seed of every broken invariant.
# 1c. every libFuzzer target of the ASan+UBSan build, --fuzz-minutes split between them, from
#    random fuzzer seeds (CI runs fixed ones); a crash is kept in tests/fuzz/regressions/.
# 2. --machines agents (userspace WireGuard) in network namespaces on one switch, for
#    --real-minutes: every 20-40 s one machine other than m0 is killed (-9 or TERM, at random)
#    and restarted 5-15 s later. After each restart, every machine must see every machine alive
#    and the restarted one must ping every other .1 within 90 s; a miss is a violation. Every
#    10 s the RSS and open descriptors of each agent are sampled; m0 runs throughout, so its
#    samples show growth under churn. Namespaces and agents are removed at the end.
# Prints a table; exit 1 when any violation was seen.
set -euo pipefail
cd "$(dirname "$0")/.."
sim_minutes=30 real_minutes=10 machines=5 sim_nodes=60 wide_seeds=30 fuzz_minutes=20
while [ $# -gt 0 ]; do
  case "$1" in
    --sim-minutes) sim_minutes=$2; shift 2 ;;
    --real-minutes) real_minutes=$2; shift 2 ;;
    --machines) machines=$2; shift 2 ;;
    --sim-nodes) sim_nodes=$2; shift 2 ;;
    --wide-seeds) wide_seeds=$2; shift 2 ;;
    --fuzz-minutes) fuzz_minutes=$2; shift 2 ;;
    *) echo "usage: $0 [--sim-minutes M] [--real-minutes M] [--machines N] [--sim-nodes N] [--wide-seeds N] [--fuzz-minutes M]" >&2; exit 2 ;;
  esac
done
[ "$machines" -ge 3 ] || { echo "--machines: at least 3" >&2; exit 2; }
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target weft weft-sim
WEFT=$(realpath build/weft)
SIM=$(realpath build/weft-sim)

# ---------------------------------------------------------------- 1. simulator
echo "== simulator: nemesis schedules, $sim_nodes nodes, $sim_minutes min"
sim_end=$(( $(date +%s) + sim_minutes * 60 ))
seed=1 runs=0 sim_bad=0 first_bad="" bad_seeds=""
while [ "$(date +%s)" -lt "$sim_end" ]; do
  if ! out=$("$SIM" --scenario nemesis --nodes "$sim_nodes" --seed "$seed" 2>&1); then
    sim_bad=$((sim_bad + 1))
    bad_seeds+="${bad_seeds:+ }$seed"
    [ -n "$first_bad" ] || first_bad="seed $seed: $(grep -m1 'invariant broken' <<<"$out" || tail -n1 <<<"$out")"
  fi
  runs=$((runs + 1)) seed=$((seed + 1))
done
echo "$runs runs, $sim_bad with a broken invariant${first_bad:+; first: $first_bad}${bad_seeds:+; seeds: $bad_seeds}"

# ---------------------------------------------------------------- 1b. every scenario at 200 nodes
wide_bad=0 wide_runs=0
if [ "$wide_seeds" -gt 0 ]; then
  for scenario in join-storm formed partition-heal churn loss concurrent-claims nemesis; do
    echo "== simulator: $scenario, 200 nodes, seeds 1-$wide_seeds"
    for ((s = 1; s <= wide_seeds; s++)); do
      wide_runs=$((wide_runs + 1))
      if ! out=$("$SIM" --scenario "$scenario" --nodes 200 --seed "$s" 2>&1); then
        wide_bad=$((wide_bad + 1))
        echo "  $scenario seed $s: $(grep -m1 'invariant broken' <<<"$out" || tail -n1 <<<"$out")"
      fi
    done
  done
fi
sim_bad=$((sim_bad + wide_bad))

# ---------------------------------------------------------------- 1c. open-ended fuzzing
fuzz_bad=0
if [ "$fuzz_minutes" -gt 0 ]; then
  CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=ON -DWEFT_FUZZ=ON >/dev/null
  targets=$(ls tests/fuzz/*_fuzz.cpp | xargs -n1 basename | sed 's/\.cpp$//')
  cmake --build build-asan --target weft_fuzz_seeds $targets
  per_target=$(( fuzz_minutes * 60 / $(wc -w <<<"$targets") ))
  for t in $targets; do
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      bash tests/fuzz/run_target.sh "build-asan/tests/fuzz/$t" build-asan/tests/fuzz/weft_fuzz_seeds \
        "tests/fuzz/regressions/$t" "/tmp/weft-soak-fuzz/$t" explore "$per_target" >"/tmp/weft-soak-fuzz-$t.log" 2>&1 ||
      { fuzz_bad=$((fuzz_bad + 1)); echo "  fuzz $t: a finding, kept in tests/fuzz/regressions/$t (/tmp/weft-soak-fuzz-$t.log)"; }
  done
fi

# ---------------------------------------------------------------- 2. real agents
source tests/e2e/lib.sh
e2e_init soak
T=$E2E_TAG
SAMPLES=$E2E_DIR/samples.csv
declare -a AGENT NS IP
e2e_switch "${T}sw"
for ((i = 0; i < machines; i++)); do
  NS[$i]=${T}m$i IP[$i]=192.0.2.$((10 + i))
  e2e_ns "${NS[$i]}"
  e2e_plug "${T}sw" "${NS[$i]}" eth0 "${IP[$i]}/24"
done
start() {  # I [args]
  local i=$1
  shift
  e2e_machine_agent "$i" "${NS[$i]}" "${IP[$i]}" --name "m$i" "$@"
}
"$WEFT" init --data-dir "$E2E_DIR/d0" --name m0 --advertise "${IP[0]}:51821" | tail -n1 >"$E2E_DIR/token"
start 0
for ((i = 1; i < machines; i++)); do mkdir -p "$E2E_DIR/d$i"; start "$i" --token "$(cat "$E2E_DIR/token")"; done

# poll DEADLINE_S CMD...: 0 when CMD succeeded before the deadline, 1 otherwise (no exit).
poll() {
  local deadline=$(( $(date +%s) + $1 ))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
mesh_ip() { weft_at "$1" status --json | sed -n 's/.*"mesh_address": *"\([0-9.]*\)".*/\1/p'; }
all_alive() {
  local i
  for ((i = 0; i < machines; i++)); do
    [ "$(weft_at "$i" members --json | grep -o '"state": "alive"' | wc -l)" -eq "$machines" ] || return 1
  done
}
pings_all() {  # I: machine I pings every other machine's .1
  local j ip
  for ((j = 0; j < machines; j++)); do
    [ "$j" -eq "$1" ] && continue
    ip=$(mesh_ip "$j") && [ -n "$ip" ] || return 1
    ip netns exec "${NS[$1]}" ping -c1 -W1 -q "$ip" || return 1
  done
}
sample() {
  local i pid rss fds
  for ((i = 0; i < machines; i++)); do
    pid=${AGENT[$i]:-}
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    echo "$(date +%s),m$i,$pid,$rss,$fds" >>"$SAMPLES"
  done
}
forget_pid() {  # PID: reaped, so it is not killed again at cleanup (the number may be reused)
  local keep=() p
  for p in "${E2E_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  E2E_PIDS=("${keep[@]}")
}

violations=0 restarts=0
note_violation() { violations=$((violations + 1)); e2e_log "VIOLATION: $*"; }
poll 120 all_alive || note_violation "the first join: not every machine sees $machines alive"
for ((i = 0; i < machines; i++)); do poll 120 pings_all "$i" || note_violation "m$i does not ping every machine after the join"; done
e2e_log "$machines machines up; churn for $real_minutes min"
sample
end=$(( $(date +%s) + real_minutes * 60 ))
next_sample=$(( $(date +%s) + 10 ))
wait_sampling() {  # SECONDS: waits, sampling every 10 s
  local until=$(( $(date +%s) + $1 ))
  while [ "$(date +%s)" -lt "$until" ]; do
    if [ "$(date +%s)" -ge "$next_sample" ]; then sample; next_sample=$(( $(date +%s) + 10 )); fi
    sleep 1
  done
}
while [ "$(date +%s)" -lt "$end" ]; do
  wait_sampling $((20 + RANDOM % 21))
  victim=$((1 + RANDOM % (machines - 1)))
  sig=KILL
  [ $((RANDOM % 2)) -eq 0 ] && sig=TERM
  pid=${AGENT[$victim]}
  kill "-$sig" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
  e2e_log "m$victim killed ($sig)"
  wait_sampling $((5 + RANDOM % 11))
  start "$victim"
  restarts=$((restarts + 1))
  poll 90 all_alive || note_violation "after restarting m$victim: not every machine sees $machines alive within 90 s"
  poll 90 pings_all "$victim" || note_violation "after restarting m$victim: it does not ping every machine within 90 s"
done
sample

python3 - "$SAMPLES" "$restarts" "$violations" "$runs" "$sim_bad" "$sim_nodes" "$sim_minutes" "$real_minutes" \
  "$wide_runs" "$wide_bad" "$fuzz_minutes" "$fuzz_bad" <<'PY'
import csv, sys
path, restarts, violations, runs, sim_bad, sim_nodes, sim_min, real_min, wide_runs, wide_bad, fuzz_min, fuzz_bad = sys.argv[1:]
rows = [r for r in csv.reader(open(path))]
by_pid = {}
for t, m, pid, rss, fds in rows:
    by_pid.setdefault((m, pid), []).append((int(t), int(rss), int(fds)))
print("\n| soak | figure |\n|---|---|")
print(f"| simulator: nemesis runs ({sim_nodes} nodes, {sim_min} min) | {runs} |")
print(f"| simulator: runs with a broken invariant (both) | {sim_bad} |")
print(f"| simulator: every scenario at 200 nodes, runs / broken | {wide_runs} / {wide_bad} |")
print(f"| fuzzing: minutes over all targets / targets with a finding | {fuzz_min} / {fuzz_bad} |")
print(f"| real: agent restarts in {real_min} min (kill -9 or TERM) | {restarts} |")
print(f"| real: violations (not all alive, or no ping, within 90 s of a restart) | {violations} |")
m0 = [v for (m, pid), v in by_pid.items() if m == "m0"]
if m0:
    s = m0[0]
    print(f"| m0 (never restarted) RSS first / last / max, MB | {s[0][1]/1024:.1f} / {s[-1][1]/1024:.1f} / {max(x[1] for x in s)/1024:.1f} |")
    print(f"| m0 open descriptors first / last / max | {s[0][2]} / {s[-1][2]} / {max(x[2] for x in s)} |")
others = [v for (m, pid), v in by_pid.items() if m != "m0"]
if others:
    print(f"| restarted agents: max RSS, MB | {max(x[1] for v in others for x in v)/1024:.1f} |")
    print(f"| restarted agents: max open descriptors | {max(x[2] for v in others for x in v)} |")
PY
[ "$violations" -eq 0 ] && [ "$sim_bad" -eq 0 ] && [ "$fuzz_bad" -eq 0 ]
