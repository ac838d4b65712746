"""Claim: ``toolgym view`` opens a run of 100,000 episodes within 2 s (from starting the command to the
first page of the episode table served), cold (a new process, no cached index) and warm (the index
cached by an earlier open), and scrolls it in bounded memory (an index of offsets and figures, no
episode text).

Writes a synthetic trajectories JSONL (realistic records: a system prompt, token ids and logprobs, 2-4
turns with tool calls, results and env ids; 820 MiB for 100,000) and measures, each open in a fresh
process started as ``python -m agents view FILE --port 0``:

- time to the first page, ``--rounds`` interleaved rounds of: this checkout cold, this checkout warm
  and, with ``--against CHECKOUT`` (another checkout, e.g. ``git archive REV | tar -x -C DIR``), that
  checkout cold and warm, so a busy machine slows all alike; medians and ranges of the wall time and of
  the CPU time (user + system, less sensitive to other jobs) the server used up to it;
- once per checkout, the whole open: the first page, the whole file indexed, the summary, a filtered and
  sorted page, a page 20,000 rows in, an episode, then scrolling (``--scroll`` pages at offsets all
  over the table under different sorts and filters, and an episode opened every tenth page); resident
  memory (VmRSS) at the first page and after scrolling, and the peak (VmHWM);
- the baseline of reading the run without an index (unless ``--no-load-baseline``):
  ``agents.trajectory.load_jsonl`` of the whole file into ``Trajectory`` objects and the eval table's
  ``summarize_by_env``: time and peak RSS.

The JSONL stays in the page cache between opens (it was just written): "cold" is no cached index, not
a cold disk.

Usage: python -m benchmarks.view [--episodes 100000] [--rounds 5] [--against DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.headline import figure, write

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024

SYSTEM = (
    "You solve Countdown puzzles: combine the given numbers with +, -, * and / and parentheses to make the "
    "target, using each number at most once. Think it through, then give only the expression as the final "
    "answer.\n\n# Tools\n\nYou may call one or more functions to assist with the user query. " * 4
)


def synthetic(i: int, rng: random.Random) -> dict:
    """One trajectory record as eval writes it, with made-up content of realistic size."""
    nums = [rng.randint(1, 100) for _ in range(4)]
    target = rng.randint(10, 999)
    turns = []
    n_turns = rng.randint(2, 4)
    for t in range(n_turns):
        last = t == n_turns - 1
        n_ids = rng.randint(30, 90)
        call = {"name": "answer", "arguments": {"answer": f"{nums[0]} + {nums[1]}"}}
        if not last:
            call = {"name": "check", "arguments": {"candidate": f"{nums[0]} * {nums[2]}"}}
        text = f"Let me try {nums[0]} + {nums[1]}. <tool_call>{json.dumps(call)}</tool_call>"
        turns.append(
            {
                "completion_text": text,
                "completion_ids": [rng.randint(0, 150_000) for _ in range(n_ids)],
                "completion_logprobs": [round(-rng.random() * 3, 6) for _ in range(n_ids)],
                "forced": [],
                "env_messages": []
                if last
                else [{"role": "tool", "name": "check", "content": "incorrect: 412"}],
                "env_ids": [] if last else [rng.randint(0, 150_000) for _ in range(20)],
                "reward": 0.0,
                "reward_components": {"format": 0.0, "tool_cost": 0.0, "score": 0.0},
                "tool_calls": 0 if last else 1,
                "format_error": rng.random() < 0.05,
                "finish_reason": "stop",
            }
        )
    success = rng.random() < 0.3
    return {
        "env_id": rng.choice(["toolgym/Countdown-v0", "toolgym/KnightsKnaves-v0", "toolgym/Sudoku-v0"]),
        "task_id": f"task/{i // 4}",
        "seed": i // 4,
        "sample": i % 4,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Make {target} from {nums}."},
        ],
        "tools": [],
        "prompt_ids": [rng.randint(0, 150_000) for _ in range(rng.randint(200, 400))],
        "turns": turns,
        "reward": float(success),
        "reward_components": {"format": 0.0, "tool_cost": 0.0, "score": float(success)},
        "is_success": success,
        "answer": f"{nums[0]} + {nums[1]}",
        "error": None,
        "terminated": True,
        "truncated": False,
        "reference": f"{nums[2]} * {nums[3]}",
    }


def write_jsonl(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps(synthetic(i, rng)) + "\n")


BASELINE = """
import os, resource, sys, time
t0 = time.perf_counter()
from agents.metrics import summarize_by_env
from agents.trajectory import load_jsonl
trajs = list(load_jsonl(sys.argv[1]))
rows = summarize_by_env(trajs, 4)
cpu = sum(os.times()[:2])
print(time.perf_counter() - t0, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, len(trajs))
"""


def baseline(path: Path) -> tuple[float, float, int]:
    """(seconds, CPU seconds, peak RSS) of loading the whole file and summarizing it."""
    out = subprocess.run(
        [sys.executable, "-c", BASELINE, str(path)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    seconds, cpu, rss, _ = out.stdout.split()
    return float(seconds), float(cpu), int(rss)


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used: less noisy than wall time on a shared machine."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in bytes: resident memory now, and its peak."""
    got = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                got[line[:5]] = int(line.split()[1]) * 1024
    return got["VmRSS"], got["VmHWM"]


