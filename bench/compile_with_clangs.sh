#!/bin/sh
# Which of our BPF programs compile with each clang, and how long ecc takes to
# compile one of them (warm cache, without the PCH, and from a cold cache).
#   bench/compile_with_clangs.sh [BUILD_DIR] [CLANG ...]
# Needs hyperfine (apt-get install hyperfine) for the timings.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
shift $(( $# > 0 ? 1 : 0 ))
clangs=${*:-$build/ecc-clang clang-19 clang-14}
ecc=$build/ecc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ECLI_CACHE_DIR="$work/cache"

programs=$(ls examples/*/*.bpf.c tests/data/*.bpf.c tests/data/*/*.bpf.c 2>/dev/null)
total=$(echo "$programs" | wc -l)
for clang in $clangs; do
  ok=0
  failed=""
  for p in $programs; do
    out="$work/out/$clang/$(echo "$p" | tr / _)"
    mkdir -p "$out"
    if "$ecc" -q --clang "$clang" -o "$out" "$p" >"$out/log" 2>&1; then
      ok=$((ok + 1))
    else
      failed="$failed\n    $p: $(tail -1 "$out/log")"
    fi
  done
  printf '%s (%s): %d of %d compile%b\n' "$(basename "$clang")" "$($clang -dumpversion)" "$ok" "$total" "$failed"
done

command -v hyperfine >/dev/null || { echo "hyperfine is not installed: no timings"; exit 0; }
example=examples/opensnoop/opensnoop.bpf.c
for clang in $clangs; do
  compile="$ecc -q --clang $clang -o $work/t $example"
  name=$(basename "$clang")
  hyperfine -N --style basic -w 3 -r 20 -n "$name, warm cache" "$compile" \
    -n "$name, --no-pch" "$compile --no-pch" 2>/dev/null | grep -E '^(Benchmark|  Time)'
  hyperfine -N --style basic -r 5 --prepare "rm -rf $ECLI_CACHE_DIR" -n "$name, cold cache" "$compile" 2>/dev/null |
    grep -E '^(Benchmark|  Time)'
done
