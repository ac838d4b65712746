"""The env server over loopback against stepping the same env in process.

1. Per-step overhead: Countdown (a puzzle whose step is cheap) played turn by turn, in process and
   through ``toolgym/Remote-v0`` on a server in a child process, in interleaved rounds over the same
   seeds and turns; the overhead is the remote step's p50 minus the in-process step's (target: <= 2 ms).
2. Concurrency: N remote envs (default 200), each its own session, open at once and each plays an
   episode; every episode must come back, the same as in process.

    python -m benchmarks.env_server                 # defaults: 400 steps x 5 rounds, 200 sessions
    python -m benchmarks.env_server --steps 200 --rounds 3 --sessions 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import gymnasium as gym

import envs  # noqa: F401

ENV_ID = "toolgym/Countdown-v0"
KWARGS = {"max_turns": 1000}
TURN = "<answer>1+2</answer>"  # a wrong answer ends the episode; a "no answer" turn keeps it going
MISS = "thinking, no answer yet"


def start_server(port: int, max_sessions: int) -> subprocess.Popen:
    import httpx

    cmd = [sys.executable, "-m", "agents", "env", "serve", ENV_ID, "--port", str(port)]
    cmd += ["--max-sessions", str(max_sessions)]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, env=dict(os.environ))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the env server did not start")


def step_times(env: Any, steps: int) -> list[float]:
    """Seconds per step over ``steps`` turns (no-answer turns, a reset every 50)."""
    out = []
    for i in range(steps):
        if i % 50 == 0:
            env.reset(seed=i)
        t = time.perf_counter()
        env.step(MISS)
        out.append(time.perf_counter() - t)
    return out


def overhead(url: str, steps: int, rounds: int) -> tuple[float, float, float, float]:
    local = gym.make(ENV_ID, **KWARGS)
    remote = gym.make("toolgym/Remote-v0", url=url, env_id=ENV_ID, **KWARGS)
    step_times(remote, 50)  # warm up
    step_times(local, 50)
    loc: list[float] = []
    rem: list[float] = []
    for _ in range(rounds):
        loc += step_times(local, steps)
        rem += step_times(remote, steps)
    remote.close()
    p50_l, p50_r = statistics.median(loc), statistics.median(rem)
    p90_r = statistics.quantiles(rem, n=10)[-1]
    return p50_l, p50_r, p90_r, p50_r - p50_l


def concurrent(url: str, sessions: int) -> tuple[int, int, float]:
    """(episodes back and equal to local, episodes lost or wrong, seconds for all)."""
    results: dict[int, Any] = {}
    barrier = threading.Barrier(sessions)

    def run(i: int) -> None:
        env = gym.make("toolgym/Remote-v0", url=url, env_id=ENV_ID)
        try:
            env.reset(seed=i)
            barrier.wait(timeout=300)
            obs, info = env.reset(seed=i)
            results[i] = (obs, env.step(TURN)[1:4])
        finally:
            env.close()

    t = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    wall = time.perf_counter() - t
    local = gym.make(ENV_ID)
    good = 0
    for i in range(sessions):
        obs, _ = local.reset(seed=i)
        if i in results and results[i] == (obs, local.step(TURN)[1:4]):
            good += 1
    return good, sessions - good, wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=400, help="steps per round and side")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--sessions", type=int, default=200, help="concurrent sessions")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    args = parser.parse_args()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = start_server(port, max(256, args.sessions))
    url = f"http://127.0.0.1:{port}"
    try:
        p50_l, p50_r, p90_r, over = overhead(url, args.steps, args.rounds)
        good, lost, wall = concurrent(url, args.sessions)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    command = "python -m benchmarks.env_server " + " ".join(sys.argv[1:])
    load = os.getloadavg()[0]
    print(f"# {command.strip()}  (load average {load:.1f}, {os.cpu_count()} CPUs)")
    print(f"{ENV_ID} step, {args.rounds} interleaved rounds of {args.steps} steps each side:")
    print(
        f"  in process p50 {p50_l * 1e3:.3f} ms; remote over loopback p50 {p50_r * 1e3:.3f} ms, p90 {p90_r * 1e3:.3f} ms"
    )
    print(f"  overhead p50 {over * 1e3:.3f} ms per step (target <= 2 ms): {'ok' if over <= 2e-3 else 'OVER'}")
    print(f"  ratio remote / in process p50: {p50_r / p50_l:.1f}x")
    print(
        f"{args.sessions} concurrent sessions: {good} episodes back and equal to in process, {lost} lost; {wall:.1f} s"
    )
    if args.json:
        from benchmarks.headline import figure, write

        write(args.json, [
            figure("env server, Countdown step over loopback: overhead p50", over * 1e3, "ms", p50_l * 1e3,
                   "the same env stepped in process (p50 of a step)", note="target <= 2 ms"),
            figure(f"env server, {args.sessions} concurrent sessions: episodes lost", lost, "lost"),
        ])  # fmt: skip


if __name__ == "__main__":
    main()
