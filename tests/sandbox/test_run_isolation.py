"""No run sees another run's data, changes what the next run sees, or steps around its limits.

One warm worker per sandbox here, so that consecutive runs are served by the same worker, against
the embedded sandbox and through the service."""

from __future__ import annotations

import base64
import os
import secrets

import pytest

from sandbox import Sandbox, SandboxClient
from sandbox.fork_server import remove_tree
from tests.sandbox.conftest import ServiceThread

# Searches every readable mapping of the run's own memory for a marker, as it is and as base64 (the
# form requests carry it in): each form's first half in clear, the rest xor-ed, so that the scanner
# itself never holds a whole marker. Prints the mappings where one was found.
SCAN = """
def scan(head, tail):
    head, tail = bytes.fromhex(head), bytes.fromhex(tail)
    found = []
    with open('/proc/self/maps') as maps, open('/proc/self/mem', 'rb', 0) as mem:
        for line in maps:
            parts = line.split()
            if 'r' not in parts[1] or (len(parts) > 5 and parts[5] in ('[vvar]', '[vsyscall]')):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split('-'))
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, OverflowError, ValueError):
                continue
            at = data.find(head)
            while at >= 0:
                rest = data[at + len(head) : at + len(head) + len(tail)]
                if len(rest) == len(tail) and all(a ^ 0xFF == b for a, b in zip(rest, tail)):
                    found.append(line.strip())
                    break
                at = data.find(head, at + 1)
    return found
print([where for head, tail in FORMS for where in scan(head, tail)])
"""


@pytest.fixture(scope="module")
def one_worker():
    with Sandbox(workers=1, max_sessions=4) as sb:
        yield sb


@pytest.fixture(scope="module")
def one_worker_service():
    from sandbox.service import create_app

    svc = ServiceThread(create_app(workers=1, max_sessions=4))
    with SandboxClient(svc.url) as client:
        yield client
    svc.stop()


@pytest.fixture(params=["embedded", "service"])
def box(request):
    return request.getfixturevalue("one_worker" if request.param == "embedded" else "one_worker_service")


def marker() -> str:
    return "SECRET" + secrets.token_hex(12)


def scan(secret: str) -> str:
    """Code that prints where in its memory ``secret`` (or its base64 form) is found."""
    forms = []
    for data in (secret.encode(), base64.b64encode(secret.encode())[:-4]):
        half = len(data) // 2
        forms.append((data[:half].hex(), bytes(b ^ 0xFF for b in data[half:]).hex()))
    return f"FORMS = {forms!r}\n" + SCAN


def test_a_run_finds_nothing_of_the_runs_before_it(box):
    secret = marker()
    # the secret as code, stdin, a file and output of earlier runs on the same worker
    assert box.run(f"x = {secret!r}\nprint(x)").stdout == secret + "\n"
    assert box.run("import sys; sys.stdin.read()", stdin=secret).status == "ok"
    assert box.run("print(open('f').read())", files={"f": secret}).stdout == secret + "\n"
    r = box.run(scan(secret))
    assert (r.status, r.stdout) == ("ok", "[]\n"), r


def test_a_process_forked_before_reading_stdin_never_holds_it(box):
    # how the grader keeps the hidden tests from the submission: fork first, then read stdin
    secret = marker()
    code = (
        "import os, sys\n"
        "r, w = os.pipe()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.read(r, 1)\n"
        f"    exec({scan(secret)!r})\n"
        "    sys.stdout.flush(); os._exit(0)\n"
        "data = sys.stdin.read()\n"
        "os.write(w, b'x')\n"
        "os.waitpid(pid, 0)\n"
        "print('read', len(data))\n"
    )
    r = box.run(code, stdin=secret)
    assert r.status == "ok", r
    assert r.stdout == f"[]\nread {len(secret)}\n", r


