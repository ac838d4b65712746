"""Claim: the sandbox service holds 256 concurrent requests with none lost, and through HTTP still
beats a plain ``subprocess.run([python, "-c", code])`` in runs per second.

Starts ``toolgym sandbox serve`` as a subprocess on a free port, drives it with 1, 8, 64 and 256
concurrent asyncio clients (httpx), and runs the subprocess baseline at the same concurrency.

Usage: python benchmarks/sandbox_service.py [--total 256]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.sandbox_bench_util import CPU_BOUND, TRIVIAL, load, measure, row, subprocess_call  # noqa: E402
from sandbox.launch import find_python  # noqa: E402


async def drive(url: str, code: str, clients: int, total: int) -> tuple[dict[str, float], int]:
    """``total`` requests from ``clients`` concurrent clients; returns stats and how many failed."""
    latencies: list[float] = []
    failed = 0
    todo = iter(range(total))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal failed
        for i in todo:
            t = time.perf_counter()
            r = await http.post("/run", json={"code": code.replace("print(1)", f"print({i})")})
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200 or r.json()["status"] != "ok":
                failed += 1

    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=httpx.Limits(max_connections=clients)) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    stats = {"runs_per_s": total / elapsed, "p50_ms": 1000 * statistics.median(latencies),
             "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]}
    return stats, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=256, help="requests per measurement")
    parser.add_argument("--clients", default="1,8,64,256", help="concurrent clients, comma separated")
    args = parser.parse_args()
    python = find_python()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-c", "from agents.cli import main; main()", "sandbox", "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(url + "/health", timeout=2).json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("service did not start") from None
                time.sleep(0.2)
        print(f"service {url}: {health['workers']} warm workers; interpreter {python}; {load()}")
        lost = 0
        for name, code in (("trivial", TRIVIAL), ("cpu-bound", CPU_BOUND)):
            for clients in map(int, args.clients.split(",")):
                ours, failed = asyncio.run(drive(url, code, clients, args.total))
                lost += failed
                base = measure(subprocess_call(python, code), min(clients, 64), args.total)
                print(row(f"service {name} c={clients}", ours, base) + f" | lost {failed}/{args.total}", flush=True)
        print(f"requests lost in total: {lost}; after: {load()}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
