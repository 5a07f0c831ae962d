#!/usr/bin/env bash
# Runs one libFuzzer target over its seed corpus (made by weft_fuzz_seeds) plus
# regressions/<target>/ (inputs that once broke it).
#   run_target.sh TARGET_BIN SEEDS_BIN REGRESSIONS_DIR WORK_DIR fixed COUNT
#     CI: every input once, then COUNT deterministic mutants of them (mutate.py) once each, in
#     sorted order. No coverage-guided search: its path depends on coverage, which differs from
#     run to run, and a finding by luck would make the verdict luck too. The same commit always
#     gets the same verdict.
#   run_target.sh TARGET_BIN SEEDS_BIN REGRESSIONS_DIR WORK_DIR explore SECONDS
#     Soak: libFuzzer's guided search from a random fuzzer seed for SECONDS; a crashing input is
#     copied into REGRESSIONS_DIR so that CI replays it from then on.
set -euo pipefail
target_bin=$1 seeds_bin=$2 regressions=$3 work=$4 mode=$5 amount=$6
name=$(basename "$target_bin")
rm -rf "$work"
mkdir -p "$work/seeds" "$work/found" "$work/artifacts"
"$seeds_bin" "$name" "$work/seeds"
if [ -d "$regressions" ]; then cp -r "$regressions/." "$work/seeds/"; fi
find "$work/seeds" -type f ! -name .keep | LC_ALL=C sort >"$work/inputs.txt"
echo "$name: $(wc -l <"$work/inputs.txt") seed and regression inputs"
# A comma-separated list: this libFuzzer (LLVM 14) ignores -seed_inputs=@FILE.
common=(-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/"
        -seed_inputs="$(paste -sd, "$work/inputs.txt")")
case "$mode" in
  fixed)
    python3 "$(dirname "$0")/mutate.py" "$work/inputs.txt" "$work/mutants" "$amount"
    { cat "$work/inputs.txt"; find "$work/mutants" -type f | LC_ALL=C sort; } >"$work/replay.txt"
    total=$(wc -l <"$work/replay.txt")
    # Given files, libFuzzer runs each once and stops at the first that fails.
    if ! xargs -a "$work/replay.txt" -n 500 "$target_bin" -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" \
        >"$work/replay.log" 2>&1; then
      tail -n 60 "$work/replay.log"
      echo "$name: FAILED on $(grep 'Running:' "$work/replay.log" | tail -n1 | sed 's/^Running: //')"
      exit 1
    fi
    echo "$name: $total inputs and deterministic mutants, each run once: no finding" ;;
  explore)
    seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
    echo "$name: fuzzer seed $seed for $amount s"
    if "$target_bin" "${common[@]}" -seed="$seed" -max_total_time="$amount" "$work/found"; then exit 0; fi
    for crash in "$work"/artifacts/*; do
      [ -f "$crash" ] || continue
      mkdir -p "$regressions"
      cp "$crash" "$regressions/$(basename "$crash")"
      echo "$name: kept $(basename "$crash") in $regressions (fuzzer seed $seed)"
    done
    exit 1 ;;
  *) echo "run_target.sh: mode is fixed or explore, not $mode" >&2; exit 2 ;;
esac