def test_a_run_cannot_read_the_memory_of_its_parent_or_the_server(box):
    r = box.run(
        "import os\n"
        "for pid in sorted({os.getppid(), 1, 2, 3} - {os.getpid()}):\n"
        "    try:\n"
        "        open(f'/proc/{pid}/mem', 'rb').read(1)\n"
        "        print('read', pid)\n"
        "    except OSError as e:\n"
        "        print('denied', pid)\n"
        "    try:\n"
        "        os.listdir(f'/proc/{pid}/fd'); print('fds', pid)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    assert r.status == "ok" and "read" not in r.stdout and "fds" not in r.stdout, r


def test_each_run_gets_a_fresh_work_dir(box):
    r = box.run(
        "import os\n"
        "os.utime('.', (1, 1))\n"
        "open('/tmp/t', 'w').write('x')\n"
        "try:\n"
        "    os.setxattr('.', 'user.mark', b'1')\n"
        "except OSError:\n"
        "    pass\n"
        "os.chmod('.', 0o500)\n"
    )
    assert r.status == "ok", r
    r = box.run(
        "import os, sys\n"
        "st = os.stat('.')\n"
        "print(oct(st.st_mode & 0o7777), st.st_mtime > 1, os.listxattr('.'), os.listdir('.'), os.listdir('/tmp'))\n"
        "open('out.txt', 'w').write(sys.stdin.read()); print(open('out.txt').read())\n",
        stdin="3 4",
    )
    assert (r.status, r.stdout) == ("ok", "0o755 True [] [] []\n3 4\n"), r


def test_the_tmpfs_has_an_inode_limit(box):
    r = box.run(
        "import os\nn = 0\ntry:\n    while n < 100_000:\n        open(f'f{n}', 'w').close(); n += 1\n"
        "except OSError as e:\n    print('stopped', e.errno)\nprint(n < 100_000)"
    )
    assert r.status == "ok" and r.stdout.endswith("True\n") and "stopped 28" in r.stdout, r  # ENOSPC
    assert box.run("import os; print(len(os.listdir('.')))").stdout == "0\n"


def test_memory_is_limited_for_the_run_as_a_whole(box):
    # four processes of 200 MB each: every one is under the per-process limit of 512 MB, together
    # they are over it
    r = box.run(
        "import os, time\n"
        "for _ in range(4):\n"
        "    if os.fork() == 0:\n"
        "        b = bytearray(200 * 1024 * 1024)\n"
        "        for i in range(0, len(b), 4096): b[i] = 1\n"
        "        time.sleep(30); os._exit(0)\n"
        "time.sleep(30)\n",
        timeout_s=20,
        memory_mb=512,
    )
    assert r.status == "oom", r
    assert r.wall_s < 15


def test_many_processes_sharing_memory_after_a_fork_are_not_an_oom(box):
    # forked children share the parent's pages: counting each child's resident memory in full would
    # kill this run, which holds little memory of its own
    r = box.run(
        "import os\n"
        "data = bytearray(120 * 1024 * 1024)\n"
        "for i in range(0, len(data), 4096): data[i] = 1\n"
        "pids = []\n"
        "for _ in range(6):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        import time; time.sleep(0.5); os._exit(0)\n"
        "    pids.append(pid)\n"
        "for pid in pids: os.waitpid(pid, 0)\n"
        "print('ok')\n",
        memory_mb=512,
    )
    assert (r.status, r.stdout) == ("ok", "ok\n"), r


def test_tty_injection_ioctl_is_refused_whatever_its_high_bits(box):
    r = box.run(
        "import ctypes, ctypes.util, os, platform\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "nr = {'x86_64': 16, 'aarch64': 29}[platform.machine()]\n"
        "for request in (0x5412, 0x1_0000_5412, 0xFFFF_FFFF_0000_5412, 0x541C):\n"
        "    rc = libc.syscall(nr, 0, ctypes.c_ulong(request), ctypes.c_char_p(b'x'))\n"
        "    print(rc, ctypes.get_errno())\n"
    )
    assert r.status == "ok", r
    assert r.stdout.split("\n")[:4] == ["-1 1"] * 4, r  # EPERM from the filter, never ENOTTY


def test_a_run_cannot_make_mounts_or_namespaces(box):
    r = box.run(
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.unshare(0x00020000), ctypes.get_errno())\n"
        "print(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None), ctypes.get_errno())\n"
        "print(libc.umount2(b'/work', 2), ctypes.get_errno())\n"
    )
    assert r.stdout == "-1 1\n-1 1\n-1 1\n", r


@pytest.mark.parametrize(
    "attack",
    [
        "import os, struct; os.write(4, struct.pack('>QB', 1, 1)); import time; time.sleep(0.3); print('late')",
        "import os; os.close(4)",
        "import os; os.write(4, b'x' * 100000)",
        "import os; os.write(4, b'\\x00' * 8 + b'\\x07')",
        "import os; os.close(3)",
    ],
)
def test_a_session_cannot_crash_or_fool_its_worker_through_its_channel(box, attack):
    with box.open_session() as s:
        assert s.run("x = 41").status == "ok"
        results = [s.run(attack), s.run("print(x + 1)")]
        statuses = [r.status for r in results]
        assert "sandbox_error" not in statuses, results
        # either the session ended, as the code's own error, or it is still the same interpreter
        if s.alive:
            assert results[-1].stdout.endswith("42\n"), results
        else:
            assert "error" in statuses, results
    assert box.run("print(2)").stdout == "2\n"


