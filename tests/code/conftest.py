"""Fixtures of the code env tests: one embedded sandbox for the session (the shared one envs use)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from envs.code.interpreter import sandbox_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sandbox():
    """The shared embedded sandbox (bubblewrap); the tests fail if it cannot start."""
    return sandbox_for(None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def service_url():
    """A sandbox service (``sandbox.service.serve``) in a subprocess for the session, stopped after."""
    port = _free_port()
    code = f"from sandbox.service import serve; serve(port={port}, workers=2)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the sandbox service did not start: {proc.stderr.read().decode()[-2000:]}"
                )
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