class Server:
    """``python -m agents view PATH --port 0`` of a checkout, started at construction."""

    def __init__(self, root: Path, path: Path, cache: Path):
        env = {**os.environ, "TOOLGYM_CACHE": str(cache), "PYTHONPATH": str(root)}
        cmd = [sys.executable, "-m", "agents", "view", str(path), "--port", "0"]
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if found is None:
            self.close()
            raise RuntimeError(
                f"the viewer did not start: {line}{self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        self.base = f"{found.group(0)}/api/sources/0"
        self.client = httpx.Client(timeout=120)

    def first_page(self) -> dict[str, float]:
        """Poll until the first 50 rows are served: seconds and CPU seconds since the start, memory."""
        while True:
            try:
                page = self.client.get(f"{self.base}/episodes", params={"limit": 50}).json()
                if len(page["rows"]) == 50:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read() if self.proc.stderr else "the viewer exited")
            time.sleep(0.01)
        seconds, cpu = time.perf_counter() - self.t0, _cpu(self.proc.pid)
        rss, _ = _memory(self.proc.pid)
        return {"s": seconds, "cpu": cpu, "rss": rss, "indexed": page["status"]["episodes"]}

    def close(self) -> None:
        if hasattr(self, "client"):
            self.client.close()
        self.proc.terminate()
        self.proc.wait(10)


def open_once(root: Path, path: Path, cache: Path) -> dict[str, float]:
    """Time to the first page of one open (``cache`` decides cold or warm)."""
    server = Server(root, path, cache)
    try:
        return server.first_page()
    finally:
        server.close()


