#!/usr/bin/env bash
# The main job, end to end: compile the hello example with ecc, then run it
# with ecli for a few seconds, filtered to a shell that writes three lines.
set -euo pipefail
cd "$(dirname "$0")/.."
build/ecc examples/hello/hello.bpf.c -o build/demo/hello
bash -c 'sleep 1; for i in 1 2 3; do echo "hello from $$" >/dev/null; done; sleep 2' &
writer=$!
build/ecli run --duration 3 build/demo/hello/package.json --pid_filter "$writer"
wait "$writer"
