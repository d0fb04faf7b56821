#!/bin/bash
# Off-CPU stacks of a whole machine for SECONDS, side by side in one run:
# libbpf-tools' offcputime (folded, -f), ecli running examples/offcputime
# (--folded) and a bpftrace script doing the same. Each tool runs ROUNDS
# times, interleaved, under the same load: processes that start, block and
# exit all the time (short-lived shells), plus a long-lived one. Reported per
# tool, medians: the time it took past SECONDS (detach, read the maps,
# symbolize, print), its CPU time (user + system), its peak resident memory,
# the stacks it printed, and the share of user frames it could not name.
#   sudo bench/stacks.sh [BUILD_DIR] [SECONDS] [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
seconds=${2:-5}
rounds=${3:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export ECLI_CACHE_DIR="$work/cache"
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing

ecli_pkg="$work/offcputime"
"$build/ecc" -q -o "$ecli_pkg" examples/offcputime/offcputime.bpf.c
cat >"$work/offcpu.bt" <<'BT'
tracepoint:sched:sched_switch {
  @start[args.prev_pid] = nsecs;
  @stack[args.prev_pid] = (kstack, ustack, args.prev_comm);
  if (@start[args.next_pid]) {
    @us[@stack[args.next_pid]] = sum((nsecs - @start[args.next_pid]) / 1000);
    delete(@start[args.next_pid]);
  }
}
END { clear(@start); clear(@stack); }
BT

# The load: short-lived processes that block (sleep, read, wait), all the time.
( while :; do sh -c 'sleep 0.01; cat /etc/passwd >/dev/null; ls /usr/bin >/dev/null'; done ) &
( while :; do sleep 0.05; done ) &

run_tool() {  # name, command...
  local name=$1; shift
  local out="$work/$name.out" stats="$work/$name.stats"
  /usr/bin/time -f "%e %U %S %M" -o "$stats" "$@" >"$out" 2>"$work/$name.err" || true
  local lines unknown frames
  lines=$(grep -c . "$out" || true)
  # Frames ecli and offcputime -f fold with ';'; bpftrace prints one per line.
  frames=$(tr ';' '\n' <"$out" | grep -c . || true)
  unknown=$(tr ';' '\n' <"$out" | grep -c -e '\[unknown\]' -e '^ *0x[0-9a-f]*$' || true)
  read -r wall user sys rss <"$stats"
  echo "$name $wall $user $sys $rss $lines $frames $unknown" >>"$work/results"
}

for round in $(seq "$rounds"); do
  run_tool libbpf-tools offcputime -f "$seconds"
  run_tool ecli "$build/ecli" run --folded -d "$seconds" "$ecli_pkg/package.json"
  run_tool bpftrace timeout -s INT "$seconds" bpftrace "$work/offcpu.bt"
done

printf '%-13s %12s %9s %9s %9s %12s\n' tool "past end ms" "CPU ms" "RSS MB" "stacks" "unnamed %"
for tool in libbpf-tools ecli bpftrace; do
  grep "^$tool " "$work/results" | awk -v s="$seconds" '
    { past[NR] = ($2 - s) * 1000; cpu[NR] = ($3 + $4) * 1000; rss[NR] = $5 / 1024; st[NR] = $6;
      un[NR] = $7 ? 100 * $8 / $7 : 0 }
    function median(a, n,   i, j, t) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return a[int((n + 1) / 2)] }
    END { printf "%-13s %12.0f %9.0f %9.1f %9.0f %12.1f\n", $1, median(past, NR), median(cpu, NR),
          median(rss, NR), median(st, NR), median(un, NR) }'
done
