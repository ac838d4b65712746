"""Tiers (bwrap by default, rlimits only on request), worker crashes, get_sandbox, the CLI."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from sandbox import ExecResult, Sandbox, SandboxClient, get_sandbox
from sandbox.launch import SandboxUnavailable


def test_rlimits_tier_is_refused_unless_opted_in():
    with pytest.raises(SandboxUnavailable, match="allow_unsafe"):
        Sandbox(backend="rlimits")


def test_rlimits_tier_warns_loudly_and_still_bounds_runs():
    with (
        pytest.warns(UserWarning, match="NO filesystem, network or process isolation"),
        Sandbox(backend="rlimits", allow_unsafe=True, workers=1) as sb,
    ):
        assert sb.run("import os; print(os.getuid() != 0)").stdout == "True\n"
        assert sb.run("while True: pass", timeout_s=1).status == "timeout"
        assert sb.run("x = bytearray(2 * 1024**3)", memory_mb=128).status == "oom"


def test_missing_bwrap_says_how_to_install(monkeypatch):
    from sandbox import launch

    def no_bwrap():
        raise SandboxUnavailable(f"no bwrap binary found. {launch.INSTALL_HINT}")

    monkeypatch.setattr(launch, "find_bwrap", no_bwrap)
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        Sandbox(workers=1)


def test_a_crashed_worker_gives_sandbox_error_and_is_replaced():
    with Sandbox(workers=1) as sb:
        results: list[ExecResult] = []
        t = threading.Thread(
            target=lambda: results.append(sb.run("import time; time.sleep(30)", timeout_s=20))
        )
        t.start()
        deadline = time.monotonic() + 10
        while not sb._pool.busy_workers() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(sb._pool.busy_workers()[0].proc.pid, signal.SIGKILL)
        t.join(timeout=30)
        assert results[0].status == "sandbox_error" and results[0].exit_code is None
        assert sb.run("print('replaced')").stdout == "replaced\n"


def test_get_sandbox_picks_client_by_url(monkeypatch):
    monkeypatch.setenv("TOOLGYM_SANDBOX_URL", "http://127.0.0.1:9")
    client = get_sandbox()
    assert isinstance(client, SandboxClient) and client is get_sandbox()
    assert get_sandbox("http://127.0.0.1:10").url == "http://127.0.0.1:10"


def test_get_sandbox_embedded_is_shared(monkeypatch):
    monkeypatch.delenv("TOOLGYM_SANDBOX_URL", raising=False)
    sb = get_sandbox()
    assert isinstance(sb, Sandbox) and sb is get_sandbox()
    assert sb.run("print(2)").stdout == "2\n"


def test_warm_worker_memory_is_reported(embedded):
    embedded.run("pass")
    sizes = embedded.worker_rss_bytes()
    assert sizes and all(s > 0 for s in sizes)


def test_cli_run(tmp_path):
    import typer
    from typer.testing import CliRunner

    from agents.cli import sandbox_cmds

    app = typer.Typer()
    sandbox_cmds.register(app)
    script = tmp_path / "s.py"
    script.write_text("print('from cli')")
    result = CliRunner().invoke(app, ["sandbox", "run", str(script), "--url", ""])
    assert result.exit_code == 0, result.output
    assert "from cli" in result.output


def test_a_worker_that_does_not_finish_cleaning_is_replaced_without_failing_the_request(monkeypatch):
    from sandbox import worker

    monkeypatch.setattr(worker, "CLEAN_TIMEOUT_S", 0.0)  # no cleanup acknowledgement ever arrives in time
    with Sandbox(workers=1) as sb:
        first = sb._pool.workers()[0]
        assert [sb.run(f"print({i})").stdout for i in range(3)] == ["0\n", "1\n", "2\n"]
        assert not first.alive


UNPRIVILEGED_SCRIPT = """
import sys
sys.path[:0] = {paths!r}
from sandbox import Sandbox
with Sandbox(workers=1) as sb:
    print(sb.run("import os; print(os.getuid() != {uid}, os.listdir('.'))").stdout.strip())
    print(sb.run("import socket; socket.socket()").status)
    print(sb.run("open('left-behind', 'w'); open('/usr/x', 'w')").status)
    print(sb.run("import os; print(os.listdir('.'))").stdout.strip())
    print(sb.run("import os; os.kill(1, 9); os.kill(2, 9)").status)  # runs can hit the server here...
    print(sb.run("print('replaced')").stdout.strip())  # ...which is then replaced
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="switches to an unprivileged uid, which needs root")
def test_bwrap_backend_as_an_unprivileged_user():
    import subprocess
    import sysconfig

    from sandbox.launch import find_python

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = UNPRIVILEGED_SCRIPT.format(paths=[root, sysconfig.get_paths()["purelib"]], uid=65534)
    out = subprocess.run(
        [
            "setpriv",
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "env",
            "HOME=/tmp",
            find_python(),
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["True []", "error", "error", "[]", "sandbox_error", "replaced"], (
        out.stdout
    )


def test_a_forked_child_gets_its_own_sandbox(monkeypatch):
    monkeypatch.delenv("TOOLGYM_SANDBOX_URL", raising=False)
    parent = get_sandbox()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's sandbox refuses, get_sandbox() gives a fresh one
        try:
            try:
                parent.run("print(1)")
                ok = False
            except RuntimeError:
                ok = get_sandbox() is not parent and get_sandbox().run("print(3)").stdout == "3\n"
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert parent.run("print(2)").stdout == "2\n"
