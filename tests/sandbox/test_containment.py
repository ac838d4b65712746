"""Escape attempts: each is contained, and the sandbox keeps serving afterwards.

Every test runs against the embedded sandbox and through the service (the ``sandbox`` fixture)."""

from __future__ import annotations

import os
import socket
import time

import pytest

SHORT = 1.5  # seconds: timeouts of the attempts that never end
# code listing the processes of user code (any non-root uid) other than the caller
OTHER_RUN_PROCESSES = """import os
def others():
    found = []
    for p in os.listdir('/proc'):
        if p.isdigit() and int(p) != os.getpid():
            try:
                uid = [l for l in open(f'/proc/{p}/status') if l.startswith('Uid:')][0].split()[1]
            except OSError:
                continue
            if uid != '0':
                found.append(p)
    return found"""


@pytest.fixture(autouse=True)
def still_serving(sandbox):
    """After each attempt the same sandbox still runs code correctly."""
    yield
    r = sandbox.run("print(6 * 7)")
    assert (r.status, r.stdout) == ("ok", "42\n"), r


@pytest.fixture(scope="module")
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.1)
    yield srv
    srv.close()


def test_cannot_connect_to_a_local_listener(sandbox, listener):
    port = listener.getsockname()[1]
    r = sandbox.run(
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('CONNECTED')"
    )
    assert r.status == "error" and "CONNECTED" not in r.stdout
    with pytest.raises(TimeoutError):
        listener.accept()


def test_bash_cannot_connect_either(sandbox, listener):
    port = listener.getsockname()[1]
    r = sandbox.run(f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED", language="bash")
    assert r.status == "error" and "CONNECTED" not in r.stdout


def test_no_dns(sandbox):
    r = sandbox.run("import socket\nprint(socket.getaddrinfo('pypi.org', 443))")
    assert r.status == "error" and "gaierror" in r.stderr


@pytest.mark.parametrize("path", ["/usr/evil", "/etc/evil", "/evil", "/proc/sys/kernel/hostname"])
def test_cannot_write_outside_the_work_dir(sandbox, path):
    r = sandbox.run(f"open({path!r}, 'w').write('x')")
    assert r.status == "error"
    assert not os.path.exists(path) or path.startswith("/proc")


def test_work_dir_and_tmp_are_writable(sandbox):
    r = sandbox.run(
        "open('a.txt', 'w').write('x'); open('/tmp/b', 'w').write('y'); print(open('a.txt').read())"
    )
    assert (r.status, r.stdout) == ("ok", "x\n")


@pytest.mark.parametrize("path", ["/etc/shadow", "/root/.bashrc", "/proc/1/environ"])
def test_cannot_read_files_that_are_not_world_readable(sandbox, path):
    r = sandbox.run(f"print(open({path!r}).read())")
    assert r.status == "error"
    assert any(e in r.stderr for e in ("PermissionError", "FileNotFoundError")), r.stderr


def test_runs_as_an_unprivileged_uid_without_capabilities(sandbox):
    r = sandbox.run("import os\nprint(os.getuid(), os.geteuid())\nprint(open('/proc/self/status').read())")
    uid, euid = map(int, r.stdout.split("\n")[0].split())
    assert uid != 0 and euid != 0
    assert "CapEff:\t0000000000000000" in r.stdout and "NoNewPrivs:\t1" in r.stdout
    assert "Seccomp:\t2" in r.stdout


@pytest.mark.parametrize(
    "call", ["unshare(0x10000000)", "ptrace(16, 1, 0, 0)", "mount(b'x', b'/work', b'tmpfs', 0, 0)"]
)
def test_seccomp_refuses_namespace_debug_and_mount_calls(sandbox, call):
    r = sandbox.run(f"import ctypes\nprint(ctypes.CDLL(None, use_errno=True).{call}, ctypes.get_errno())")
    assert r.stdout.split() == ["-1", "1"], r  # EPERM


def test_fork_bomb_is_contained(sandbox):
    t = time.monotonic()
    r = sandbox.run(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        timeout_s=SHORT,
    )
    assert r.status == "timeout"
    assert time.monotonic() - t < SHORT + 10


@pytest.mark.parametrize(
    "code", ["x = bytearray(4 * 1024**3)", "x = []\nwhile True:\n    x.append(' ' * 10**6)"]
)
def test_memory_hog_is_oom(sandbox, code):
    r = sandbox.run(code, memory_mb=128, timeout_s=10)
    assert r.status == "oom", r


@pytest.mark.parametrize(
    ("code", "language"),
    [("while True: pass", "python"), ("import time; time.sleep(60)", "python"), ("sleep 60", "bash")],
)
def test_infinite_loop_and_long_sleep_time_out(sandbox, code, language):
    t = time.monotonic()
    r = sandbox.run(code, language=language, timeout_s=SHORT)
    assert r.status == "timeout"
    assert time.monotonic() - t < SHORT + 5


def test_kill_minus_one_only_kills_the_run(sandbox):
    r = sandbox.run("import os\nprint('before', flush=True)\nos.kill(-1, 9)")
    assert r.stdout == "before\n" and r.status in ("ok", "error")


def test_double_forked_daemon_does_not_outlive_its_run(sandbox):
    daemon = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(0.5)\n"
        "        open('/tmp/daemon-alive', 'w').write(str(os.getpid()))\n"
        "        time.sleep(60)\n"
        "    os._exit(0)\n"
        "print('parent done')\n"
    )
    r = sandbox.run(daemon)
    assert r.status == "ok" and r.stdout == "parent done\n"
    time.sleep(1.0)
    for _ in range(2):  # runs go to the fixture's two workers in turn: look from each
        check = sandbox.run(f"{OTHER_RUN_PROCESSES}\nprint(others())")
        assert check.stdout == "[]\n", check


def test_huge_output_is_capped(sandbox):
    r = sandbox.run("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", timeout_s=10)
    assert r.status == "output_limit"
    assert 0 < len(r.stdout) <= 1024 * 1024


def test_cannot_read_the_service_environment(sandbox, monkeypatch):
    os.environ["TOOLGYM_TEST_SECRET"] = "hunter2-secret"
    try:
        code = (
            "import os\nout = [repr(dict(os.environ))]\n"
            "for p in os.listdir('/proc'):\n"
            "    try:\n        out.append(open(f'/proc/{p}/environ', 'rb').read().decode())\n"
            "    except Exception as e:\n        out.append(type(e).__name__)\n"
            "print('\\n'.join(out))"
        )
        r = sandbox.run(code)
        assert r.status == "ok"
        assert "hunter2-secret" not in r.stdout and "TOOLGYM_TEST_SECRET" not in r.stdout
    finally:
        del os.environ["TOOLGYM_TEST_SECRET"]


def test_nothing_of_one_run_is_visible_to_the_next(sandbox):
    # enough runs that each warm worker serves at least two of them
    for i in range(6):
        r = sandbox.run(
            "import os, subprocess\n"
            "print(sorted(os.listdir('.')), sorted(os.listdir('/tmp')), sorted(os.listdir('/dev/shm')))\n"
            f"open('leak{i}', 'w').write('x'); open('/tmp/leak{i}', 'w').write('x'); open('/dev/shm/leak{i}', 'w')\n"
            "subprocess.Popen(['sleep', '30'], start_new_session=True)\n"
        )
        assert r.stdout == "[] [] []\n", r
    r = sandbox.run(f"{OTHER_RUN_PROCESSES}\nprint(others())")
    assert r.stdout == "[]\n"
