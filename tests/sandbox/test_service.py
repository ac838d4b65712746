"""The HTTP service: validation, capacity, 256 concurrent requests, health, metrics, crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import httpx
import pytest

from sandbox import Sandbox
from sandbox.service import create_app
from tests.sandbox.conftest import ServiceThread


def test_health_and_metrics(service, client):
    client.run("print(1)")
    health = httpx.get(service.url + "/health").json()
    assert health["status"] == "ok" and health["backend"] == "bwrap" and health["workers"] == 2
    text = httpx.get(service.url + "/metrics").text
    assert 'toolgym_sandbox_runs_total{status="ok"}' in text and "toolgym_sandbox_pending" in text


@pytest.mark.parametrize(
    "body",
    [
        {"language": "python"},
        {"code": "x", "language": "ruby"},
        {"code": "x", "timeout_s": 0},
        {"code": "x", "memory_mb": 1},
        {"code": "x", "files": {"../../etc/passwd": "x"}},
    ],
)
def test_invalid_requests_get_422(service, body):
    r = httpx.post(service.url + "/run", json=body)
    assert r.status_code == 422


def test_client_raises_on_bad_input_before_sending(client):
    with pytest.raises(ValueError, match="memory_mb"):
        client.run("x", memory_mb=1)


def test_run_batch_over_http(service):
    r = httpx.post(
        service.url + "/run_batch",
        json=[{"code": "print(1)"}, {"code": "echo 2", "language": "bash"}],
        timeout=30,
    )
    assert [x["stdout"] for x in r.json()] == ["1\n", "2\n"]


def test_256_concurrent_requests_none_lost(service):
    n = 256

    async def main():
        limits = httpx.Limits(max_connections=n)
        async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=120) as http:
            return await asyncio.gather(*(http.post("/run", json={"code": f"print({i})"}) for i in range(n)))

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * n
    assert [r.json()["stdout"] for r in responses] == [f"{i}\n" for i in range(n)]


def test_past_capacity_answers_429_at_once():
    sb = Sandbox(workers=1)
    svc = ServiceThread(create_app(sb, max_pending=1))
    try:
        slow = threading.Thread(
            target=lambda: httpx.post(
                svc.url + "/run", timeout=30, json={"code": "import time; time.sleep(4)"}
            )
        )
        slow.start()
        time.sleep(0.5)
        t = time.monotonic()
        r = httpx.post(svc.url + "/run", json={"code": "print(1)"}, timeout=30)
        assert r.status_code == 429 and time.monotonic() - t < 3.0  # not after the 4 s run
        assert r.headers["retry-after"] == "1"
        slow.join()
        assert "toolgym_sandbox_rejected_total 1" in httpx.get(svc.url + "/metrics").text
    finally:
        svc.stop()
        sb.close()


def test_crashed_worker_is_a_sandbox_error_over_http():
    sb = Sandbox(workers=1)
    svc = ServiceThread(create_app(sb))
    try:
        out: list[httpx.Response] = []
        t = threading.Thread(
            target=lambda: out.append(
                httpx.post(
                    svc.url + "/run",
                    json={"code": "import time; time.sleep(20)", "timeout_s": 15},
                    timeout=60,
                )
            )
        )
        t.start()
        deadline = time.monotonic() + 10
        while not sb._pool.busy_workers() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(sb._pool.busy_workers()[0].proc.pid, signal.SIGKILL)
        t.join(timeout=60)
        assert out[0].status_code == 200 and out[0].json()["status"] == "sandbox_error"
        assert httpx.post(svc.url + "/run", json={"code": "print(5)"}, timeout=30).json()["stdout"] == "5\n"
    finally:
        svc.stop()
        sb.close()


def test_sessions_over_http(service):
    r = httpx.post(service.url + "/sessions", json={"timeout_s": 5}).json()
    sid = r["id"]
    assert httpx.post(f"{service.url}/sessions/{sid}/run", json={"code": "y = 7"}).json()["status"] == "ok"
    assert httpx.post(f"{service.url}/sessions/{sid}/run", json={"code": "y * 6"}).json()["stdout"] == "42\n"
    assert httpx.delete(f"{service.url}/sessions/{sid}").status_code == 200
    assert httpx.post(f"{service.url}/sessions/{sid}/run", json={"code": "y"}).status_code == 404


def test_session_cap_over_http_is_429(service):
    ids = []
    try:
        for _ in range(4):
            ids.append(httpx.post(service.url + "/sessions", json={}, timeout=30).json()["id"])
        assert httpx.post(service.url + "/sessions", json={}, timeout=30).status_code == 429
    finally:
        for sid in ids:
            httpx.delete(f"{service.url}/sessions/{sid}")