def full_open(root: Path, path: Path, cache: Path, scroll: int) -> dict[str, float]:
    """One whole open, cold: the first page, the full index, the summary, pages and episodes, then
    ``scroll`` pages all over the table; leaves the index cached in ``cache``."""
    server = Server(root, path, cache)
    client, base = server.client, server.base
    out: dict[str, float] = {}
    try:
        first = server.first_page()
        out.update(first_page_s=first["s"], first_page_cpu_s=first["cpu"], first_page_rss=first["rss"])
        while not client.get(f"{base}/status").json()["done"]:
            time.sleep(0.05)
        out["indexed_s"] = time.perf_counter() - server.t0
        out["indexed_cpu_s"] = _cpu(server.proc.pid)
        t1 = time.perf_counter()
        summary = client.get(f"{base}/summary").json()
        out["summary_s"] = time.perf_counter() - t1
        n = out["episodes"] = summary["episodes"]
        params = {"success": "false", "env": "Countdown-v0", "sort": "reward", "desc": "true", "limit": 50}
        t1 = time.perf_counter()
        client.get(f"{base}/episodes", params=params).raise_for_status()
        out["filtered_page_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        client.get(f"{base}/episodes", params={**params, "offset": 20_000}).raise_for_status()
        out["next_page_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        client.get(f"{base}/episodes/{n - 1}").raise_for_status()
        out["open_episode_s"] = time.perf_counter() - t1
        out["indexed_rss"], _ = _memory(server.proc.pid)
        rng = random.Random(1)
        views = [
            {},
            {"sort": "reward", "desc": "true"},
            {"sort": "task"},
            {"sort": "turns", "desc": "true", "success": "true"},
            {"env": "Sudoku-v0", "sort": "tool_calls"},
        ]
        t1 = time.perf_counter()
        for i in range(scroll):
            params = {**views[i % len(views)], "offset": rng.randrange(0, n // 2), "limit": 100}
            page = client.get(f"{base}/episodes", params=params).json()
            if i % 10 == 0 and page["rows"]:
                client.get(f"{base}/episodes/{page['rows'][0]['id']}").raise_for_status()
        out["scroll_s"] = time.perf_counter() - t1
        out["scroll_rss"], out["peak_rss"] = _memory(server.proc.pid)
    finally:
        server.close()
    return out


def _range(values: list[float], fmt: str = ".2f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5, help="Interleaved rounds of cold and warm opens.")
    ap.add_argument("--against", type=Path, default=None, help="Another checkout, measured alike.")
    ap.add_argument("--scroll", type=int, default=200, help="Pages requested after the full index.")
    ap.add_argument("--no-load-baseline", action="store_true", help="Skip the load_jsonl baseline.")
    ap.add_argument("--keep", type=Path, default=None, help="Write the JSONL here and keep it (reused).")
    ap.add_argument("--json", metavar="PATH", help="Also write the headline figures here.")
    args = ap.parse_args()
    figures: list[dict] = []
    print("$ python -m benchmarks.view " + " ".join(sys.argv[1:]))
    work = Path(tempfile.mkdtemp(prefix="toolgym-view-bench-"))
    roots = {"this checkout": ROOT}
    if args.against is not None:
        roots[f"against {args.against}"] = args.against.resolve()
    try:
        path = (args.keep or work) / "trajectories.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or args.keep is None:
            t = time.perf_counter()
            write_jsonl(path, args.episodes)
            print(
                f"wrote {args.episodes:,} episodes, {path.stat().st_size / MB:.0f} MiB, in {time.perf_counter() - t:.1f} s"
            )
        else:
            print(f"reusing {path} ({path.stat().st_size / MB:.0f} MiB)")
        load = os.getloadavg()[0]
        full = {}
        for name, root in roots.items():  # builds each checkout's cache for the warm opens
            r = full[name] = full_open(root, path, work / name / "warm", args.scroll)
            print(
                f"{name}, one whole open: first page {r['first_page_s']:.2f} s ({r['first_page_cpu_s']:.2f} s CPU, "
                f"RSS {r['first_page_rss'] / MB:.0f} MiB), all {int(r['episodes']):,} indexed {r['indexed_s']:.1f} s "
                f"({r['indexed_cpu_s']:.1f} s CPU), summary {r['summary_s']:.2f} s more, filtered+sorted page "
                f"{r['filtered_page_s'] * 1000:.0f} ms, page at 20,000 {r['next_page_s'] * 1000:.0f} ms, an episode "
                f"{r['open_episode_s'] * 1000:.0f} ms; {args.scroll} pages scrolled in {r['scroll_s']:.1f} s; RSS "
                f"{r['indexed_rss'] / MB:.0f} MiB indexed, {r['scroll_rss'] / MB:.0f} MiB after scrolling, "
                f"peak {r['peak_rss'] / MB:.0f} MiB"
            )
        times: dict[tuple[str, str], list[dict[str, float]]] = {}
        for i in range(args.rounds):
            for name, root in roots.items():
                cold = open_once(root, path, work / name / f"cold{i}")
                times.setdefault((name, "cold"), []).append(cold)
                times.setdefault((name, "warm"), []).append(open_once(root, path, work / name / "warm"))
        print(
            f"time to the first page, {args.rounds} interleaved rounds, load average {load:.1f} -> {os.getloadavg()[0]:.1f}:"
        )
        for (name, kind), runs in times.items():
            print(
                f"  {name}, {kind}: {_range([r['s'] for r in runs])} s, CPU {_range([r['cpu'] for r in runs])} s, "
                f"RSS {_range([r['rss'] / MB for r in runs], '.0f')} MiB"
            )
        if args.against is not None:
            other = f"against {args.against}"
            for kind in ("cold", "warm"):
                mine, theirs = times["this checkout", kind], times[other, kind]
                wall = statistics.median(t["s"] / m["s"] for m, t in zip(mine, theirs, strict=True))
                cpu = statistics.median(t["cpu"] / m["cpu"] for m, t in zip(mine, theirs, strict=True))
                print(
                    f"  {kind}: {args.against} takes {wall:.2f}x the time of this checkout ({cpu:.2f}x the CPU), median of rounds"
                )
        if not args.no_load_baseline:
            base_s, base_cpu, base_rss = baseline(path)
            mine = full["this checkout"]
            cold = statistics.median(r["s"] for r in times["this checkout", "cold"])
            print(
                f"baseline (load_jsonl + summarize_by_env): {base_s:.1f} s ({base_cpu:.1f} s CPU), peak RSS "
                f"{base_rss / MB:,.0f} MiB: {base_s / cold:.0f}x the time to the viewer's cold first page, "
                f"{base_s / mine['indexed_s']:.1f}x the time to its full index, {base_rss / mine['peak_rss']:.0f}x its "
                "peak memory"
            )
        mine = full["this checkout"]
        base = (base_s, base_rss) if not args.no_load_baseline else (None, None)
        what = f"`toolgym view`, {args.episodes:,} episodes"
        baseline_name = "load_jsonl + summarize_by_env of the file"
        for kind, label in (("cold", "first open (no cached index)"), ("warm", "reopened (cached index)")):
            runs = times["this checkout", kind]
            first = statistics.median(r["s"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            figures.append(
                figure(
                    f"{what}, {label}: first page from the process start (median of {args.rounds})",
                    first,
                    "s",
                    base[0],
                    baseline_name if base[0] else "",
                    base[0] / first if base[0] else None,
                    note=f"{cpu:.2f} s CPU",
                )
            )
        figures.append(
            figure(
                f"{what}: peak RSS (index, summary, {args.scroll} pages scrolled)",
                mine["peak_rss"] / MB,
                "MiB",
                base[1] / MB if base[1] else None,
                baseline_name if base[1] else "",
                base[1] / mine["peak_rss"] if base[1] else None,
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        write(args.json, figures)


if __name__ == "__main__":
    main()
