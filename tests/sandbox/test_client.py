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
