"""Fixtures: one embedded sandbox and one service (in a thread, on a free port) for the module tests."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from sandbox import Sandbox, SandboxClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceThread:
    """uvicorn serving ``app`` on a free port in a daemon thread; stopped by ``stop()``."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", backlog=2048)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("sandbox service did not come up")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def embedded():
    with Sandbox(workers=2, max_sessions=4) as sb:
        yield sb


@pytest.fixture(scope="session")
def service():
    """A service with its own sandbox, as ``toolgym sandbox serve`` runs it."""
    from sandbox.service import create_app

    svc = ServiceThread(create_app(workers=2, max_sessions=4))
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def client(service):
    with SandboxClient(service.url) as c:
        yield c


@pytest.fixture(params=["embedded", "service"])
def sandbox(request):
    """Each behaviour test runs against the embedded sandbox and through the service."""
    return request.getfixturevalue("embedded" if request.param == "embedded" else "client")
