"""Every headline figure from one command: runs the benchmarks that back the README's and the docs'
figures, each in a process of its own with ``--json``, and writes ``docs/figures.json`` (the data),
``docs/figures.md`` (the table, with the machine it ran on) and the README's table (between
``<!-- figures:start -->`` and ``<!-- figures:end -->``) from the same data.

    python -m benchmarks.figures [--quick] [--only NAME ...] [--list] [--render]

``--quick`` runs smaller sizes and fewer rounds (each row's command says which); ``--only`` reruns
some benchmarks and keeps the other rows; ``--render`` rewrites the Markdown from docs/figures.json
without measuring. Adding a benchmark is one ``Bench`` in ``BENCHES``: the script takes ``--json PATH``
and writes its figures with ``benchmarks.headline.write``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "figures.json"
TABLE = ROOT / "docs" / "figures.md"
README = ROOT / "README.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
COLUMNS = ("figure", "measured", "baseline in the same run", "ratio", "command")


@dataclass(frozen=True)
class Bench:
    """One benchmark: ``python -m MODULE ARGS --json PATH`` (``QUICK`` instead of ``ARGS`` with ``--quick``)."""

    name: str
    module: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    timeout_s: float = 3600.0


BENCHES: list[Bench] = [
    Bench("env_steps", "benchmarks.env_steps", (), ("--episodes", "100")),
    Bench("puzzles_generation", "benchmarks.puzzles_generation", (), ("--puzzles", "5", "--budget-s", "0.5")),
    Bench(
        "sandbox_embedded",
        "benchmarks.sandbox_embedded",
        (),
        ("--total", "60", "--rounds", "1", "--clients", "1,8"),
    ),
    Bench("sandbox_service", "benchmarks.sandbox_service", (), ("--total", "128", "--clients", "1,128")),
    Bench("sandbox_memory", "benchmarks.sandbox_memory"),
    Bench("code_humaneval", "benchmarks.code_humaneval", ("--repeats", "3"), ("--repeats", "1")),
    Bench(
        "code_humaneval_against",
        "benchmarks.code_humaneval",
        ("--against", "7c4796e", "--repeats", "5"),
        ("--against", "7c4796e", "--repeats", "3"),
    ),
    Bench(
        "retrieval_service",
        "benchmarks.retrieval_service",
        (),
        ("--entities", "5000", "--rounds", "10", "--warmup", "40", "--settle-s", "20", "--singles", "100"),
    ),
    Bench("rollout_engine", "benchmarks.rollout_engine", (), ("--rounds", "5", "--tool-rounds", "2")),
    Bench("agents_tool_concurrency", "benchmarks.agents_tool_concurrency", (), ("--episodes", "16")),
    Bench("cli_startup", "benchmarks.cli_startup", ("--rounds", "21"), ("--rounds", "7")),
    Bench("generation", "benchmarks.generation", ("--repeats", "2"), ("--tasks", "2", "--max-tokens", "16")),
    Bench("peers", "benchmarks.peers", (), ("--rounds", "5", "--episodes", "10")),
    Bench("sandbox_numpy", "benchmarks.sandbox_numpy", (), ("--total", "20", "--rounds", "1")),
    Bench("ray_rollout", "benchmarks.ray_rollout", ("--rounds", "9"), ("--rounds", "3", "--tool-rounds", "2")),
    Bench("view", "benchmarks.view", (), ("--episodes", "20000")),
    Bench(
        "env_server",
        "benchmarks.env_server",
        (),
        ("--steps", "200", "--rounds", "3", "--sessions", "100"),
    ),
]


def machine() -> dict[str, Any]:
    """Facts about the machine that the figures were measured on."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem = next((int(line.split()[1]) // 1024 for line in meminfo if line.startswith("MemTotal:")), 0)
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return {
        "cores": os.cpu_count(),
        "memory_mib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "revision": rev.stdout.strip(),
    }


def run(bench: Bench, quick: bool) -> dict[str, Any]:
    """Run one benchmark in a process of its own; its figures and the load around it."""
    args = bench.quick if quick else bench.args
    with tempfile.TemporaryDirectory(prefix="toolgym-figures-") as tmp:
        out = Path(tmp) / "figures.json"
        cmd = [sys.executable, "-m", bench.module, *args, "--json", str(out)]
        print(f"== {bench.name}: python -m {bench.module} {' '.join(args)}", flush=True)
        load_before, start = os.getloadavg(), time.perf_counter()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=bench.timeout_s, check=False)
        if proc.returncode != 0 or not out.is_file():
            raise RuntimeError(
                f"{bench.name}: `{' '.join(cmd)}` exited {proc.returncode} without its figures"
            )
        data = json.loads(out.read_text())
    return {
        "date": today(),
        "mode": "quick" if quick else "full",
        "command": data["command"],
        "seconds": round(time.perf_counter() - start, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": data["load"],
        "figures": data["figures"],
    }


def number(x: float) -> str:
    """A figure as the tables print it."""
    if x == int(x) and abs(x) >= 1:
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.2g}" if x else "0"


