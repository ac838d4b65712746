"""The sandbox as a FastAPI service: runs, batches, sessions, health and metrics.

Every request is checked before anything runs: the body's size (413 past ``max_body_bytes``, counted
before it is buffered), strict JSON (no NaN, Infinity, numbers too big for a float, lone surrogates or
non-UTF-8 text), the fields' types (unknown fields are rejected), the request itself
(``RunRequest.validate``) and this sandbox's caps (``SandboxConfig.check_request``): 422 naming the
field, or 413 for a field bigger than its cap. A run_batch runs at most ``workers`` runs at once and keeps
at most ``max_batch_output_bytes`` of output for its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections import Counter
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.config import MAX_BODY_BYTES, SandboxConfig
from sandbox.embedded import Sandbox
from sandbox.result import (
    STATUSES,
    ExecResult,
    RequestTooLarge,
    RunRequest,
    SandboxError,
    SessionLimit,
    _short,
)

MAX_BATCH = 256  # the default of SandboxConfig.max_batch, kept for importers


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class RunBody(_Body):
    """``POST /run`` body; also one item of ``POST /run_batch``."""

    code: str
    language: str = "python"
    stdin: str | None = None
    files: dict[str, str] | None = None
    timeout_s: float | None = None
    memory_mb: int | None = None


class SessionBody(_Body):
    timeout_s: float | None = None
    memory_mb: int | None = None


class CellBody(_Body):
    code: str
    timeout_s: float | None = None


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, told by its Content-Length before any of it
    is read, or counted while it is read (chunked); the body goes on to the app only when it fits."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(send, f"{int(length)} bytes")
            return
        messages: list[dict] = []
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > self.max_bytes:
                await self._reject(send, f"more than {self.max_bytes} bytes")
                return
            if not message.get("more_body", False):
                break

        async def replay() -> dict:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Any, size: str) -> None:
        body = json.dumps(
            {"detail": f"the request body is {size}, over this service's max_body_bytes={self.max_bytes}"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} does not fit a float")
    return value


def _label(key: object) -> str:
    """A key or index as a message names it: plain when it is a plain name, else quoted and cut."""
    return key if isinstance(key, str) and key.isidentifier() else _short(key, 40)


def _lone_surrogate(text: str) -> int | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _check_text(value: Any) -> None:
    """ValueError naming the place of the first string (key or value) that is not valid UTF-8 text.
    Iterative, and memory in the nesting depth only."""
    path: list[str] = []  # labels of the containers being walked
    stack = [iter([("body", value)])]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            if path:
                path.pop()
            continue
        label, item = entry
        label = _label(label)
        if isinstance(item, str):
            strings = [(item, label)]
        elif isinstance(item, dict):
            strings = [(key, f"{label}: the key {_short(key, 40)}") for key in item]
        else:
            strings = []
        for text, where in strings:
            index = _lone_surrogate(text)
            if index is not None:
                place = ".".join([*path, where])
                raise ValueError(f"{place}: lone surrogate {text[index]!r} at index {index}")
        if isinstance(item, dict):
            path.append(label)
            stack.append(iter(item.items()))
        elif isinstance(item, list):
            path.append(label)
            stack.append(iter(enumerate(item)))


_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)  # possessive: linear, never backtracks


def _check_size(raw: bytes, max_values: int) -> None:
    """ValueError if the body holds more JSON values than ``max_values`` (counted by the brackets,
    commas, colons and strings outside strings, without parsing): a body of many tiny values would
    take many times its size as Python objects. Linear in the body; stops at the limit."""
    pos, values, n = 0, 0, len(raw)
    while pos < n:
        quote = raw.find(b'"', pos)
        stop = n if quote < 0 else quote
        values += sum(raw.count(c, pos, stop) for c in (b",", b":", b"[", b"{")) + (quote >= 0)
        if values > max_values:
            raise ValueError(f"it holds more than {max_values} values, more than any request here can")
        if quote < 0:
            return
        match = _STRING.match(raw, quote)
        if match is None:
            return  # an unterminated string: json.loads says so
        pos = match.end()


def parse_json(raw: bytes, max_values: int = 1 << 20) -> Any:
    """The body as JSON, strictly; HTTPException 422 saying what is wrong otherwise."""
    try:
        _check_size(raw, max_values)
        value = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
        _check_text(value)
    except RecursionError:
        raise HTTPException(422, "the body is not valid JSON: nested too deep") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the checks above, int digit limit
        raise HTTPException(422, f"the body is not valid JSON: {str(exc)[:300]}") from None
    return value


def _errors(exc: ValidationError, prefix: str = "") -> str:
    """pydantic's errors as one line, without echoing the input."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(_label(x) for x in error["loc"])
        parts.append(f"{prefix}{loc or 'body'}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def model_of(model: type[BaseModel], value: Any, prefix: str = "") -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise HTTPException(422, _errors(exc, prefix)) from None


def checked(build: Any, cfg: SandboxConfig, prefix: str = "") -> RunRequest:
    """``build()``'s RunRequest within ``cfg``'s caps; HTTPException 413 or 422 naming the field."""
    try:
        return cfg.check_request(build())
    except RequestTooLarge as exc:
        raise HTTPException(413, f"{prefix}{exc}") from None
    except ValueError as exc:
        raise HTTPException(422, f"{prefix}{exc}") from None


def fit_output(result: ExecResult, share: int) -> ExecResult:
    """``result`` with stdout + stderr cut to ``share`` UTF-8 bytes (each stream keeps at least half
    when both are long); a run cut this way that had ended ``ok`` or ``error`` becomes ``output_limit``."""
    out, err = result.stdout.encode("utf-8", "replace"), result.stderr.encode("utf-8", "replace")
    if len(out) + len(err) <= share:
        return result
    half = share // 2
    if len(out) <= half:
        err = err[: share - len(out)]
    elif len(err) <= half:
        out = out[: share - len(err)]
    else:
        out, err = out[:half], err[: share - half]
    result.stdout, result.stderr = out.decode("utf-8", "ignore"), err.decode("utf-8", "ignore")
    if result.status in ("ok", "error"):
        result.status = "output_limit"
    return result


class Metrics:
    """Counters exposed at ``/metrics`` in the Prometheus text format."""

    def __init__(self) -> None:
        self.by_status: Counter[str] = Counter()
        self.rejected = 0
        self.run_seconds = 0.0
        self.started = time.time()

    def record(self, status: str, seconds: float) -> None:
        self.by_status[status] += 1
        self.run_seconds += seconds

    def text(self, gauges: dict[str, float]) -> str:
        lines = ["# TYPE toolgym_sandbox_runs_total counter"]
        lines += [f'toolgym_sandbox_runs_total{{status="{s}"}} {self.by_status[s]}' for s in STATUSES]
        lines += [
            "# TYPE toolgym_sandbox_rejected_total counter",
            f"toolgym_sandbox_rejected_total {self.rejected}",
            "# TYPE toolgym_sandbox_run_seconds_total counter",
            f"toolgym_sandbox_run_seconds_total {self.run_seconds:.6f}",
        ]
        for name, value in gauges.items():
            lines += [f"# TYPE toolgym_sandbox_{name} gauge", f"toolgym_sandbox_{name} {value}"]
        return "\n".join(lines) + "\n"


def create_app(
    sandbox: Sandbox | None = None,
    *,
    max_pending: int = 1024,
    max_body_bytes: int = MAX_BODY_BYTES,
    **config: Any,
) -> FastAPI:
    """The service app. Up to ``max_pending`` runs may wait or run at once; past that, requests get
    429 at once. A body over ``max_body_bytes`` gets 413. ``config`` (SandboxConfig fields, caps
    included) goes to :class:`Sandbox` when no sandbox is given."""
    if max_pending < 1:
        raise ValueError(f"max_pending must be >= 1, got {max_pending}")
    if not 1024 <= max_body_bytes <= 1024**3:
        raise ValueError(f"max_body_bytes must be in [1024, {1024**3}], got {max_body_bytes}")
    if sandbox is not None and config:
        raise ValueError("pass either a sandbox or SandboxConfig fields, not both")
    cfg = sandbox.config if sandbox is not None else SandboxConfig(**config)
    state: dict[str, Any] = {"sandbox": sandbox, "pending": 0, "owned": sandbox is None}
    metrics = Metrics()
    running = asyncio.Semaphore(cfg.workers)  # runs at once, whatever the requests in flight
    # the most JSON values a body of this service can hold: a batch of runs, each with all its fields
    # and files (a body past it is refused before it is parsed, see _check_size)
    max_values = cfg.max_batch * (32 + 4 * cfg.max_files) + 64

    def body_of(raw: bytes) -> Any:
        return parse_json(raw, max_values)

    def sb() -> Sandbox:
        if state["sandbox"] is None:
            state["sandbox"] = Sandbox(cfg)
        return state["sandbox"]

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        await asyncio.to_thread(sb)
        yield
        if state["owned"] and state["sandbox"] is not None:
            await asyncio.to_thread(state["sandbox"].close)

    app = FastAPI(title="toolgym sandbox", version="1", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        body = json.dumps({"detail": exc.detail}, ensure_ascii=True, default=str)
        return Response(body, exc.status_code, headers=exc.headers, media_type="application/json")

    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return await http_error(_request, HTTPException(422, "the request does not fit this endpoint"))

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)

    def admit(n: int) -> None:
        if state["pending"] + n > max_pending:
            metrics.rejected += n
            raise HTTPException(
                429,
                f"sandbox at capacity ({max_pending} pending runs); retry later",
                headers={"Retry-After": "1"},
            )
        state["pending"] += n

    def request_of(value: Any, prefix: str = "") -> RunRequest:
        body = model_of(RunBody, value, prefix)
        return checked(
            lambda: RunRequest(
                code=body.code,
                language=body.language,
                stdin=body.stdin,
                files=body.files,
                timeout_s=cfg.timeout_s if body.timeout_s is None else body.timeout_s,
                memory_mb=cfg.memory_mb if body.memory_mb is None else body.memory_mb,
            ),
            cfg,
            prefix,
        )

    async def run_one(request: RunRequest, share: int | None = None) -> dict[str, Any]:
        async with running:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(sb()._executor, sb().run_request, request)
            if share is not None:  # cut before the next run starts: the batch's bound holds throughout
                result = fit_output(result, share)
        metrics.record(result.status, result.wall_s)
        return result.to_dict()

    @app.post("/run")
    async def run(http: Request) -> dict[str, Any]:
        request = request_of(body_of(await http.body()))
        admit(1)
        try:
            return await run_one(request)
        finally:
            state["pending"] -= 1

    @app.post("/run_batch")
    async def run_batch(http: Request) -> list[dict[str, Any]]:
        items = body_of(await http.body())
        if not isinstance(items, list):
            raise HTTPException(422, f"the body must be a JSON list of runs, got {type(items).__name__}")
        if len(items) > cfg.max_batch:
            raise HTTPException(
                422, f"a batch of {len(items)} requests is over this sandbox's cap max_batch={cfg.max_batch}"
            )
        requests = [request_of(item, f"request {i}: ") for i, item in enumerate(items)]
        del items
        share = cfg.batch_output_share(len(requests))
        admit(len(requests))
        try:
            return list(await asyncio.gather(*(run_one(r, share) for r in requests)))
        finally:
            state["pending"] -= len(requests)

    @app.post("/sessions")
    async def open_session(http: Request) -> dict[str, Any]:
        body = model_of(SessionBody, body_of(await http.body()))
        request = checked(
            lambda: RunRequest(
                code="",
                timeout_s=cfg.timeout_s if body.timeout_s is None else body.timeout_s,
                memory_mb=cfg.memory_mb if body.memory_mb is None else body.memory_mb,
            ),
            cfg,
        )
        try:
            session = await asyncio.to_thread(
                sb().open_session, timeout_s=request.timeout_s, memory_mb=request.memory_mb
            )
        except SessionLimit as exc:
            metrics.rejected += 1
            raise HTTPException(429, str(exc), headers={"Retry-After": "5"}) from exc
        except SandboxError as exc:
            raise HTTPException(503, str(exc)) from exc
        return {"id": session.id, "timeout_s": session.timeout_s, "memory_mb": session.memory_mb}

    @app.post("/sessions/{session_id}/run")
    async def session_run(session_id: str, http: Request) -> dict[str, Any]:
        body = model_of(CellBody, body_of(await http.body()))
        session = sb().session(session_id)
        if session is None:
            raise HTTPException(
                404, f"no open session {_short(session_id)} (closed, idle too long, or never opened)"
            )
        request = checked(
            lambda: RunRequest(
                code=body.code,
                timeout_s=session.timeout_s if body.timeout_s is None else body.timeout_s,
                memory_mb=session.memory_mb,
            ),
            cfg,
        )
        result = await session.arun(request.code, timeout_s=request.timeout_s)
        metrics.record(result.status, result.wall_s)
        return result.to_dict() | {"alive": session.alive}

    @app.delete("/sessions/{session_id}")
    async def close_session(session_id: str) -> dict[str, Any]:
        session = sb().session(session_id)
        if session is None:
            raise HTTPException(404, f"no open session {_short(session_id)}")
        await asyncio.to_thread(session.close)
        return {"closed": session_id}

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "pending": state["pending"], "max_pending": max_pending, **sb().stats()}

    @app.get("/metrics")
    async def prometheus() -> Response:
        stats = sb().stats()
        gauges = {
            "pending": state["pending"],
            "busy_workers": stats["busy"],
            "warm_workers": stats["warm_workers"],
            "sessions": stats["sessions"],
        }
        return Response(metrics.text(gauges), media_type="text/plain; version=0.0.4")

    return app


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    max_pending: int = 1024,
    max_body_bytes: int = MAX_BODY_BYTES,
    **config: Any,
) -> None:
    """Run the service with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(
        create_app(max_pending=max_pending, max_body_bytes=max_body_bytes, **config),
        host=host,
        port=port,
        log_level="warning",
        backlog=2048,
        timeout_keep_alive=30,
    )
