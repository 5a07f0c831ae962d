#!/usr/bin/env bash
# The whole test suite: installs dependencies (apt), builds, and runs every test through ctest,
# twice: a normal build (gcc) and an ASan+UBSan build (clang) that also runs the libFuzzer
# targets for a bounded time. Exits non-zero if anything fails.
#   WEFT_FUZZ_SCALE=P    percent of each fuzz target's mutation count (fixed fuzzer seed 1; default 100)
#   WEFT_JOBS=N          build parallelism (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=${WEFT_JOBS:-$(nproc)}
fuzz_scale=${WEFT_FUZZ_SCALE:-100}
status=0

run_suite() {  # name, build dir, cmake args...
  local name=$1 dir=$2
  shift 2
  echo "=== $name: configure and build ($dir)"
  mkdir -p "$dir"
  cmake -S . -B "$dir" -G Ninja "$@" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; return 1; }
  # `set -e` does not reach inside a function called with ||: every step says so itself.
  cmake --build "$dir" -j "$jobs" || { echo "=== $name: BUILD FAILED"; return 1; }
  echo "=== $name: ctest"
  (cd "$dir" && ctest -j "$jobs" --output-on-failure --timeout 900)
}

run_suite "release build (gcc)" build -DCMAKE_BUILD_TYPE=RelWithDebInfo || status=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
CC=clang CXX=clang++ run_suite "ASan+UBSan build with fuzzers (clang)" build-asan \
  -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=ON -DWEFT_FUZZ=ON -DWEFT_FUZZ_SCALE="$fuzz_scale" \
  -DWEFT_SIM_SEEDS=2 -DWEFT_SIM_NODES=40 || status=1

if [ "$status" -eq 0 ]; then echo "=== all suites passed"; else echo "=== FAILURES above"; fi
exit "$status"
