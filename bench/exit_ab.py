#!/usr/bin/env python3
"""Exit times side by side: SIGINT to the end of the process, interleaved rounds.

Usage: sudo bench/exit_ab.py PACKAGE ROUNDS TOOL...
A TOOL whose name contains "ecli" runs as `TOOL run PACKAGE --pid_target 1`
(timed once it says "running"); any other runs as `TOOL -p 1` (libbpf-tools
style, timed half a second after its start). Every tool runs once per round;
medians are reported.
"""
import os
import signal
import statistics
import subprocess
import sys
import time

package, rounds, tools = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = {t: [] for t in tools}
for _ in range(rounds):
    for tool in tools:
        is_ecli = "ecli" in os.path.basename(tool)
        argv = [tool, "run", package, "--pid_target", "1"] if is_ecli else [tool, "-p", "1"]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if is_ecli:
            while b"running" not in p.stderr.readline():
                pass
        else:
            time.sleep(0.5)
        time.sleep(0.3)
        start = time.perf_counter()
        p.send_signal(signal.SIGINT)
        p.wait()
        times[tool].append((time.perf_counter() - start) * 1000)
for tool in tools:
    t = times[tool]
    print(f"{tool:40} median {statistics.median(t):6.1f} ms  min {min(t):6.1f}  max {max(t):6.1f}")
