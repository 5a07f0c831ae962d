#!/usr/bin/env bash
# Installs every build, test and demo dependency of weft from Debian's packages.
# Idempotent: a second run finds everything present and installs nothing.
# --no-install-recommends: only what is listed and its dependencies (recommends can pull in a kernel image).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libboost-dev libboost-system-dev libsodium-dev capnproto libcapnp-dev
  libnl-3-dev libnl-genl-3-dev libnl-route-3-dev liblmdb-dev lmdb-utils
  libspdlog-dev libfmt-dev librapidcheck-dev libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libqrencode-dev
  iproute2 iptables procps curl python3
  dnsutils knot-dnsutils dnsmasq-base
  wireguard-go wireguard-tools iputils-ping busybox-static docker.io
  stun-client coturn conntrack tcpdump
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi
