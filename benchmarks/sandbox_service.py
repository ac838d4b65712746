"""Claim: the sandbox service holds 256 concurrent requests with none lost, and through HTTP still
beats a plain ``subprocess.run([python, "-c", code])`` in runs per second.

Starts ``toolgym sandbox serve`` as a subprocess on a free port, drives it with 1, 8, 64 and 256
concurrent keep-alive connections, and runs the subprocess baseline at the same concurrency.

Usage: python benchmarks/sandbox_service.py [--total 256]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.headline import figure, write  # noqa: E402
from benchmarks.sandbox_bench_util import (  # noqa: E402
    CPU_BOUND,
    TRIVIAL,
    load,
    measure,
    row,
    sandbox_figures,
    subprocess_call,
)
from sandbox.launch import find_python  # noqa: E402


class RawClient:
    """A minimal keep-alive HTTP/1.1 client (one connection), so that what is measured is the service
    and not the client library: httpx spends several ms of CPU per request at high concurrency, on the
    same cores as the service."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body).encode()
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, json.loads(await self.reader.readexactly(length))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def drive(port: int, code: str, clients: int, total: int) -> tuple[dict[str, float], int]:
    """``total`` requests from ``clients`` concurrent connections; returns stats and how many failed."""
    latencies: list[float] = []
    failed = 0
    todo = iter(range(total))

    async def client() -> None:
        nonlocal failed
        http = RawClient("127.0.0.1", port)
        try:
            for i in todo:
                t = time.perf_counter()
                try:
                    status, answer = await http.post(
                        "/run", {"code": code.replace("print(1)", f"print({i})")}
                    )
                except (OSError, ValueError, asyncio.IncompleteReadError):
                    status, answer = 0, {}
                    http.close()
                    http = RawClient("127.0.0.1", port)
                latencies.append(time.perf_counter() - t)
                if status != 200 or answer.get("status") != "ok":
                    failed += 1
        finally:
            http.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    stats = {
        "runs_per_s": total / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }
    return stats, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=256, help="requests per measurement")
    parser.add_argument("--clients", default="1,8,64,256", help="concurrent clients, comma separated")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    args = parser.parse_args()
    figures = []
    python = find_python()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-c",
        "from agents.cli import main; main()",
        "sandbox",
        "serve",
        "--port",
        str(port),
    ]
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
                ours, failed = asyncio.run(drive(port, code, clients, args.total))
                lost += failed
                base = measure(subprocess_call(python, code), min(clients, 64), args.total)
                print(
                    row(f"service {name} c={clients}", ours, base) + f" | lost {failed}/{args.total}",
                    flush=True,
                )
                if name == "trivial":
                    figures += sandbox_figures("sandbox service", clients, ours, base)
        print(f"requests lost in total: {lost}; after: {load()}")
        most = max(map(int, args.clients.split(",")))
        figures.append(figure(f"sandbox service, requests lost at {most} concurrent clients", lost, "lost"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.json:
        write(args.json, figures)


if __name__ == "__main__":
    main()
