"""Claim: a warm sandbox worker (bwrap and its fork server, modules preloaded) costs <= 30 MB.

Measures each warm worker's whole process tree (RSS and PSS from /proc/PID/smaps_rollup), against a
baseline of a bare ``python3 -c 'import time; time.sleep(60)'`` in the same run.

Usage: python benchmarks/sandbox_memory.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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


def main() -> None:
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
        sizes = [rollup(w.proc.pid) for w in sb._pool.workers()]
    for i, s in enumerate(sizes):
        print(f"worker {i}: RSS {s['Rss'] / MB:5.1f} MB  PSS {s['Pss'] / MB:5.1f} MB")
    worst_rss = max(s["Rss"] for s in sizes)
    worst_pss = max(s["Pss"] for s in sizes)
    print(f"bare interpreter: RSS {base['Rss'] / MB:5.1f} MB  PSS {base['Pss'] / MB:5.1f} MB")
    print(
        f"worst warm worker: RSS {worst_rss / MB:.1f} MB (x{worst_rss / base['Rss']:.2f} of a bare interpreter), "
        f"PSS {worst_pss / MB:.1f} MB; target <= 30 MB: {'met' if worst_rss <= 30 * MB else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
