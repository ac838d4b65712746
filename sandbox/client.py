"""``SandboxClient``: the sandbox API over HTTP. Infrastructure failures come back as
``status="sandbox_error"`` results, never as exceptions and never as a failure of the code. A request
the service refuses as the caller's (422, or 413: too large) raises ValueError with the service's
reason, as the embedded ``Sandbox`` raises it for a request past its caps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx

from sandbox.api import SandboxAPI
from sandbox.result import ExecResult, RunRequest, SandboxError

RETRY_STATUSES = (429, 502, 503, 504)


def _detail(response: httpx.Response) -> str:
    """The service's ``detail`` (the field and the cap), else the start of the body (e.g. a proxy's)."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else f"HTTP {response.status_code}: {response.text[:500]}"


class RemoteSession:
    """A persistent interpreter held by the service (see ``Sandbox.open_session``)."""

    def __init__(self, client: SandboxClient, session_id: str, timeout_s: float) -> None:
        self._client, self.id, self.timeout_s = client, session_id, timeout_s
        self.alive = True

    def run(self, code: str, *, timeout_s: float | None = None) -> ExecResult:
        timeout = timeout_s or self.timeout_s
        data, error = self._client._call(
            "POST", f"/sessions/{self.id}/run", {"code": code, "timeout_s": timeout}, timeout, retry=False
        )
        if error is not None:
            return error
        if isinstance(data, dict) and data.get("_status") == 404:
            self.alive = False
            return ExecResult(
                stderr=f"session is closed: {data.get('detail')}", exit_code=None, status="error"
            )
        self.alive = bool(data.pop("alive", True))
        return ExecResult.from_dict(data)

    async def arun(self, code: str, *, timeout_s: float | None = None) -> ExecResult:
        return await asyncio.to_thread(self.run, code, timeout_s=timeout_s)

    def close(self) -> None:
        if self.alive:
            self.alive = False
            self._client._call("DELETE", f"/sessions/{self.id}", None, 10.0, retry=False)

    def __enter__(self) -> RemoteSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SandboxClient(SandboxAPI):
    """Talks to ``toolgym sandbox serve`` at ``url``; same methods as the embedded ``Sandbox``."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        memory_mb: int = 512,
        retries: int = 3,
        connect_timeout_s: float = 5.0,
        max_connections: int = 256,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.url = url.rstrip("/")
        self.timeout_s, self.memory_mb, self.retries = timeout_s, memory_mb, retries
        self._connect = connect_timeout_s
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http = httpx.Client(base_url=self.url, limits=self._limits, timeout=None)
        self._ahttp: httpx.AsyncClient | None = None
        self._aloop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ plumbing
    def _timeout(self, run_timeout_s: float) -> httpx.Timeout:
        # a run may wait for a worker first: allow several run lengths before calling the service lost
        return httpx.Timeout(connect=self._connect, read=4 * run_timeout_s + 60, write=60, pool=None)

    @staticmethod
    def _interpret(response: httpx.Response) -> tuple[Any, ExecResult | None]:
        if response.status_code in (413, 422):
            raise ValueError(f"the sandbox service rejected the request: {_detail(response)}")
        if response.status_code == 404:
            return {"_status": 404, "detail": response.json().get("detail")}, None
        if response.status_code >= 400:
            return None, ExecResult.infra_error(
                f"service answered {response.status_code}: {response.text[:500]}"
            )
        return response.json(), None

    def _call(self, method: str, path: str, body: Any, run_timeout_s: float, retry: bool = True):
        started = time.monotonic()
        last: ExecResult | None = None
        for attempt in range(self.retries + 1 if retry else 1):
            try:
                response = self._http.request(method, path, json=body, timeout=self._timeout(run_timeout_s))
            except httpx.HTTPError as exc:
                last = ExecResult.infra_error(f"cannot reach the sandbox service at {self.url}: {exc!r}")
            else:
                if response.status_code not in RETRY_STATUSES:
                    return self._interpret(response)
                last = self._interpret(response)[1]
            if attempt < self.retries and retry:
                time.sleep(min(2.0, 0.1 * 2**attempt))
        last.wall_s = time.monotonic() - started
        return None, last

    async def _acall(self, method: str, path: str, body: Any, run_timeout_s: float):
        loop = asyncio.get_running_loop()
        if self._ahttp is None or self._aloop is not loop:  # an AsyncClient belongs to one event loop
            self._ahttp, self._aloop = (
                httpx.AsyncClient(base_url=self.url, limits=self._limits, timeout=None),
                loop,
            )
        started = time.monotonic()
        last: ExecResult | None = None
        for attempt in range(self.retries + 1):
            try:
                response = await self._ahttp.request(
                    method, path, json=body, timeout=self._timeout(run_timeout_s)
                )
            except httpx.HTTPError as exc:
                last = ExecResult.infra_error(f"cannot reach the sandbox service at {self.url}: {exc!r}")
            else:
                if response.status_code not in RETRY_STATUSES:
                    return self._interpret(response)
                last = self._interpret(response)[1]
            if attempt < self.retries:
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
        last.wall_s = time.monotonic() - started
        return None, last

    # ------------------------------------------------------------ the Sandbox API
    def default_limits(self) -> tuple[float, int]:
        return self.timeout_s, self.memory_mb

    def run_request(self, request: RunRequest | dict[str, Any]) -> ExecResult:
        request = RunRequest.coerce(request)
        data, error = self._call("POST", "/run", request.to_json(), float(request.timeout_s))
        return error or ExecResult.from_dict(data)

    async def arun_request(self, request: RunRequest | dict[str, Any]) -> ExecResult:
        request = RunRequest.coerce(request)
        data, error = await self._acall("POST", "/run", request.to_json(), float(request.timeout_s))
        return error or ExecResult.from_dict(data)

    def run_batch(self, requests: Sequence[RunRequest | dict[str, Any]]) -> list[ExecResult]:
        checked = [RunRequest.coerce(r) for r in requests]
        if not checked:
            return []
        longest = max(float(r.timeout_s) for r in checked)
        data, error = self._call("POST", "/run_batch", [r.to_json() for r in checked], longest * len(checked))
        if error is not None:
            return [error] * len(checked)
        return [ExecResult.from_dict(d) for d in data]

    async def arun_batch(self, requests: Sequence[RunRequest | dict[str, Any]]) -> list[ExecResult]:
        return await asyncio.to_thread(self.run_batch, requests)

    def open_session(self, *, timeout_s: float | None = None, memory_mb: int | None = None) -> RemoteSession:
        """A persistent interpreter on the service; raises SandboxError if the service cannot give one."""
        body = {"timeout_s": timeout_s or self.timeout_s, "memory_mb": memory_mb or self.memory_mb}
        data, error = self._call("POST", "/sessions", body, 30.0)
        if error is not None:
            raise SandboxError(error.stderr)
        return RemoteSession(self, data["id"], float(data["timeout_s"]))

    def health(self) -> dict[str, Any]:
        """The service's ``/health`` (raises httpx errors if it is down)."""
        response = self._http.get("/health", timeout=self._connect)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self._http.close()
        self._ahttp = None  # its connections close with its event loop

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
