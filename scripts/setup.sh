#!/usr/bin/env bash
# Installs every dependency from Debian's archive and builds ecc, ecli, the
# tests and the benchmarks into build/. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git
  clang llvm libclang-dev                 # BPF compiler, libclang for doc comments
  libbpf-dev libelf-dev zlib1g-dev        # loading, CO-RE, BTF
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libbenchmark-dev           # tests and benchmarks
  bpftool                                 # ecli: minimal CO-RE BTF (BTFGen); tests: prog listing
  iproute2 iputils-ping util-linux bsdutils  # tests: netns and ping, setpriv, script
  libbpf-tools bpftrace                   # peers compared in bench/
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
