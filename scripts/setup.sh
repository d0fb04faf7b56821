#!/usr/bin/env bash
# Installs every dependency from Debian's archive and builds ecc, ecli, the
# tests and the benchmarks into build/. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

# libbpf 1.4 and bpftool 7.5 come from Debian's bookworm-backports suite
# (libbpf 1.1 lacks BPF_UPROBE, bpf_for, tcx and uprobe-multi helpers). Only
# these packages are taken from it; nothing else is pinned there.
backports=(libbpf-dev libbpf1 bpftool)
packages=(
  build-essential cmake pkg-config git
  clang-19 libclang-19-dev llvm-19-dev libpolly-19-dev libzstd-dev lld-19  # ecc-clang: clang 19 linked statically (BPF v4, signed division), its resource headers
  clang llvm                              # clang 14: ecc --clang clang-14, compared in bench/
  libelf-dev zlib1g-dev                   # loading, CO-RE, BTF
  libdw-dev liblzma-dev libiberty-dev     # symbolizing stacks: libdwfl, MiniDebugInfo, C++/Rust demangling
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libsodium-dev minisign                  # package signatures; tests: the real minisign both ways
  libcurl4-openssl-dev                    # registries and URL targets (HTTP(S), TLS verification)
  docker-registry skopeo apache2-utils python3  # tests: a real OCI registry, skopeo inspect/copy, htpasswd, a URL server
  libcpp-httplib-dev curl prometheus     # --metrics; tests: scrapes, promtool check metrics
  libgtest-dev libbenchmark-dev           # tests and benchmarks
  libclang-rt-19-dev                      # scripts/fuzz.sh: clang-19's libFuzzer runtime (-fsanitize=fuzzer)
  iproute2 iputils-ping util-linux bsdutils  # tests: netns and ping, setpriv, script
  libxml2-utils                           # tests: xmllint checks the SVG flame graphs
  libbpf-tools bpftrace hyperfine time    # peers compared in bench/, and timing
  busybox-static                          # tests: containers (a busybox image for podman, with podman runc below)
  podman runc catatonit mmdebstrap python3-yaml libcap2-bin  # scripts/deploy-check.sh: Debian base image, build, kube play of the DaemonSet's pod (catatonit: its pause image), capsh
)
export DEBIAN_FRONTEND=noninteractive
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
# The installed version of a backports package must be at least this one.
backports_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null) || return 1
  case "$1" in
    bpftool) dpkg --compare-versions "$v" ge 7.4 ;;
    *) dpkg --compare-versions "$v" ge 1:1.4 ;;
  esac
}

list=/etc/apt/sources.list.d/bookworm-backports.list
if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" >"$list"
fi
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
from_backports=()
for p in "${backports[@]}"; do backports_ok "$p" || from_backports+=("$p/bookworm-backports"); done
if ((${#missing[@]} + ${#from_backports[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" "${from_backports[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
