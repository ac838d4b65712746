"""Fixtures of the env server tests: servers on free loopback ports, run by uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openenv  # noqa: F401  (the openenv extra: a test dependency, a missing one fails here)
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(env_ids: tuple[str, ...] = (), **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """An env server on a free loopback port for the ``with`` block: yields its URL and its app."""
    import uvicorn

    from envs.server.service import create_app

    app = create_app(env_ids, **kwargs)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the env server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=30)


ENV_IDS = ("toolgym/Countdown-v0", "toolgym/PythonTool-v0", "toolgym/SearchQA-v0")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Any]]:
    """One server for a module: Countdown (the default), PythonTool and SearchQA, 256 sessions."""
    with running_server(ENV_IDS, max_sessions=256, idle_timeout_s=120) as s:
        yield s
