#!/usr/bin/env bash
# The demo. Today it shows the cluster-state layer on real LMDB data dirs (weft-state-demo);
# the real mesh in network namespaces replaces it as the agent lands (issue 10).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target weft-state-demo
./build/tools/weft-state-demo
