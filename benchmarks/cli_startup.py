"""How long the ``toolgym`` command takes to start, against a bare ``python -c pass`` in the same run.

Each round runs ``python -c pass``, ``toolgym --help`` and ``toolgym envs`` once, in that order, so a
busy machine slows all three alike; the figures are medians over the rounds of each command's wall
time and CPU time, and of its difference from ``python -c pass`` in the same round. ``toolgym`` is run as its
console script runs it (``from agents.cli import main; main()``) with this checkout on the path, so the
code measured is the code here, whatever ``pip install -e`` points at. The target is each command
within 0.3 s of ``python -c pass``.

    python -m benchmarks.cli_startup [--rounds 15] [--check] [--root OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.headline import figure, write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.3
TOOLGYM = "import sys; from agents.cli import main; sys.argv[0] = 'toolgym'; main()"
COMMANDS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "toolgym --help": ["-c", TOOLGYM, "--help"],
    "toolgym envs": ["-c", TOOLGYM, "envs"],
}


def run(args: list[str], root: Path = ROOT) -> tuple[float, float]:
    """(wall seconds, CPU seconds) from start to exit of ``python ARGS`` in the checkout, output
    discarded. CPU time (user + system) is less sensitive to other jobs than wall time."""
    env = {**os.environ, "COLUMNS": "120"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=root, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def measure(rounds: int, root: Path = ROOT) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) of every command, one run of each per round, after one unmeasured warm-up round."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for args in COMMANDS.values():
        run(args, root)  # warm the file cache and the bytecode
    for _ in range(rounds):
        for name, args in COMMANDS.items():
            times[name].append(run(args, root))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="Runs of each command, interleaved.")
    parser.add_argument("--check", action="store_true", help=f"Exit 1 if a command is {TARGET_S} s over.")
    parser.add_argument("--root", type=Path, default=ROOT, help="Checkout to measure (default: this one).")
    parser.add_argument("--json", metavar="PATH", help="Also write the headline figures here.")
    args = parser.parse_args()
    figures = []
    load = os.getloadavg()[0]
    times = measure(args.rounds, args.root.resolve())
    base = times["python -c pass"]
    print(f"{args.rounds} interleaved rounds, load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
    print(f"{'command':<16} {'wall s':>7} {'over pass':>10} {'CPU s':>7} {'over pass':>10}   (medians)")
    over_target = False
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        wall_over = statistics.median(w - b for (w, _), (b, _) in zip(runs, base, strict=True))
        cpu_over = statistics.median(c - b for (_, c), (_, b) in zip(runs, base, strict=True))
        extra = ("", "") if name == "python -c pass" else (f"{wall_over:+.3f}", f"{cpu_over:+.3f}")
        print(f"{name:<16} {wall:>7.3f} {extra[0]:>10} {cpu:>7.3f} {extra[1]:>10}")
        over_target |= name != "python -c pass" and wall_over > TARGET_S
        if name != "python -c pass":
            figures.append(
                figure(f"`{name}` start-up over `python -c pass`", wall_over, "s", statistics.median(b for b, _ in base),
                       "`python -c pass` itself, same rounds", note=f"target <= {TARGET_S} s; medians of {args.rounds} rounds")
            )  # fmt: skip
    print(f"target: within {TARGET_S} s of python -c pass: {'missed' if over_target else 'met'}")
    if args.json:
        write(args.json, figures)
    return 1 if args.check and over_target else 0


if __name__ == "__main__":
    sys.exit(main())