def test_remove_tree_handles_any_depth_and_modes(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(5000):  # a chain far deeper than PATH_MAX allows to name
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(os.open("leaf", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    os.close(fd)
    (root / "locked").mkdir()
    (root / "locked" / "f").write_text("x")
    os.chmod(root / "locked", 0)
    remove_tree(str(root))
    assert os.listdir(root) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the rlimits tier drops to a uid of its own only as root")
def test_a_deep_tree_left_in_the_rlimits_tier_is_cleaned_up():
    with pytest.warns(UserWarning), Sandbox(backend="rlimits", allow_unsafe=True, workers=1) as sb:
        r = sb.run(
            "import os\nfd = os.open('.', os.O_RDONLY)\n"
            "for _ in range(3000):\n"
            "    os.mkdir('d', dir_fd=fd); n = os.open('d', os.O_RDONLY, dir_fd=fd); os.close(fd); fd = n\n"
            "print('deep')"
        )
        assert r.stdout == "deep\n", r
        assert sb.run("import os; print(os.listdir('.'))").stdout == "[]\n"


@pytest.mark.parametrize(
    "code",
    [
        "import os\nfor _ in range(50): os.write(4, b'x' * 60000)\nprint('done')",
        "import os\nos.write(4, b'E\\x00')\nimport time; time.sleep(0.2)\nprint('after')",
        "import os\nos.close(4)\nprint('done')",
    ],
)
def test_a_run_writing_into_its_status_channel_changes_only_its_own_result(box, code):
    # (the first blocks on a full pipe once the server stops reading: a timeout of its own making)
    r = box.run(code, timeout_s=3)
    assert r.status in ("ok", "error", "timeout"), r
    assert box.run("print(7)").stdout == "7\n"


# A process whose first thread exits while another thread runs shows as a zombie in /proc.
ZOMBIE_LEADER = r"""
import os, ctypes, threading, time
pid = os.fork()
if pid == 0:
    def linger():
        for _ in range(60):
            time.sleep(0.1)
            for path in ("/tmp/alive", "/work/planted.py"):
                try:
                    open(path, "w").write("print('PLANTED')")
                except OSError:
                    pass
    threading.Thread(target=linger).start()
    ctypes.CDLL(None).syscall({exit_nr}, 0)  # SYS_exit: this thread only
for _ in range(200):
    if open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
        break
    time.sleep(0.01)
print("left")
"""


def exit_nr() -> int:
    import platform

    return {"x86_64": 60, "aarch64": 93}[platform.machine()]


def test_a_thread_group_whose_leader_exited_does_not_outlive_its_run(box):
    r = box.run(ZOMBIE_LEADER.format(exit_nr=exit_nr()), timeout_s=5)
    assert r.stdout == "left\n", r
    for _ in range(3):
        r = box.run(
            "import os, time\ntime.sleep(0.3)\nprint(os.listdir('/tmp'), os.listdir('.'))\n"
            "try:\n    import planted\nexcept ImportError:\n    print('clean')\n"
        )
        assert (r.status, r.stdout) == ("ok", "[] []\nclean\n"), r


def test_memory_in_shared_mappings_counts_against_the_run(box):
    r = box.run(
        "import os, mmap, time\n"
        "for _ in range(6):\n"
        "    if os.fork() == 0:\n"
        "        m = mmap.mmap(-1, 90 << 20, flags=mmap.MAP_SHARED)\n"
        "        for j in range(0, len(m), 4096): m[j] = 1\n"
        "        time.sleep(5); os._exit(0)\n"
        "time.sleep(5)\n",
        timeout_s=10,
        memory_mb=128,
    )
    assert r.status == "oom", r


def test_memory_a_run_never_maps_cannot_be_had_through_memfd(box):
    r = box.run("import os\ntry:\n    os.memfd_create('x')\nexcept OSError as e:\n    print(e.errno)\n")
    assert r.stdout == "38\n", r  # ENOSYS: libraries fall back to the bounded tmpfs


def test_memory_of_a_zombie_leaders_live_threads_counts(box):
    # each process stays under its own limit; the two together, one of them a zombie leader whose
    # memory lives on with its other thread, do not
    r = box.run(
        "import os, ctypes, threading, time\n"
        "b = bytearray(120 << 20)\n"
        "pid = os.fork()\n"
        "for i in range(0, len(b), 4096): b[i] = 1\n"
        "if pid == 0:\n"
        "    threading.Thread(target=time.sleep, args=(5,)).start()\n"
        f"    ctypes.CDLL(None).syscall({exit_nr()}, 0)\n"
        "time.sleep(5)\n",
        timeout_s=10,
        memory_mb=200,
    )
    assert r.status == "oom", r


def test_a_run_may_reopen_its_own_stdout_and_stderr(box):
    r = box.run("echo out > /dev/stdout; echo err > /dev/stderr", language="bash")
    assert (r.status, r.stdout, r.stderr) == ("ok", "out\n", "err\n"), r
