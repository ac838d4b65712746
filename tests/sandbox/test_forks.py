"""Runs whose code forks: the run ends with its main process and keeps every process's output.

Every test runs against the embedded sandbox and through the service (the ``sandbox`` fixture)."""

from __future__ import annotations

import pytest

# code printing the processes of user code (any non-root uid) other than its own
OTHER_RUN_PROCESSES = (
    "import os\n"
    "def uid(p):\n"
    "    try:\n"
    "        return [l for l in open(f'/proc/{p}/status') if l.startswith('Uid:')][0].split()[1]\n"
    "    except OSError:\n"
    "        return '0'\n"
    "print([p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid() and uid(p) != '0'])\n"
)


def _no_process_left(sandbox) -> None:
    """No process of the last run is left: seen from a run on each of the fixture's two workers
    (the pool hands them out in turn, so the second lands on the worker of the last run)."""
    for _ in range(2):
        r = sandbox.run(OTHER_RUN_PROCESSES)
        assert r.stdout == "[]\n", r


def test_a_child_that_exits_first_does_not_end_the_run(sandbox):
    r = sandbox.run(
        "import os, sys, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    print('child out')\n"
        "    print('child err', file=sys.stderr)\n"
        "else:\n"
        "    os.waitpid(pid, 0)\n"
        "    time.sleep(0.2)\n"
        "    print('parent out')\n"
        "    print('parent err', file=sys.stderr)\n"
        "    sys.exit(3)\n"
    )
    assert (r.stdout, r.stderr) == ("child out\nparent out\n", "child err\nparent err\n"), r
    assert (r.exit_code, r.status) == (3, "error")


def test_the_one_line_fork(sandbox):
    r = sandbox.run(
        'import os; pid = os.fork(); print("child") if pid == 0 else (os.waitpid(pid, 0), print("parent"))'
    )
    assert (r.stdout, r.status) == ("child\nparent\n", "ok"), r


@pytest.mark.parametrize(
    ("end", "child_code"),
    [("os._exit(5)", 5), ("sys.exit(4)", 4), ("raise ValueError('in child')", 1)],
)
def test_however_a_child_ends_the_main_process_goes_on(sandbox, end, child_code):
    r = sandbox.run(
        "import os, sys\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    print('child', flush=True)\n"
        f"    {end}\n"
        "_, st = os.waitpid(pid, 0)\n"
        "print('parent saw', os.waitstatus_to_exitcode(st))\n"
    )
    assert r.stdout == f"child\nparent saw {child_code}\n", r
    assert (r.exit_code, r.status) == (0, "ok")


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing(sandbox, method):
    r = sandbox.run(
        "import multiprocessing as mp\n"
        f"ctx = mp.get_context({method!r})\n"
        "p = ctx.Process(target=print, args=('from the child',))\n"
        "p.start()\n"
        "p.join()\n"
        "print('parent', p.exitcode)\n",
        timeout_s=20,
    )
    assert (r.stdout, r.status) == ("from the child\nparent 0\n", "ok"), r


def test_a_multiprocessing_pool(sandbox):
    r = sandbox.run(
        "import multiprocessing as mp\n"
        "with mp.get_context('fork').Pool(2) as pool:\n"
        "    print(pool.map(abs, [-1, -2, -3]))\n",
        timeout_s=20,
    )
    assert (r.stdout, r.status) == ("[1, 2, 3]\n", "ok"), r
    _no_process_left(sandbox)


def test_subprocess_of_the_interpreter(sandbox):
    r = sandbox.run(
        "import subprocess, sys\n"
        "r = subprocess.run([sys.executable, '-c', 'import sys; print(1); print(2, file=sys.stderr)'])\n"
        "c = subprocess.run([sys.executable, '-c', 'print(3)'], capture_output=True, text=True)\n"
        "print('parent', r.returncode, c.stdout.strip())\n",
        timeout_s=20,
    )
    assert (r.stdout, r.stderr, r.status) == ("1\nparent 0 3\n", "2\n", "ok"), r


def test_a_child_left_running_is_killed_when_the_main_process_ends(sandbox):
    r = sandbox.run(
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    print('child started', flush=True)\n"
        "    time.sleep(30)\n"
        "    print('too late')\n"
        "else:\n"
        "    time.sleep(0.3)\n"
        "    print('parent done')\n",
        timeout_s=20,
    )
    assert (r.stdout, r.status) == ("child started\nparent done\n", "ok"), r
    assert r.wall_s < 20
    _no_process_left(sandbox)


def test_a_fork_bomb_left_behind_is_bounded_and_killed(sandbox):
    r = sandbox.run(
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    while True:\n"
        "        try:\n"
        "            os.fork()\n"
        "        except OSError:\n"
        "            time.sleep(0.01)\n"
        "deadline = time.monotonic() + 10\n"
        "while time.monotonic() < deadline:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as exc:\n"
        "        print('refused', exc.errno == __import__('errno').EAGAIN)\n"
        "        break\n"
        "    if pid == 0:\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
        "    time.sleep(0.05)\n",
        timeout_s=20,
    )
    assert (r.stdout, r.status) == ("refused True\n", "ok"), r
    _no_process_left(sandbox)


def test_a_session_cell_that_forks(sandbox):
    s = sandbox.open_session(timeout_s=10)
    try:
        r = s.run(
            "import os\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    print('child')\n"
            "else:\n"
            "    os.waitpid(pid, 0)\n"
            "    print('parent')\n"
            "x = 5\n"
        )
        assert (r.stdout, r.status) == ("child\nparent\n", "ok"), r
        # the child neither answered for the cell nor read the next ones: every cell runs once, here
        assert [s.run("x += 1\nx").stdout for _ in range(3)] == ["6\n", "7\n", "8\n"]
        assert s.run("os.getpid() != pid").stdout == "True\n"
    finally:
        s.close()
