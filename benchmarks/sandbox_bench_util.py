"""Shared measuring helpers for the sandbox benchmarks (not a benchmark itself)."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

TRIVIAL = "print(1)"
CPU_BOUND = "print(sum(i * i for i in range(300_000)))"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


def measure(call: Callable[[], object], clients: int, total: int) -> dict[str, float]:
    """``total`` calls spread over ``clients`` threads: runs/s and latency percentiles (ms)."""
    latencies: list[float] = []

    def one(_: int) -> None:
        t = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        list(ex.map(one, range(total)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "runs_per_s": total / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def alternating(
    ours: Callable[[], object], base: Callable[[], object], clients: int, total: int, rounds: int
):
    """``measure`` of ``ours`` and ``base`` in turns, ``rounds`` times each, so that a change in the
    machine's load hits both alike; the median round of each (by runs/s)."""
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "base": []}
    for _ in range(rounds):
        runs["ours"].append(measure(ours, clients, total))
        runs["base"].append(measure(base, clients, total))
    return tuple(sorted(r, key=lambda m: m["runs_per_s"])[len(r) // 2] for r in runs.values())


def subprocess_call(python: str, code: str) -> Callable[[], object]:
    """The baseline: a plain, unisolated ``subprocess.run([python, "-c", code])``."""
    return lambda: subprocess.run([python, "-c", code], capture_output=True, check=True)


def row(name: str, ours: dict[str, float], base: dict[str, float]) -> str:
    return (
        f"{name:<34} {ours['runs_per_s']:8.1f} runs/s  p50 {ours['p50_ms']:7.2f} ms  p99 {ours['p99_ms']:8.2f} ms"
        f" | subprocess {base['runs_per_s']:7.1f} runs/s p50 {base['p50_ms']:7.2f} ms"
        f" | ratio x{ours['runs_per_s'] / base['runs_per_s']:.2f} runs/s,"
        f" x{base['p50_ms'] / ours['p50_ms']:.2f} p50"
    )


def sandbox_figures(what: str, clients: int, ours: dict[str, float], base: dict[str, float]) -> list[dict]:
    """Headline figures of a trivial snippet at ``clients`` callers: runs/s (and p50 at one caller)."""
    from benchmarks.headline import figure

    out = [
        figure(f"{what}, trivial snippet, {clients} caller{'s' * (clients > 1)}", ours["runs_per_s"], "runs/s",
               base["runs_per_s"], "subprocess.run, no isolation", ours["runs_per_s"] / base["runs_per_s"])
    ]  # fmt: skip
    if clients == 1:
        out.append(
            figure(f"{what}, trivial snippet, p50 latency", ours["p50_ms"], "ms", base["p50_ms"],
                   "subprocess.run, no isolation", base["p50_ms"] / ours["p50_ms"])
        )  # fmt: skip
    return out
