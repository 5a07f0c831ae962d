#!/usr/bin/env bash
# DNS benchmark (not part of CI): weft vs dnsmasq and NSD, ranked against a do-nothing
# responder measured in the same run (see bench/dns_bench.py). Installs dnsperf and nsd.
#   bench/run-dns-bench.sh [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export DEBIAN_FRONTEND=noninteractive
dpkg-query -W dnsperf nsd python3 >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends dnsperf nsd python3
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target weft
null=$(mktemp)
cc -O2 -Wall -Wextra -o "$null" bench/dns_null_responder.c
python3 bench/dns_bench.py --weft build/weft --null "$null" "$@"
rm -f "$null"
