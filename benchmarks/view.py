"""Claim: ``toolgym view`` opens a run of 100,000 episodes within 2 s (time to the first page of the
episode table) and holds it in bounded memory (an index of offsets and figures, no episode text).

Writes a synthetic trajectories JSONL (realistic records: a system prompt, token ids and logprobs, 2-4
turns with tool calls, results and env ids) and measures, each in a fresh process:

- baseline: what reading the run without an index costs: ``agents.trajectory.load_jsonl`` of the whole
  file into ``Trajectory`` objects and the eval table's ``summarize_by_env`` (time and peak RSS);
- the viewer, cold (no cached index): ``toolgym view FILE`` started, then the time until the first page
  of the table is served over HTTP, until the whole file is indexed (summary over all), and a filtered
  and sorted page after that; peak RSS of the server;
- the viewer, warm (the index cached by the cold run): the same, from the process start.

Usage: python -m benchmarks.view [--episodes 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.headline import figure

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


def _hwm(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def viewer(path: Path, cache: Path, port: int) -> dict[str, float]:
    """Start ``toolgym view`` and time its first page, its full index and a filtered, sorted page."""
    env = {**os.environ, "TOOLGYM_CACHE": str(cache)}
    cmd = [sys.executable, "-m", "agents", "view", str(path), "--port", str(port)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/api/sources/0"
    out: dict[str, float] = {}
    try:
        with httpx.Client(timeout=60) as client:
            while True:
                try:
                    page = client.get(f"{base}/episodes", params={"limit": 50}).json()
                    if len(page["rows"]) == 50:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "viewer exited")
                time.sleep(0.02)
            out["first_page_s"] = time.perf_counter() - t0
            out["first_page_cpu_s"] = _cpu(proc.pid)
            out["indexed_at_first_page"] = page["status"]["episodes"]
            while not client.get(f"{base}/status").json()["done"]:
                time.sleep(0.05)
            out["indexed_s"] = time.perf_counter() - t0
            out["indexed_cpu_s"] = _cpu(proc.pid)
            t1 = time.perf_counter()
            summary = client.get(f"{base}/summary").json()
            out["summary_s"] = time.perf_counter() - t1
            out["episodes"] = summary["episodes"]
            t1 = time.perf_counter()
            params = {
                "success": "false",
                "env": "Countdown-v0",
                "sort": "reward",
                "desc": "true",
                "limit": 50,
            }
            client.get(f"{base}/episodes", params=params).raise_for_status()
            out["filtered_page_s"] = time.perf_counter() - t1
            t1 = time.perf_counter()
            client.get(f"{base}/episodes", params={**params, "offset": 20_000}).raise_for_status()
            out["next_page_s"] = time.perf_counter() - t1
            t1 = time.perf_counter()
            client.get(f"{base}/episodes/{summary['episodes'] - 1}").raise_for_status()
            out["open_episode_s"] = time.perf_counter() - t1
            out["peak_rss"] = _hwm(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=100_000)
    ap.add_argument("--port", type=int, default=8791)
    ap.add_argument("--keep", type=Path, default=None, help="Write the JSONL here and keep it.")
    ap.add_argument("--json", metavar="PATH", help="Also write the headline figures here.")
    args = ap.parse_args()
    figures = []
    work = Path(tempfile.mkdtemp(prefix="toolgym-view-bench-"))
    try:
        path = (args.keep or work) / "trajectories.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or args.keep is None:
            t = time.perf_counter()
            write_jsonl(path, args.episodes)
            print(
                f"wrote {args.episodes:,} episodes, {path.stat().st_size / MB:.0f} MiB, in {time.perf_counter() - t:.1f} s"
            )
        base_s, base_cpu, base_rss = baseline(path)
        print(
            f"baseline (load_jsonl + summarize_by_env): {base_s:.2f} s ({base_cpu:.2f} s CPU), "
            f"peak RSS {base_rss / MB:.0f} MiB"
        )
        cache = work / "cache"
        for name in ("cold", "warm"):
            r = viewer(path, cache, args.port)
            print(
                f"viewer {name}: first page {r['first_page_s']:.2f} s ({r['first_page_cpu_s']:.2f} s CPU, "
                f"{int(r['indexed_at_first_page']):,} indexed by then), all {int(r['episodes']):,} indexed "
                f"{r['indexed_s']:.2f} s ({r['indexed_cpu_s']:.2f} s CPU), summary {r['summary_s']:.2f} s, "
                f"filtered+sorted page {r['filtered_page_s'] * 1000:.0f} ms, page at 20,000 "
                f"{r['next_page_s'] * 1000:.0f} ms, open an episode {r['open_episode_s'] * 1000:.0f} ms, "
                f"peak RSS {r['peak_rss'] / MB:.0f} MiB"
            )
            print(
                f"  vs baseline: time to first page {base_s / r['first_page_s']:.1f}x less "
                f"(CPU {base_cpu / r['first_page_cpu_s']:.1f}x), to the full index {base_s / r['indexed_s']:.1f}x "
                f"(CPU {base_cpu / r['indexed_cpu_s']:.1f}x), peak memory {base_rss / r['peak_rss']:.1f}x less"
            )
            what = f"`toolgym view`, {args.episodes:,} episodes, {'first open' if name == 'cold' else 'reopened'}"
            baseline_name = "load_jsonl + summarize_by_env of the file"
            figures += [
                figure(f"{what}: first page from the process start", r["first_page_s"], "s", base_s, baseline_name,
                       base_s / r["first_page_s"], note=f"{r['first_page_cpu_s']:.2f} s CPU"),
                figure(f"{what}: peak RSS", r["peak_rss"] / MB, "MiB", base_rss / MB, baseline_name,
                       base_rss / r["peak_rss"]),
            ]  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        from benchmarks.headline import write

        write(args.json, figures)


if __name__ == "__main__":
    main()