def ratio(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.0f}x" if x >= 10 else f"{x:.2g}x" if x < 1 else f"{x:.1f}x"


def rows(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """The table's rows (the columns of ``COLUMNS``), in ``BENCHES``' order, then any other bench's."""
    order = [b.name for b in BENCHES] + sorted(set(data["benches"]) - {b.name for b in BENCHES})
    out = []
    for name in order:
        bench = data["benches"].get(name)
        for f in bench["figures"] if bench else []:
            measured = f"{number(f['value'])} {f['unit']}"
            if f.get("note"):
                measured += f" ({f['note']})"
            base = "-"
            if f.get("baseline") is not None:
                base = f"{f['baseline_name']}: {number(f['baseline'])} {f['unit']}"
            elif f.get("baseline_name"):
                base = f["baseline_name"]
            cells = (f["name"], measured, base, ratio(f.get("ratio")), f"`{f['command']}`")
            out.append(tuple(c.replace("|", "\\|") for c in cells))
    return out


def markdown(header: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body]) + "\n"


def render_table(data: dict[str, Any]) -> str:
    """docs/figures.md."""
    m = data["machine"]
    runs = "; ".join(
        f"{name} {b['mode']} ({b['seconds']:.0f} s, load {b['load_before'][0]:.1f} -> {b['load_after'][0]:.1f})"
        for name, b in data["benches"].items()
    )
    dates = sorted(b["date"] for b in data["benches"].values()) or ["-"]
    when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    return (
        "# Measured figures\n\n"
        "<!-- Generated by `python -m benchmarks.figures` from docs/figures.json; do not edit by hand. -->\n\n"
        f"Measured {when} at revision {m['revision']} on {m['cores']} cores, "
        f"{m['memory_mib'] / 1024:.0f} GiB, Python {m['python']}, {m['platform']}; the machine is shared with "
        f"other jobs, so absolute times are noisy and the ratio against the baseline, measured in the same "
        f'run, is what to read. A ratio reads "times better than the baseline": ours / baseline for a rate, '
        f"baseline / ours for a time or a size.\n\n"
        f"Each benchmark, its mode (quick: smaller sizes and fewer rounds than its defaults, as its command "
        f"shows), its time and the load average (1 min) before and after it: {runs}.\n\n"
        "Regenerate with `python -m benchmarks.figures` (`--quick` for the quick sizes, `--only NAME` for one "
        "benchmark, `--list` for the names). Not here: the compose stack's load test, which needs the stack "
        "up ([stack.md](stack.md)), and `benchmarks.learning`, a training result rather than a speed "
        "([training.md](training.md)).\n\n" + markdown(COLUMNS, rows(data))
    )


def render_readme(data: dict[str, Any], readme: str) -> str:
    """The README with its table between the markers replaced."""
    if START not in readme or END not in readme:
        raise ValueError(f"README.md has no {START} ... {END} section")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{markdown(COLUMNS, rows(data))}{END}{tail}"


def table_rows(text: str) -> list[tuple[str, ...]]:
    """The body rows of the first Markdown table in ``text`` whose header is ``COLUMNS``."""
    lines = text.splitlines()
    head = "| " + " | ".join(COLUMNS) + " |"
    i = lines.index(head) + 2
    out = []
    while i < len(lines) and lines[i].startswith("|"):
        out.append(tuple(c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip())[1:-1]))
        i += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds (each row says so)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these; keep the other rows")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and their commands")
    ap.add_argument("--render", action="store_true", help="rewrite the Markdown from docs/figures.json")
    args = ap.parse_args()
    names = {b.name for b in BENCHES}
    if args.list:
        for b in BENCHES:
            print(
                f"{b.name:<26} python -m {b.module} {' '.join(b.args)}  (quick: {' '.join(b.quick) or 'same'})"
            )
        return
    unknown = set(args.only or ()) - names
    if unknown:
        ap.error(f"--only: no benchmark named {', '.join(sorted(unknown))} (see --list)")
    data = json.loads(DATA.read_text()) if DATA.is_file() and (args.only or args.render) else {"benches": {}}
    failed = []
    if not args.render:
        data["machine"] = machine()
        for bench in BENCHES:
            if args.only is None or bench.name in args.only:
                try:
                    data["benches"][bench.name] = run(bench, args.quick)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    print(f"FAILED {e}", file=sys.stderr, flush=True)
                    data["benches"].pop(bench.name, None)  # no earlier row beside this run's
                    failed.append(bench.name)
                DATA.write_text(json.dumps(data, indent=1) + "\n")
    TABLE.write_text(render_table(data))
    README.write_text(render_readme(data, README.read_text()))
    print(f"wrote {DATA.relative_to(ROOT)}, {TABLE.relative_to(ROOT)} and the table in README.md")
    if failed:
        raise SystemExit(f"these benchmarks failed, their rows are left out: {', '.join(failed)}")


def today() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


if __name__ == "__main__":
    main()
