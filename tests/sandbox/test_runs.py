"""What a run returns: output, exit codes, statuses, inputs, batches, async; on both front ends."""

from __future__ import annotations

import asyncio

import pytest


def test_trivial_snippet(sandbox):
    r = sandbox.run("print('hello')")
    assert (r.stdout, r.stderr, r.exit_code, r.status) == ("hello\n", "", 0, "ok")
    assert 0 < r.wall_s < 10


def test_an_exception_is_an_error_with_its_traceback(sandbox):
    r = sandbox.run("def f():\n    1 / 0\nf()")
    assert (r.status, r.exit_code) == ("error", 1)
    assert r.stderr.startswith('Traceback (most recent call last):\n  File "<string>", line 3')
    assert r.stderr.endswith("ZeroDivisionError: division by zero\n")
    assert "toolgym" not in r.stderr


@pytest.mark.parametrize(
    ("code", "exit_code", "stderr"),
    [
        ("import sys; sys.exit(3)", 3, ""),
        ("import sys; sys.exit('bye')", 1, "bye\n"),
        ("raise SystemExit", 0, ""),
        ("import os; os._exit(7)", 7, ""),
    ],
)
def test_exit_codes_follow_the_interpreter(sandbox, code, exit_code, stderr):
    r = sandbox.run(code)
    assert (r.exit_code, r.stderr) == (exit_code, stderr)
    assert r.status == ("ok" if exit_code == 0 else "error")


def test_atexit_and_threads_finish_before_the_run_ends(sandbox):
    r = sandbox.run(
        "import atexit, threading, time\natexit.register(lambda: print('atexit'))\n"
        "threading.Thread(target=lambda: (time.sleep(0.2), print('thread'))).start()"
    )
    assert r.stdout == "thread\natexit\n"


def test_stdin_and_files(sandbox):
    r = sandbox.run(
        "import sys, json\nprint(sys.stdin.read().upper(), open('data/in.json').read(), "
        "__import__('helper').VALUE)",
        stdin="abc",
        files={"data/in.json": '{"a": 1}', "helper.py": "VALUE = 5"},
    )
    assert r.stdout == 'ABC {"a": 1} 5\n', r


def test_bash(sandbox):
    r = sandbox.run(
        'read x; echo "got $x"; cat f.txt; exit 4', language="bash", stdin="in\n", files={"f.txt": "F"}
    )
    assert (r.stdout, r.exit_code, r.status) == ("got in\nF", 4, "error")


def test_stderr_and_unicode(sandbox):
    r = sandbox.run("import sys\nprint('héllo ✓')\nprint('warn', file=sys.stderr)")
    assert (r.stdout, r.stderr) == ("héllo ✓\n", "warn\n")


def test_main_module_semantics(sandbox):
    r = sandbox.run("import sys\nprint(__name__, sys.argv)")
    assert r.stdout == "__main__ ['-c']\n"


def test_bad_arguments_raise_before_running(sandbox):
    with pytest.raises(ValueError, match="language"):
        sandbox.run("x", language="cobol")
    with pytest.raises(ValueError, match="timeout_s"):
        sandbox.run("x", timeout_s=-1)


def test_run_batch_keeps_order(sandbox):
    reqs = [{"code": f"print({i} * {i})"} for i in range(8)] + [{"code": "exit 2", "language": "bash"}]
    results = sandbox.run_batch(reqs)
    assert [r.stdout for r in results[:8]] == [f"{i * i}\n" for i in range(8)]
    assert results[8].exit_code == 2


def test_arun_runs_in_parallel(sandbox):
    async def main():
        return await asyncio.gather(
            *(sandbox.arun("import time; time.sleep(0.5); print(1)") for _ in range(4))
        )

    results = asyncio.run(main())
    assert [r.stdout for r in results] == ["1\n"] * 4
