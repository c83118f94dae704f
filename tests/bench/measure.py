#!/usr/bin/env python3
"""Runs a command N times and prints its best CPU time, the wall time of that run and the
largest peak RSS, for tests/bench/eval.sh.

`/usr/bin/time` reports CPU time in 10 ms steps, too coarse for runs of 40 ms; `os.wait4`
returns the child's `rusage` in microseconds. Usage: measure.py RUNS COMMAND [ARGS...]
Prints "cpu_ms wall_ms max_rss_kib" (CPU = user + system, best of RUNS; RSS = largest of RUNS).
"""

import os
import subprocess
import sys
import time


def run_once(argv):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = 0  # reaped by wait4; keep Popen from waiting again
    cpu = usage.ru_utime + usage.ru_stime
    return cpu * 1000, wall * 1000, usage.ru_maxrss


def main():
    runs = int(sys.argv[1])
    argv = sys.argv[2:]
    best = None
    max_rss = 0
    for _ in range(runs):
        cpu, wall, rss = run_once(argv)
        max_rss = max(max_rss, rss)
        if best is None or cpu < best[0]:
            best = (cpu, wall)
    print(f"{best[0]:.1f} {best[1]:.1f} {max_rss}")


if __name__ == "__main__":
    main()
