#!/bin/bash
# Off-CPU stacks of a whole machine for SECONDS, side by side in one run:
# libbpf-tools' offcputime (multi-line stacks; Debian's has no -f), ecli running examples/offcputime
# (--folded) and a bpftrace script doing the same. Each tool runs ROUNDS
# times, interleaved, under the same load: processes that start, block and
# exit all the time (short-lived shells), plus a long-lived one. Reported per
# tool, medians: the time it took past SECONDS (detach, read the maps,
# symbolize, print), its CPU time (user + system), its peak resident memory,
# the stacks it printed (ecli: unique folded stacks; the others: one per key),
# the frames in them, and how many of those had no name ([unknown] or a bare
# address; libbpf-tools leaves out the user frames it cannot name).
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
# bpftrace 0.17 (Debian 12) has no tuple map keys: the stacks of a thread
# that leaves the CPU wait in maps until it comes back.
cat >"$work/offcpu.bt" <<'BT'
tracepoint:sched:sched_switch {
  @start[tid] = nsecs;
  @ks[tid] = kstack;
  @ust[tid] = ustack;
  @comm[tid] = comm;
  $last = @start[args->next_pid];
  if ($last) {
    @us[@ks[args->next_pid], @ust[args->next_pid], @comm[args->next_pid]] = sum((nsecs - $last) / 1000);
    delete(@start[args->next_pid]);
  }
}
END { clear(@start); clear(@ks); clear(@ust); clear(@comm); }
BT

# The load: short-lived processes that block (sleep, read, wait), all the time.
( while :; do sh -c 'sleep 0.01; cat /etc/passwd >/dev/null; ls /usr/bin >/dev/null'; done ) &
( while :; do sleep 0.05; done ) &

run_tool() {  # name, command...
  local name=$1; shift
  local out="$work/$name.out" stats="$work/$name.stats"
  /usr/bin/time -f "%e %U %S %M" -o "$stats" "$@" >"$out" 2>"$work/$name.err" || true
  local counts
  # stacks, frames, frames without a name: ecli folds frames with ';' after
  # the comm; offcputime prints a frame per line and "-  comm (pid)" after
  # each stack; bpftrace a frame per line ("sym+off", or a bare address).
  case $name in
    ecli) counts=$(awk '{ n = split($0, f, ";"); st++; fr += n - 1; for (i = 2; i <= n; i++) if (f[i] ~ /^\[unknown\]/) un++ }
                        END { print st + 0, fr + 0, un + 0 }' "$out") ;;
    libbpf-tools) counts=$(awk '/^    -  / { st++; next } /^    [^ ]/ { fr++; if ($0 ~ /\[unknown\]/) un++ }
                               END { print st + 0, fr + 0, un + 0 }' "$out") ;;
    bpftrace) counts=$(awk '/^@us\[/ { st++; next } /^    [^ ]/ { fr++; if ($0 ~ /^    (0x[0-9a-f]+|\[unknown\])$/) un++ }
                           END { print st + 0, fr + 0, un + 0 }' "$out") ;;
  esac
  read -r wall user sys rss < <(tail -1 "$stats")  # after "Command exited with non-zero status" when there is one
  echo "$name $wall $user $sys $rss $counts" >>"$work/results"
}

for round in $(seq "$rounds"); do
  run_tool libbpf-tools offcputime "$seconds"
  run_tool ecli "$build/ecli" run --folded -d "$seconds" "$ecli_pkg/package.json"
  run_tool bpftrace timeout -s INT "$seconds" bpftrace "$work/offcpu.bt"
done

printf '%-13s %12s %9s %9s %9s %9s %9s\n' tool "past end ms" "CPU ms" "RSS MB" "stacks" "frames" "unnamed"
for tool in libbpf-tools ecli bpftrace; do
  grep "^$tool " "$work/results" | awk -v s="$seconds" '
    { past[NR] = ($2 - s) * 1000; cpu[NR] = ($3 + $4) * 1000; rss[NR] = $5 / 1024; st[NR] = $6;
      fr[NR] = $7; un[NR] = $8 }
    function median(a, n,   i, j, t) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return a[int((n + 1) / 2)] }
    END { printf "%-13s %12.0f %9.0f %9.1f %9.0f %9.0f %9.0f\n", $1, median(past, NR), median(cpu, NR),
          median(rss, NR), median(st, NR), median(fr, NR), median(un, NR) }'
done
