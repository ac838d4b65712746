"""Claim: the sandbox scales out behind the stack's one address, and loses no request under load.

Drives the compose stack (brought up by ``.ci/stack-up``) at 1 and then N sandbox replicas, and for
each sends ``--clients`` concurrent clients' worth of ``POST /run`` to the load balancer for
``--seconds``. Every run prints a value derived from its request number, and the answer is checked,
so a request is lost when it errors, times out, gets a non-200 answer or the wrong output. Prints
runs/s, latency percentiles and lost requests per replica count, and the ratio to 1 replica.

    .ci/stack-up && DOCKER_HOST=unix:///tmp/toolgym-podman/podman.sock \\
        python benchmarks/stack_sandbox_scale.py --replicas 1,2 --clients 64 --seconds 20

Each replica is limited to ``--cpus-per-replica`` cores (compose's ``cpus``), so that on a small
machine a second replica has cores of its own to add.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

HEALTH = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=3)"


@dataclass
class LoadResult:
    replicas: int
    sent: int
    ok: int
    lost: int
    seconds: float
    latencies: list[float]
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def compose(args: argparse.Namespace, *words: str) -> None:
    env = dict(os.environ, TOOLGYM_SANDBOX_CPUS=str(args.cpus_per_replica))
    subprocess.run(
        [*shlex.split(args.compose), *words],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=300,
    )


def _ips(container) -> set[str]:
    networks = container.attrs["NetworkSettings"]["Networks"].values()
    return {n["IPAddress"] for n in networks if n.get("IPAddress")}


def wait_for_replicas(args: argparse.Namespace, n: int) -> None:
    """Until exactly ``n`` sandbox containers answer /health and the balancer lists exactly them."""
    import docker

    client = docker.from_env(timeout=30)
    project = os.environ.get("COMPOSE_PROJECT_NAME", "toolgym")

    def service(name: str) -> list:
        labels = [f"com.docker.compose.project={project}", f"com.docker.compose.service={name}"]
        return client.containers.list(filters={"label": labels})

    deadline = time.monotonic() + 180
    try:
        while True:
            replicas = service("sandbox")
            healthy = [c for c in replicas if c.exec_run(["python3", "-c", HEALTH]).exit_code == 0]
            wanted = set().union(*(_ips(c) for c in replicas)) if replicas else set()
            listed: set[str] = set()
            for lb in service("lb"):
                code, out = lb.exec_run(["cat", "/tmp/toolgym-upstreams.conf"])
                if code == 0:
                    listed |= {
                        line.split()[1].rsplit(":", 1)[0] for line in out.decode().splitlines() if line
                    }
            if len(replicas) == n and len(healthy) == n and listed == wanted:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(healthy)}/{n} sandbox replicas healthy, balancer lists {sorted(listed)}"
                    f" for {sorted(wanted)} after 180 s"
                )
            time.sleep(1)
    finally:
        client.close()
    time.sleep(args.settle)


async def load(url: str, clients: int, seconds: float, warmup: float, replicas: int) -> LoadResult:
    """``clients`` coroutines each send one run at a time until the time is up."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    counter = iter(range(10**9))
    stats = {"sent": 0, "ok": 0, "lost": 0}
    latencies: list[float] = []
    reasons: Counter[str] = Counter()
    start = time.monotonic()
    measure_from, stop = start + warmup, start + warmup + seconds

    async def client(http: httpx.AsyncClient) -> None:
        while (now := time.monotonic()) < stop:
            i = next(counter)
            counted = now >= measure_from
            reason = ""
            try:
                response = await http.post(f"{url}/run", json={"code": f"print({i} * {i})", "timeout_s": 10})
                body = response.json() if response.status_code == 200 else {}
                if response.status_code != 200:
                    reason = f"http {response.status_code}"
                elif body.get("status") != "ok":
                    reason = f"run status {body.get('status')}: {body.get('stderr', '')[-80:]!r}"
                elif body.get("stdout", "").strip() != str(i * i):
                    reason = "wrong output"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            good = not reason
            if reason:
                reasons[reason] += 1
            if counted and time.monotonic() <= stop:
                stats["sent"] += 1
                stats["ok" if good else "lost"] += 1
                if good:
                    latencies.append(time.monotonic() - now)
            elif not good:
                stats["lost"] += 1  # a lost request during warm-up is still lost

    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return LoadResult(replicas, stats["sent"], stats["ok"], stats["lost"], seconds, latencies, reasons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("TOOLGYM_SANDBOX_URL", "http://127.0.0.1:8080"))
    parser.add_argument(
        "--replicas", default="1,2", help="replica counts to measure, the first is the baseline"
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--cpus-per-replica", type=float, default=1.0)
    parser.add_argument(
        "--settle", type=float, default=1.0, help="seconds to wait once the balancer lists the replicas"
    )
    parser.add_argument(
        "--compose", default=os.environ.get("TOOLGYM_STACK_COMPOSE", "docker compose -f compose.yaml")
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the last replica count running (else back to 1)"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.replicas.split(",")]
    if not counts or min(counts) < 1 or args.clients < 1 or args.seconds <= 0:
        parser.error("--replicas needs counts >= 1, --clients >= 1 and --seconds > 0")

    results = []
    for n in counts:
        compose(args, "up", "-d", "--no-build", "--scale", f"sandbox={n}", "sandbox", "lb")
        wait_for_replicas(args, n)
        result = asyncio.run(load(args.url, args.clients, args.seconds, args.warmup, n))
        results.append(result)
        print(
            f"replicas={n} clients={args.clients} cpus/replica={args.cpus_per_replica:g}: "
            f"{result.rate:8.1f} runs/s  p50 {result.percentile(0.5):6.1f} ms  "
            f"p99 {result.percentile(0.99):6.1f} ms  sent {result.sent}  lost {result.lost}",
            flush=True,
        )
        for reason, count in result.reasons.most_common(5):
            print(f"    lost {count}: {reason}", flush=True)
    if not args.keep and counts[-1] != 1:
        compose(args, "up", "-d", "--no-build", "--scale", "sandbox=1", "sandbox", "lb")
    base = results[0]
    for result in results[1:]:
        print(
            f"ratio replicas={result.replicas} / replicas={base.replicas}: {result.rate / base.rate:.2f}x runs/s"
        )
    lost = sum(r.lost for r in results)
    print(f"lost requests: {lost}")
    raise SystemExit(1 if lost else 0)


if __name__ == "__main__":
    main()
