"""The Docker backend against a Docker-API engine ($DOCKER_HOST; Podman's socket in CI)."""

from __future__ import annotations

import os
import time

import pytest

from sandbox import Sandbox
from sandbox.docker_backend import docker_client
from sandbox.launch import SandboxUnavailable

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def docker_sandbox():
    try:
        docker_client()
    except SandboxUnavailable as exc:
        pytest.skip(f"no Docker-API engine: {exc}")
    with Sandbox(backend="docker", timeout_s=20) as sb:
        yield sb


def test_runs_in_a_container(docker_sandbox):
    r = docker_sandbox.run(
        "import os, sys\nprint(os.getuid(), sys.stdin.read(), open('f.txt').read())",
        stdin="in",
        files={"f.txt": "F"},
    )
    assert r.status == "ok", r
    uid, rest = r.stdout.split(" ", 1)
    assert int(uid) != 0 and rest == "in F\n"


def test_errors_and_bash(docker_sandbox):
    assert docker_sandbox.run("1/0").status == "error"
    r = docker_sandbox.run("echo hi; exit 3", language="bash")
    assert (r.stdout, r.exit_code) == ("hi\n", 3)


def test_no_network_and_read_only_root(docker_sandbox):
    r = docker_sandbox.run("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)")
    assert r.status == "error"
    r = docker_sandbox.run("open('/usr/evil', 'w')")
    assert r.status == "error" and ("Read-only" in r.stderr or "Permission" in r.stderr)


def test_timeout_and_memory(docker_sandbox):
    t = time.monotonic()
    assert docker_sandbox.run("while True: pass", timeout_s=2).status == "timeout"
    assert time.monotonic() - t < 30
    assert docker_sandbox.run("x = bytearray(4 * 1024**3)", memory_mb=128).status == "oom"


def test_unreachable_engine_refuses_with_reason(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(SandboxUnavailable, match="no Docker-API engine"):
        Sandbox(backend="docker", docker_url=None)


def test_image_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TOOLGYM_SANDBOX_IMAGE", "example/image:1")
    from sandbox import SandboxConfig

    assert SandboxConfig(backend="docker").image == "example/image:1"
    assert os.environ["TOOLGYM_SANDBOX_IMAGE"] == "example/image:1"


def test_a_run_finds_its_request_neither_on_a_command_line_nor_before_reading_stdin(docker_sandbox):
    from tests.sandbox.test_run_isolation import marker, scan

    secret = marker()
    r = docker_sandbox.run(
        "import os\nfor p in os.listdir('/proc'):\n    if p.isdigit():\n"
        "        try: print(open(f'/proc/{p}/cmdline', 'rb').read())\n        except OSError: pass\n",
        stdin=secret,
    )
    assert r.status == "ok" and r.stdout and secret not in r.stdout, r
    code = (
        "import os, sys\nr, w = os.pipe()\npid = os.fork()\nif pid == 0:\n    os.read(r, 1)\n"
        f"    exec({scan(secret)!r})\n    sys.stdout.flush(); os._exit(0)\n"
        "sys.stdin.read()\nos.write(w, b'x')\nos.waitpid(pid, 0)\n"
    )
    r = docker_sandbox.run(code, stdin=secret)
    assert (r.status, r.stdout) == ("ok", "[]\n"), r
