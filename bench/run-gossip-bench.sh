#!/usr/bin/env bash
# Gossip benchmark, weft vs HashiCorp memberlist, side by side on loopback (not part of CI).
# Installs Go and memberlist from Debian, builds the memberlist driver in GOPATH mode outside
# the tree, builds weft, and runs bench/gossip_bench.py. Extra arguments go to the script
# (e.g. --nodes 32 --trials 40).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export DEBIAN_FRONTEND=noninteractive
dpkg-query -W golang-go golang-github-hashicorp-memberlist-dev python3 >/dev/null 2>&1 ||
  apt-get install -y -qq --no-install-recommends golang-go golang-github-hashicorp-memberlist-dev python3
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target weft
gopath=$(mktemp -d)
mkdir -p "$gopath/src/memberlist_driver"
cp bench/memberlist_driver/main.go "$gopath/src/memberlist_driver/"
(cd "$gopath/src/memberlist_driver" && GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off go build -o "$gopath/memberlist_driver" .)
python3 bench/gossip_bench.py --weft build/weft --memberlist "$gopath/memberlist_driver" "$@"
rm -rf "$gopath"
