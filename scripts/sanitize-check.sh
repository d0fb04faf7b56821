#!/usr/bin/env bash
# CI's sanitizer stage (README "Sanitizers"): builds build-hardened/ with
# clang-19 and -DECLI_FUZZ=ON, which puts AddressSanitizer (with leak
# checking) and UndefinedBehaviorSanitizer into everything but ecc-clang
# (ecli, ecc, the tests; clang's libraries are not built with them) and adds
# the libFuzzer targets. Then runs
# that build's whole CTest suite (unit and kernel tests against the real
# kernel, the fuzz corpus replays, and a last test that fails on any
# sanitizer report of any ecli/ecc started), and finally every fuzz target
# for a short smoke run (scripts/fuzz.sh on the same build).
# Usage: scripts/sanitize-check.sh [FUZZ_SECONDS]   (default 20 per target)
# Environment: ECLI_HARDENED_BUILD=DIR (default build-hardened).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds=${1:-20}
build=${ECLI_HARDENED_BUILD:-build-hardened}
started=$SECONDS
stage() { echo "sanitize-check: $1 ($((SECONDS - started)) s so far)"; }

stage "building $build (clang-19, ASan+UBSan)"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-19 CXX=clang++-19 cmake -S . -B "$build" -DECLI_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# What the tests use, not the benchmarks.
cmake --build "$build" -j"$(nproc)" --target ecli ecc ecc-clang unit_tests kernel_tests fuzz_targets

stage "running the test suite under the sanitizers"
# -j2: unit tests and corpus replays run side by side; kernel tests are
# RUN_SERIAL and run alone. Not deploy_check (label deploy): it builds the
# container image around this ecli and runs it in a pod, five minutes that
# test the packaging, not code the kernel tests do not already run here;
# the normal suite runs it.
ctest --test-dir "$build" --output-on-failure -j2 -LE deploy

stage "fuzz smoke run, ${fuzz_seconds} s per target"
ECLI_FUZZ_BUILD="$build" scripts/fuzz.sh "$fuzz_seconds"

stage "passed"
