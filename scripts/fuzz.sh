#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz) for SECONDS each, one after the
# other, and prints a summary. Builds build-fuzz/ with clang-19 first when
# needed (-DECLI_FUZZ=ON). Exits non-zero when a target finds a crash, leak,
# timeout or sanitizer report; the input is kept under build-fuzz/findings/.
# New inputs go to build-fuzz/fuzz-corpus/<target>/ (not the seed corpus in
# git): copy the interesting ones to tests/fuzz/corpus/<target>/ by hand.
# Usage: scripts/fuzz.sh SECONDS [TARGET...]   (targets: package meta
# annotations render_plan core_subset event_format minisign oci_manifest; default all)
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
  exit 2
fi
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(package meta annotations render_plan core_subset event_format minisign oci_manifest)
build=${ECLI_FUZZ_BUILD:-build-fuzz}

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-19 CXX=clang++-19 cmake -S . -B "$build" -DECLI_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
fi
cmake --build "$build" --target fuzz_targets -j"$(nproc)" >/dev/null || { echo "fuzz.sh: build failed" >&2; exit 1; }

mkdir -p "$build/findings"
failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz.sh: no target $t" >&2; exit 2; }
  work="$build/fuzz-corpus/$t"
  mkdir -p "$work"
  log="$build/findings/$t.log"
  # tests/fuzz/TARGET.dict: the keywords of that format, when there is one.
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  # -timeout: one input may take at most 10 s (a hang is a finding);
  # -rss_limit_mb: 2 GiB (an input that makes us allocate more is one too).
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$build/findings/$t-" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  if [ $rc -eq 0 ]; then
    summary+=("$(printf '%-13s ok       %ss %s runs, %s' "$t" "$seconds" "${runs:-?}" "${cov:-cov: ?}")")
  else
    failed=1
    artifact=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //')
    summary+=("$(printf '%-13s FINDING  %s (log: %s)' "$t" "${artifact:-see log}" "$log")")
    grep -m3 -E 'ERROR: |runtime error:|SUMMARY:' "$log" | sed 's/^/    /'
  fi
done
echo "fuzz summary (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
exit $failed
