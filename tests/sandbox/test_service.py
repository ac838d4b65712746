"""The HTTP service: validation, capacity, 256 concurrent requests, health, metrics, crashes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time

import httpx
import pytest

from sandbox import Sandbox
from sandbox.service import create_app
from tests.sandbox.conftest import ServiceThread


def test_health_and_metrics(service, client):
    client.run("print(1)")
    health = httpx.get(service.url + "/health").json()
    assert health["status"] == "ok" and health["backend"] == "bwrap" and health["workers"] == 2
    text = httpx.get(service.url + "/metrics").text
    assert 'toolgym_sandbox_runs_total{status="ok"}' in text and "toolgym_sandbox_pending" in text


@pytest.mark.parametrize(
    "body",
    [
        {"language": "python"},
        {"code": "x", "language": "ruby"},
        {"code": "x", "timeout_s": 0},
        {"code": "x", "memory_mb": 1},
        {"code": "x", "files": {"../../etc/passwd": "x"}},
    ],
)
def test_invalid_requests_get_422(service, body):
    r = httpx.post(service.url + "/run", json=body)
    assert r.status_code == 422


def test_client_raises_on_bad_input_before_sending(client):
    with pytest.raises(ValueError, match="memory_mb"):
        client.run("x", memory_mb=1)


def test_run_batch_over_http(service):
    r = httpx.post(
        service.url + "/run_batch",
        json=[{"code": "print(1)"}, {"code": "echo 2", "language": "bash"}],
        timeout=30,
    )
    assert [x["stdout"] for x in r.json()] == ["1\n", "2\n"]


def test_256_concurrent_requests_none_lost(service):
    n = 256

    async def main():
        limits = httpx.Limits(max_connections=n)
        async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=120) as http:
            return await asyncio.gather(*(http.post("/run", json={"code": f"print({i})"}) for i in range(n)))

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * n
    assert [r.json()["stdout"] for r in responses] == [f"{i}\n" for i in range(n)]


def test_past_capacity_answers_429_at_once():
    sb = Sandbox(workers=1)
    svc = ServiceThread(create_app(sb, max_pending=1))
    try:
        slow = threading.Thread(
            target=lambda: httpx.post(
                svc.url + "/run", timeout=30, json={"code": "import time; time.sleep(4)"}
            )
        )
        slow.start()
        time.sleep(0.5)
        t = time.monotonic()
        r = httpx.post(svc.url + "/run", json={"code": "print(1)"}, timeout=30)
        assert r.status_code == 429 and time.monotonic() - t < 3.0  # not after the 4 s run
        assert r.headers["retry-after"] == "1"
        slow.join()
        assert "toolgym_sandbox_rejected_total 1" in httpx.get(svc.url + "/metrics").text
    finally:
        svc.stop()
        sb.close()


def test_crashed_worker_is_a_sandbox_error_over_http():
    sb = Sandbox(workers=1)
    svc = ServiceThread(create_app(sb))
    try:
        out: list[httpx.Response] = []
        t = threading.Thread(
            target=lambda: out.append(
                httpx.post(
                    svc.url + "/run",
                    json={"code": "import time; time.sleep(20)", "timeout_s": 15},
                    timeout=60,
                )
            )
        )
        t.start()
        deadline = time.monotonic() + 10
        while not sb._pool.busy_workers() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(sb._pool.busy_workers()[0].proc.pid, signal.SIGKILL)
        t.join(timeout=60)
        assert out[0].status_code == 200 and out[0].json()["status"] == "sandbox_error"
        assert httpx.post(svc.url + "/run", json={"code": "print(5)"}, timeout=30).json()["stdout"] == "5\n"
    finally:
        svc.stop()
        sb.close()


def test_sessions_over_http(service):
    r = httpx.post(service.url + "/sessions", json={"timeout_s": 5}).json()
    sid = r["id"]
    assert httpx.post(f"{service.url}/sessions/{sid}/run", json={"code": "y = 7"}).json()["status"] == "ok"
    assert httpx.post(f"{service.url}/sessions/{sid}/run", json={"code": "y * 6"}).json()["stdout"] == "42\n"
    assert httpx.delete(f"{service.url}/sessions/{sid}").status_code == 200
    assert httpx.post(f"{service.url}/sessions/{sid}/run", json={"code": "y"}).status_code == 404


def test_session_cap_over_http_is_429(service):
    ids = []
    try:
        for _ in range(4):
            ids.append(httpx.post(service.url + "/sessions", json={}, timeout=30).json()["id"])
        assert httpx.post(service.url + "/sessions", json={}, timeout=30).status_code == 429
    finally:
        for sid in ids:
            httpx.delete(f"{service.url}/sessions/{sid}")


# ---------------------------------------------------------------- caps, sizes, malformed requests
CAPS = dict(
    workers=1,
    max_sessions=2,
    timeout_s=1.0,
    max_timeout_s=2.0,
    memory_mb=256,
    max_memory_mb=512,
    max_code_bytes=4096,
    max_stdin_bytes=1000,
    max_files=3,
    max_files_bytes=1000,
    max_batch=4,
)
BODY_CAP = 64 * 1024


@pytest.fixture(scope="module")
def capped():
    """A service whose operator set low caps (a run is at most 2 s)."""
    svc = ServiceThread(create_app(max_body_bytes=BODY_CAP, **CAPS))
    yield svc
    svc.stop()


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/run", {"code": "1", "timeout_s": 3}, "max_timeout_s=2.0"),
        ("/run", {"code": "1", "memory_mb": 1024}, "max_memory_mb=512"),
        ("/run", {"code": "1", "files": {"a": "", "b": "", "c": "", "d": ""}}, "max_files=3"),
        ("/run_batch", [{"code": "1"}] * 5, "max_batch=4"),
        ("/run_batch", [{"code": "1"}, {"code": "1", "timeout_s": 9}], "request 1: timeout_s"),
        ("/sessions", {"timeout_s": 3}, "max_timeout_s=2.0"),
        ("/sessions", {"memory_mb": 1024}, "max_memory_mb=512"),
    ],
)
def test_over_a_cap_is_422_naming_the_field_and_the_cap(capped, path, body, message):
    r = httpx.post(capped.url + path, json=body, timeout=30)
    assert r.status_code == 422 and message in r.json()["detail"]


def test_a_session_cell_over_the_cap_is_422(capped):
    sid = httpx.post(capped.url + "/sessions", json={}, timeout=30).json()["id"]
    try:
        r = httpx.post(f"{capped.url}/sessions/{sid}/run", json={"code": "1", "timeout_s": 5}, timeout=30)
        assert r.status_code == 422 and "max_timeout_s=2.0" in r.json()["detail"]
        r = httpx.post(f"{capped.url}/sessions/{sid}/run", json={"code": "x" * 5000}, timeout=30)
        assert r.status_code == 413 and "max_code_bytes=4096" in r.json()["detail"]
        assert httpx.post(f"{capped.url}/sessions/{sid}/run", json={"code": "6*7"}).json()["stdout"] == "42\n"
    finally:
        httpx.delete(f"{capped.url}/sessions/{sid}")


def test_defaults_and_runs_within_the_caps_pass(capped):
    r = httpx.post(
        capped.url + "/run",
        json={
            "code": "print(open('a/b').read() + input())",
            "stdin": "y",
            "files": {"a/b": "x"},
            "timeout_s": 2,
        },
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["stdout"] == "xy\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"code": "x" * 5000}, "max_code_bytes=4096"),
        ({"code": "1", "stdin": "é" * 501}, "max_stdin_bytes=1000"),
        ({"code": "1", "files": {"a": "x" * 600, "b": "y" * 401}}, "max_files_bytes=1000"),
    ],
)
def test_a_field_over_its_size_cap_is_413(capped, body, message):
    r = httpx.post(capped.url + "/run", json=body, timeout=30)
    assert r.status_code == 413 and message in r.json()["detail"]


@pytest.mark.parametrize("path", ["/run", "/run_batch", "/sessions", "/sessions/x/run", "/health"])
def test_a_body_over_max_body_bytes_is_413_before_it_is_read(capped, path):
    body = b'{"code": "' + b"x" * BODY_CAP + b'"}'
    r = httpx.post(capped.url + path, content=body, timeout=30)
    assert r.status_code == 413 and f"max_body_bytes={BODY_CAP}" in r.json()["detail"]
    assert str(len(body)) in r.json()["detail"]  # told by Content-Length, not counted

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"code": "'
        for _ in range(20):
            yield b"x" * 8192
        yield b'"}'

    r = httpx.post(capped.url + path, content=chunks(), timeout=30)
    assert r.status_code == 413 and "more than" in r.json()["detail"]
    assert httpx.get(capped.url + "/health").status_code == 200


def test_a_chunked_body_under_the_cap_is_served(capped):
    def chunks():
        yield b'{"code": "print(1)'
        yield b'", "timeout_s": 1}'

    r = httpx.post(capped.url + "/run", content=chunks(), timeout=30)
    assert r.status_code == 200 and r.json()["stdout"] == "1\n"


MALFORMED = [
    b'{"code": "\\ud800"}',
    b'{"code": "1", "stdin": "a\\udfffb"}',
    b'{"code": "1", "files": {"\\ud800": "x"}}',
    b'{"code": "1", "files": {"a": "\\udc80"}}',
    b'{"code": "1", "timeout_s": NaN}',
    b'{"code": "1", "timeout_s": Infinity}',
    b'{"code": "1", "timeout_s": -Infinity}',
    b'{"code": "1", "timeout_s": 1e400}',
    b'{"code": "1", "memory_mb": 1e400}',
    b'{"code": "1", "memory_mb": 256.0}',
    b'{"code": "1", "memory_mb": 9' + b"9" * 5000 + b"}",
    b'{"code": "1", "timeout_s": "1"}',
    b'{"code": "1", "timeout_s": true}',
    b'{"code": 1}',
    b'{"code": null}',
    b'{"code": ["print(1)"]}',
    b'{"code": {"a": {"b": [1, 2, {"c": null}]}}}',
    b'{"code": "1", "files": ["a"]}',
    b'{"code": "1", "files": {"a": 1}}',
    b'{"code": "1", "files": {"a": {"b": "c"}}}',
    b'{"code": "1", "language": "ruby"}',
    b'{"code": "1", "language": null}',
    b'{"code": "1", "timeout": 3}',
    b'{"code": "1", "\\ud800": 3}',
    b'["code"]',
    b'"code"',
    b"42",
    b"null",
    b"",
    b"not json",
    b"{'code': '1'}",
    b'{"code": "1"',
    b'{"code": "1"} trailing',
    b"\xff\xfe\x00garbage",
    b'{"code": "\xff"}',
    b"[" * 30_000,
    b"[" + b"[]," * 5_000 + b"[]]",
    b'{"code": "1", "files": {' + b",".join(b'"f%d": ""' % i for i in range(3000)) + b"}}",
    b'{"a":' * 6_000,
]


@pytest.mark.parametrize("path", ["/run", "/run_batch", "/sessions", "/sessions/nope/run"])
@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_body_is_422_never_500(capped, path, body):
    if path == "/run_batch" and body.startswith(b"{"):
        body = b"[" + body + b"]"
    r = httpx.post(capped.url + path, content=body, headers={"content-type": "application/json"}, timeout=30)
    if path == "/sessions" and r.status_code == 200:  # a body /sessions happens to accept
        httpx.delete(f"{capped.url}/sessions/{r.json()['id']}")
        return
    assert r.status_code == 422, (r.status_code, r.text)
    assert isinstance(r.json()["detail"], str)


def test_a_body_of_more_values_than_any_request_holds_is_refused_before_parsing(capped):
    body = b"[" + b'"",' * 20_000 + b"1]"  # 60 kB, under the body cap, but each value an object
    r = httpx.post(capped.url + "/run_batch", content=body, timeout=30)
    assert r.status_code == 422 and "more than 240 values" in r.json()["detail"]  # 4 runs * (32 + 4*3) + 64
    quoted = {"code": 'print("[1, 2], {3: 4}," * 3)', "files": {"a,b:c[": '{"x": [1, 2]}'}}
    r = httpx.post(capped.url + "/run_batch", json=[quoted] * 4, timeout=30)  # brackets in strings: fine
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({".": "x"}, "'.'"),
        ({"a/": "x"}, "'a/'"),
        ({"a\u0000b": "x"}, r"'a\x00b'"),
        ({"a": "x", "a/b": "y"}, "'a' cannot be a file and the directory of 'a/b'"),
        ({"../x": "y"}, "'../x'"),
        ({"n" * 256: "y"}, "255"),
    ],
)
def test_odd_file_names_are_422_naming_the_file_and_the_worker_lives(capped, files, message):
    r = httpx.post(capped.url + "/run", json={"code": "print(1)", "files": files}, timeout=30)
    assert r.status_code == 422 and "files" in r.json()["detail"] and message in r.json()["detail"]
    assert httpx.post(capped.url + "/run", json={"code": "print(2)"}, timeout=30).json()["stdout"] == "2\n"


def test_odd_file_names_are_a_value_error_embedded_and_through_the_client(sandbox):
    with pytest.raises(ValueError, match="cannot be a file and the directory"):
        sandbox.run("print(1)", files={"a": "x", "a/b": "y"})
    with pytest.raises(ValueError, match="control characters"):
        sandbox.run("print(1)", files={"a\0": "x"})
    assert sandbox.run("print(open('p/q').read())", files={"p/q": "ok"}).stdout == "ok\n"


# ---------------------------------------------------------------- a batch's runs at once and its output
class StubSandbox:
    """Stands in for a Sandbox: a run prints ``code`` as "OUT ERR" characters to stdout and stderr, and
    the stub counts how many runs it is given at once."""

    def __init__(self, **config) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from sandbox import SandboxConfig

        self.config = SandboxConfig(**config)
        self._executor = ThreadPoolExecutor(16)  # more threads than workers: the service must bound it
        self.now = self.most = 0
        self.lock = threading.Lock()

    def run_request(self, request):
        from sandbox import ExecResult

        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        with self.lock:
            self.now -= 1
        out, err = (int(x) for x in request.code.split())
        return ExecResult(stdout="o" * out, stderr="é" * err, exit_code=0, status="ok", wall_s=0.05)

    def stats(self) -> dict:
        return {
            "backend": "stub",
            "workers": self.config.workers,
            "warm_workers": 0,
            "busy": 0,
            "sessions": 0,
        }

    def close(self) -> None:
        self._executor.shutdown()


@pytest.fixture(scope="module")
def stub():
    sb = StubSandbox(workers=2, max_output_bytes=64 * 1024, max_batch_output_bytes=64 * 1024)
    svc = ServiceThread(create_app(sb))
    yield sb, svc
    svc.stop()
    sb.close()


def test_a_batch_runs_no_more_at_once_than_the_workers(stub):
    sb, svc = stub
    r = httpx.post(svc.url + "/run_batch", json=[{"code": "1 0"}] * 12, timeout=30)
    assert r.status_code == 200 and len(r.json()) == 12 and sb.most == 2


def test_a_batch_keeps_at_most_max_batch_output_bytes_of_output(stub):
    _, svc = stub
    results = httpx.post(svc.url + "/run_batch", json=[{"code": "40000 20000"}] * 8, timeout=30).json()
    share = 64 * 1024 // 8
    for x in results:
        size = len(x["stdout"].encode()) + len(x["stderr"].encode())
        assert share - 1 <= size <= share and x["status"] == "output_limit"  # é: 2 bytes, cut whole
        assert len(x["stdout"]) == share // 2  # both long: half each
    one = httpx.post(svc.url + "/run_batch", json=[{"code": "100 40000"}], timeout=30).json()[0]
    assert one["status"] == "output_limit" and len(one["stdout"]) == 100  # the short stream is kept
    assert len(one["stderr"].encode()) <= 64 * 1024 - 100
    small = httpx.post(svc.url + "/run_batch", json=[{"code": "3000 3000"}] * 2, timeout=30).json()
    assert [x["status"] for x in small] == ["ok", "ok"] and len(small[0]["stderr"]) == 3000
    single = httpx.post(svc.url + "/run", json={"code": "60000 40000"}, timeout=30).json()
    assert single["status"] == "ok" and len(single["stdout"]) == 60000  # /run: the worker's cap only


def test_a_sandbox_and_config_fields_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        create_app(StubSandbox(workers=1), workers=2)
    with pytest.raises(ValueError, match="max_body_bytes"):
        create_app(StubSandbox(workers=1), max_body_bytes=10)


# ---------------------------------------------------------------- fuzz: any body, never a 500
def test_fuzzed_bodies_get_200_413_422_or_429_and_the_service_stays_healthy(capped):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    fields = ["code", "language", "stdin", "files", "timeout_s", "memory_mb", "timeout", ""]
    names = ["a", "a/b", ".", "", "/x", "../y", "a/", "a\0", "n" * 300, "ok.py", "\ud800", "a\nb"]
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.sampled_from(["__BIG__", "\ud800", "a\udfffb", "python", "bash", "print(1)", "1", "x", ""]),
    )
    junk = st.recursive(
        scalars,
        lambda kids: (
            st.lists(kids, max_size=4)
            | st.dictionaries(st.sampled_from(fields) | st.text(max_size=6), kids, max_size=4)
        ),
        max_leaves=12,
    )
    run_like = st.fixed_dictionaries(
        {"code": st.sampled_from(["print(1)", "1", "x", "import sys; sys.exit(3)"]) | junk},
        optional={
            "language": st.sampled_from(["python", "bash", "ruby"]) | junk,
            "stdin": st.text(max_size=8) | junk,
            "files": st.dictionaries(st.sampled_from(names), st.text(max_size=4) | junk, max_size=4) | junk,
            "timeout_s": st.sampled_from([0.5, 1, 2, 2.5, 0, -1]) | junk,
            "memory_mb": st.sampled_from([64, 256, 512, 513, 31]) | junk,
            "extra": junk,
        },
    )
    sid = httpx.post(capped.url + "/sessions", json={}, timeout=30).json()["id"]
    paths = ["/run", "/run_batch", "/sessions", f"/sessions/{sid}/run"]
    seen: set[int] = set()

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        path=st.sampled_from(paths),
        value=st.one_of(junk, run_like, st.lists(run_like, max_size=5), st.lists(junk, max_size=3)),
        raw=st.none() | st.binary(max_size=40),
    )
    def check(path, value, raw):
        body = json.dumps(value).replace('"__BIG__"', "1e400").encode() if raw is None else raw
        r = httpx.post(capped.url + path, content=body, timeout=30)
        allowed = {200, 413, 422, 429} | ({404} if path.startswith("/sessions/") else set())
        assert r.status_code in allowed, (path, body[:300], r.status_code, r.text[:300])
        r.json()  # always a JSON answer
        seen.add(r.status_code)
        if path == "/sessions" and r.status_code == 200:
            httpx.delete(f"{capped.url}/sessions/{r.json()['id']}")

    try:
        check()
    finally:
        httpx.delete(f"{capped.url}/sessions/{sid}")
    assert 422 in seen and 200 in seen
    assert httpx.get(capped.url + "/health").json()["status"] == "ok"
    assert httpx.post(capped.url + "/run", json={"code": "print(9)"}, timeout=30).json()["stdout"] == "9\n"


# ---------------------------------------------------------------- the CLI
def test_serve_flags_reach_the_service(monkeypatch):
    from typer.testing import CliRunner

    import sandbox.service
    from agents.cli.sandbox_cmds import sandbox_app

    seen = {}
    monkeypatch.setattr(
        sandbox.service, "serve", lambda host, port, **kw: seen.update(kw, host=host, port=port)
    )
    flags = (
        "--max-timeout-s 30 --max-memory-mb 1024 --max-code-bytes 1000 --max-stdin-bytes 2000 --max-files 8"
    )
    flags += " --max-files-bytes 3000 --max-batch 16 --max-batch-output-bytes 4096 --max-body-bytes 5000"
    flags += " --timeout-s 5 --memory-mb 256 --max-output-bytes 2048"
    result = CliRunner().invoke(sandbox_app, ["serve", *flags.split()])
    assert result.exit_code == 0, result.output
    assert seen["max_timeout_s"] == 30 and seen["max_memory_mb"] == 1024 and seen["max_code_bytes"] == 1000
    assert seen["max_stdin_bytes"] == 2000 and seen["max_files"] == 8 and seen["max_files_bytes"] == 3000
    assert (
        seen["max_batch"] == 16 and seen["max_batch_output_bytes"] == 4096 and seen["max_body_bytes"] == 5000
    )
    assert seen["timeout_s"] == 5 and seen["memory_mb"] == 256 and seen["max_output_bytes"] == 2048


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"code": "1", "stdin": "a\\udfffb"}', "body.stdin: lone surrogate '\\udfff' at index 1"),
        (b'[{"code": "1"}, {"code": "1", "files": {"x": "\\ud800"}}]', "body.1.files.x: lone surrogate"),
        (b'{"code": "1", "\\ud800": 3}', "body: the key '\\ud800': lone surrogate"),
        (b'{"code": "1", "timeout_s": 1e400}', "does not fit a float"),
        (b'{"code": "1", "timeout_s": NaN}', "NaN is not a number JSON allows"),
        (b'{"code": "1", "timeout_s": "1"}', "timeout_s: Input should be a valid number"),
        (b'{"code": "1", "timeout": 1}', "timeout: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_body_says_where(capped, body, message):
    path = "/run_batch" if body.startswith(b"[") else "/run"
    r = httpx.post(capped.url + path, content=body, timeout=30)
    assert r.status_code == 422 and message in r.json()["detail"], r.text


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("--max-timeout-s 5", "timeout_s (10.0) must be at most max_timeout_s (5.0)"),
        ("--max-memory-mb 10", "max_memory_mb must be in"),
        ("--max-batch 0", "max_batch must be in"),
    ],
)
def test_serve_refuses_a_bad_cap_before_starting(monkeypatch, flags, message):
    from typer.testing import CliRunner

    import sandbox.service
    from agents.cli.sandbox_cmds import sandbox_app

    monkeypatch.setattr(sandbox.service, "serve", lambda *a, **kw: pytest.fail("started"))
    result = CliRunner().invoke(sandbox_app, ["serve", *flags.split()], terminal_width=200)
    assert result.exit_code == 2 and message in " ".join(result.output.split())
