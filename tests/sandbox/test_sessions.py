"""Persistent interpreter sessions, embedded and over HTTP."""

from __future__ import annotations

import pytest

from sandbox import SessionLimit


def test_state_persists_and_output_is_per_call(sandbox):
    s = sandbox.open_session(timeout_s=5)
    try:
        assert s.run("import math\nx = 2").stdout == ""
        r = s.run("x += 1\nprint('x is', x)\nmath.factorial(x)")
        assert (r.status, r.stdout) == ("ok", "x is 3\n6\n")
        bad = s.run("undefined_name")
        assert bad.status == "error" and "NameError" in bad.stderr
        assert s.run("print(x)").stdout == "3\n"  # an error does not end the session
    finally:
        s.close()


def test_a_timeout_ends_the_session(sandbox):
    s = sandbox.open_session(timeout_s=1)
    try:
        assert s.run("while True: pass").status == "timeout"
        r = s.run("print(1)")
        assert r.status == "error" and "closed" in r.stderr
    finally:
        s.close()


def test_sessions_are_isolated_from_each_other(sandbox):
    a, b = sandbox.open_session(), sandbox.open_session()
    try:
        a.run("secret = 41")
        assert "NameError" in b.run("secret").stderr
        assert a.run("secret + 1").stdout == "42\n"
    finally:
        a.close()
        b.close()


def test_closed_session_reports_it(sandbox):
    s = sandbox.open_session()
    s.close()
    r = s.run("print(1)")
    assert r.status == "error" and "closed" in r.stderr


def test_session_cap(embedded):
    sessions = [embedded.open_session() for _ in range(embedded.config.max_sessions)]
    try:
        with pytest.raises(SessionLimit):
            embedded.open_session()
    finally:
        for s in sessions:
            s.close()
    embedded.open_session().close()  # room again


def test_idle_sessions_are_closed():
    from sandbox import Sandbox

    with Sandbox(workers=1, session_idle_s=1) as sb:
        s = sb.open_session()
        import time

        time.sleep(6)
        r = s.run("print(1)")
        assert r.status == "error" and "idle" in r.stderr


def test_cpu_limit_of_a_session_is_not_one_call_timeout(embedded):
    with embedded.open_session(timeout_s=1) as s:
        r = s.run("import resource; resource.getrlimit(resource.RLIMIT_CPU)")
        assert r.stdout == "(3600, 3601)\n"  # calls are bounded by their wall clock timeout instead


def test_garbage_on_the_session_channel_ends_only_that_session(embedded):
    s = embedded.open_session()
    r = s.run("import os; os.write(4, b'not a frame at all')")
    assert r.status == "error" and not s.alive
    assert embedded.run("print(2)").stdout == "2\n"
