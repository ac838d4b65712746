"""SandboxClient never raises an infrastructure failure into the caller, nor makes it look like the
code failed: it returns status="sandbox_error" with the reason."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sandbox import SandboxClient, SandboxError
from tests.sandbox.conftest import free_port


def test_unreachable_service_is_a_sandbox_error():
    client = SandboxClient(f"http://127.0.0.1:{free_port()}", retries=1)
    r = client.run("print(1)")
    assert r.status == "sandbox_error" and r.exit_code is None and "cannot reach" in r.stderr
    assert asyncio.run(client.arun("print(1)")).status == "sandbox_error"
    assert [x.status for x in client.run_batch([{"code": "1"}, {"code": "2"}])] == ["sandbox_error"] * 2
    with pytest.raises(SandboxError):
        client.open_session()


@pytest.mark.parametrize("code", [500, 502, 503])
def test_5xx_is_a_sandbox_error(code):
    client = SandboxClient("http://sandbox.invalid", retries=1)
    client._http = httpx.Client(
        base_url=client.url, transport=httpx.MockTransport(lambda req: httpx.Response(code, text="boom"))
    )
    r = client.run("print(1)")
    assert r.status == "sandbox_error" and str(code) in r.stderr


def test_429_is_retried_then_succeeds():
    calls = []

    def handler(req):
        calls.append(req)
        if len(calls) < 2:
            return httpx.Response(429, text="busy")
        return httpx.Response(
            200, json={"stdout": "ok\n", "stderr": "", "exit_code": 0, "status": "ok", "wall_s": 0.1}
        )

    client = SandboxClient("http://sandbox.invalid", retries=2)
    client._http = httpx.Client(base_url=client.url, transport=httpx.MockTransport(handler))
    assert client.run("print('ok')").stdout == "ok\n" and len(calls) == 2


@pytest.mark.parametrize(
    ("code", "body", "message"),
    [
        (422, {"detail": "timeout_s 61 is over this sandbox's cap max_timeout_s=60"}, "max_timeout_s=60"),
        (413, {"detail": "stdin: 9 bytes is over this sandbox's cap max_stdin_bytes=8"}, "max_stdin_bytes=8"),
        (413, "<html>413 Request Entity Too Large</html>", "HTTP 413: <html>"),  # a proxy's answer
    ],
)
def test_413_and_422_are_the_callers_value_error_not_retried(code, body, message):
    calls = []

    def handler(req):
        calls.append(req)
        if isinstance(body, dict):
            return httpx.Response(code, json=body)
        return httpx.Response(code, text=body)

    client = SandboxClient("http://sandbox.invalid", retries=3)
    client._http = httpx.Client(base_url=client.url, transport=httpx.MockTransport(handler))
    with pytest.raises(ValueError, match=message):
        client.run("print(1)")
    with pytest.raises(ValueError, match=message):
        client.run_batch([{"code": "1"}])
    with pytest.raises(ValueError, match=message):
        client.open_session()
    assert len(calls) == 3


@pytest.mark.parametrize("which", ["embedded", "client"])
def test_over_a_cap_is_a_value_error_embedded_and_through_the_client(request, which):
    """The same request past the default caps fails the same way whichever sandbox gets it."""
    sb = request.getfixturevalue(which)
    with pytest.raises(ValueError, match="max_timeout_s=60"):
        sb.run("print(1)", timeout_s=61)
    with pytest.raises(ValueError, match="max_memory_mb=2048"):
        sb.run("print(1)", memory_mb=4096)
    with pytest.raises(ValueError, match="max_stdin_bytes=4194304"):
        sb.run("print(1)", stdin="x" * (4 * 1024 * 1024 + 1))
    with pytest.raises(ValueError, match="max_files=256"):
        sb.run("print(1)", files={f"f{i}": "" for i in range(257)})
    with pytest.raises(ValueError, match="max_batch=256"):
        sb.run_batch([{"code": "1"}] * 257)
    with pytest.raises(ValueError, match="max_timeout_s=60"):
        sb.open_session(timeout_s=61)
    with sb.open_session() as session, pytest.raises(ValueError, match="max_timeout_s=60"):
        session.run("1", timeout_s=61)
    assert sb.run("print(1)", timeout_s=60, memory_mb=2048).stdout == "1\n"


def test_binary_stdin_that_is_not_utf8_is_a_value_error_over_http(client):
    with pytest.raises(ValueError, match="stdin"):
        client.run("print(1)", stdin=b"\xff")
