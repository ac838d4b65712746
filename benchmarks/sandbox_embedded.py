"""Claim: the embedded sandbox runs a trivial snippet with p50 <= 5 ms and at least 2.5x the runs per
second of a plain ``subprocess.run([python, "-c", code])`` at 1 and 64 callers, fully isolated
(bwrap + seccomp + uid, a fresh process and fresh tmpfs per run).

Each configuration alternates ours and the baseline for ``--rounds`` rounds of ``--total`` runs and
reports the median round of each.

Usage: python benchmarks/sandbox_embedded.py [--total 200] [--rounds 3] [--clients 1,8,64]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.headline import write  # noqa: E402
from benchmarks.sandbox_bench_util import (  # noqa: E402
    CPU_BOUND,
    TRIVIAL,
    alternating,
    load,
    row,
    sandbox_figures,
    subprocess_call,
)
from sandbox import Sandbox  # noqa: E402
from sandbox.launch import find_python  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=200, help="runs per measurement")
    parser.add_argument("--clients", default="1,8,64", help="concurrent callers, comma separated")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per measurement")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    args = parser.parse_args()
    figures = []
    python = find_python()
    print(f"interpreter {python}; {load()}")
    with Sandbox() as sb:
        print(f"warm workers: {sb.config.workers}")
        for name, code in (("trivial", TRIVIAL), ("cpu-bound", CPU_BOUND)):
            assert sb.run(code).status == "ok"
            for clients in map(int, args.clients.split(",")):
                ours, base = alternating(
                    lambda c=code: sb.run(c), subprocess_call(python, code), clients, args.total, args.rounds
                )
                print(row(f"embedded {name} c={clients}", ours, base), flush=True)
                if name == "trivial":
                    figures += sandbox_figures("embedded sandbox", clients, ours, base)
    print(f"after: {load()}")
    if args.json:
        write(args.json, figures)


if __name__ == "__main__":
    main()
