#!/usr/bin/env bash
# The sanitizer report files of a test run (ASAN_OPTIONS/UBSAN_OPTIONS
# log_path, set by ctest_environment.cmake.in for every test and the ecli and
# ecc they start). "clear" empties the folder before the tests, "check" after
# them prints every report and fails when there is one.
# Usage: reports.sh clear|check DIR
set -uo pipefail
action=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: reports.sh clear|check DIR" >&2; exit 2; }
case "$action" in
  clear)
    rm -rf "$dir" && mkdir -p "$dir" ;;
  check)
    shopt -s nullglob
    reports=("$dir"/*)
    if [ ${#reports[@]} -eq 0 ]; then
      echo "no sanitizer reports in $dir"
      exit 0
    fi
    for r in "${reports[@]}"; do
      echo "=== $r"
      cat "$r"
    done
    echo "${#reports[@]} sanitizer report(s) in $dir (above)" >&2
    exit 1 ;;
  *)
    echo "usage: reports.sh clear|check DIR" >&2; exit 2 ;;
esac
