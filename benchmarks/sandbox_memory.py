"""Claim: a warm sandbox worker (bwrap, its server, its zygote and the next run's child, modules
preloaded) costs <= 30 MB.

Measures each warm worker's whole process tree from /proc/PID/smaps_rollup, against a baseline of a
bare ``python3 -c 'import time; time.sleep(60)'`` in the same run. PSS is what the claim is judged
on: the worker's processes are forks of one interpreter and share most pages, which RSS counts once
per process (so the RSS of a tree overstates its cost by about the interpreter's size per process).
As a check that does not depend on how shared pages are split, the drop in the machine's
MemAvailable per worker is printed too, for a second pool of 8 workers started after the first.

Usage: python benchmarks/sandbox_memory.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.headline import figure, write  # noqa: E402
from benchmarks.sandbox_bench_util import load  # noqa: E402
from sandbox import Sandbox  # noqa: E402
from sandbox.launch import find_python  # noqa: E402

MB = 1024 * 1024


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return pids


def rollup(pid: int) -> dict[str, int]:
    """RSS and PSS in bytes of a process tree."""
    total = {"Rss": 0, "Pss": 0}
    for p in tree(pid):
        with open(f"/proc/{p}/smaps_rollup") as f:
            for line in f:
                key = line.split(":")[0]
                if key in total:
                    total[key] += int(line.split()[1]) * 1024
    return total


def available() -> int:
    """MemAvailable of the machine, in bytes."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    args = parser.parse_args()
    python = find_python()
    print(f"interpreter {python}; {load()}")
    bare = subprocess.Popen([python, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(1.0)
        base = rollup(bare.pid)
    finally:
        bare.kill()
        bare.wait()
    with Sandbox(workers=4) as sb:
        for _ in range(20):
            sb.run("print(1)")
        time.sleep(0.5)  # each worker's next child is forked after its last run
        sizes = [rollup(w.proc.pid) for w in sb._pool.workers()]
        before = available()
        with Sandbox(workers=8) as more:
            for _ in range(40):
                more.run("print(1)")
            time.sleep(0.5)
            per_worker = (before - available()) / 8
    for i, s in enumerate(sizes):
        print(f"worker {i}: RSS {s['Rss'] / MB:5.1f} MB  PSS {s['Pss'] / MB:5.1f} MB")
    worst_rss = max(s["Rss"] for s in sizes)
    worst_pss = max(s["Pss"] for s in sizes)
    print(f"bare interpreter: RSS {base['Rss'] / MB:5.1f} MB  PSS {base['Pss'] / MB:5.1f} MB")
    print(f"MemAvailable drop per warm worker (8 more workers): {per_worker / MB:.1f} MB")
    print(
        f"worst warm worker: PSS {worst_pss / MB:.1f} MB (a bare interpreter: {base['Pss'] / MB:.1f} MB), "
        f"RSS {worst_rss / MB:.1f} MB; target PSS <= 30 MB: {'met' if worst_pss <= 30 * MB else 'NOT met'}"
    )
    if args.json:
        write(args.json, [
            figure("warm sandbox worker memory (PSS, worst of 4)", worst_pss / MB, "MB", base["Pss"] / MB,
                   "a bare interpreter's PSS", note="target <= 30 MB"),
            figure("MemAvailable drop per warm sandbox worker", per_worker / MB, "MB"),
        ])  # fmt: skip


if __name__ == "__main__":
    main()
