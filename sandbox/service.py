"""The sandbox as a FastAPI service: runs, batches, sessions, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

from sandbox.embedded import Sandbox
from sandbox.result import (
    LANGUAGES,
    MAX_MEMORY_MB,
    MAX_TIMEOUT_S,
    MIN_MEMORY_MB,
    STATUSES,
    RunRequest,
    SandboxError,
    SessionLimit,
)

MAX_BATCH = 256


class RunBody(BaseModel):
    """``POST /run`` body; also one item of ``POST /run_batch``."""

    code: str = Field(max_length=4 * 1024 * 1024)
    language: str = Field("python", pattern="^(" + "|".join(LANGUAGES) + ")$")
    stdin: str | None = None
    files: dict[str, str] | None = None
    timeout_s: float | None = Field(None, gt=0, le=MAX_TIMEOUT_S)
    memory_mb: int | None = Field(None, ge=MIN_MEMORY_MB, le=MAX_MEMORY_MB)


class SessionBody(BaseModel):
    timeout_s: float | None = Field(None, gt=0, le=MAX_TIMEOUT_S)
    memory_mb: int | None = Field(None, ge=MIN_MEMORY_MB, le=MAX_MEMORY_MB)


class CellBody(BaseModel):
    code: str = Field(max_length=4 * 1024 * 1024)
    timeout_s: float | None = Field(None, gt=0, le=MAX_TIMEOUT_S)


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


def create_app(sandbox: Sandbox | None = None, *, max_pending: int = 1024, **config: Any) -> FastAPI:
    """The service app. Up to ``max_pending`` runs may wait or run at once; past that, requests get
    429 at once. ``config`` goes to :class:`Sandbox` when no sandbox is given."""
    if max_pending < 1:
        raise ValueError(f"max_pending must be >= 1, got {max_pending}")
    state: dict[str, Any] = {"sandbox": sandbox, "pending": 0, "owned": sandbox is None}
    metrics = Metrics()

    def sb() -> Sandbox:
        if state["sandbox"] is None:
            state["sandbox"] = Sandbox(**config)
        return state["sandbox"]

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        await asyncio.to_thread(sb)
        yield
        if state["owned"] and state["sandbox"] is not None:
            await asyncio.to_thread(state["sandbox"].close)

    app = FastAPI(title="toolgym sandbox", version="1", lifespan=lifespan)

    def admit(n: int) -> None:
        if state["pending"] + n > max_pending:
            metrics.rejected += n
            raise HTTPException(
                429,
                f"sandbox at capacity ({max_pending} pending runs); retry later",
                headers={"Retry-After": "1"},
            )
        state["pending"] += n

    def request_of(body: RunBody) -> RunRequest:
        cfg = sb().config
        try:
            return RunRequest(
                code=body.code,
                language=body.language,
                stdin=body.stdin,
                files=body.files,
                timeout_s=cfg.timeout_s if body.timeout_s is None else body.timeout_s,
                memory_mb=cfg.memory_mb if body.memory_mb is None else body.memory_mb,
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc

    async def run_one(request: RunRequest) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(sb()._executor, sb().run_request, request)
        metrics.record(result.status, result.wall_s)
        return result.to_dict()

    @app.post("/run")
    async def run(body: RunBody) -> dict[str, Any]:
        request = request_of(body)
        admit(1)
        try:
            return await run_one(request)
        finally:
            state["pending"] -= 1

    @app.post("/run_batch")
    async def run_batch(bodies: list[RunBody]) -> list[dict[str, Any]]:
        if len(bodies) > MAX_BATCH:
            raise HTTPException(422, f"a batch holds at most {MAX_BATCH} requests, got {len(bodies)}")
        requests = [request_of(b) for b in bodies]
        admit(len(requests))
        try:
            return list(await asyncio.gather(*(run_one(r) for r in requests)))
        finally:
            state["pending"] -= len(requests)

    @app.post("/sessions")
    async def open_session(body: SessionBody) -> dict[str, Any]:
        try:
            session = await asyncio.to_thread(
                sb().open_session, timeout_s=body.timeout_s, memory_mb=body.memory_mb
            )
        except SessionLimit as exc:
            metrics.rejected += 1
            raise HTTPException(429, str(exc), headers={"Retry-After": "5"}) from exc
        except SandboxError as exc:
            raise HTTPException(503, str(exc)) from exc
        return {"id": session.id, "timeout_s": session.timeout_s, "memory_mb": session.memory_mb}

    @app.post("/sessions/{session_id}/run")
    async def session_run(session_id: str, body: CellBody) -> dict[str, Any]:
        session = sb().session(session_id)
        if session is None:
            raise HTTPException(
                404, f"no open session {session_id!r} (closed, idle too long, or never opened)"
            )
        result = await session.arun(body.code, timeout_s=body.timeout_s)
        metrics.record(result.status, result.wall_s)
        return result.to_dict() | {"alive": session.alive}

    @app.delete("/sessions/{session_id}")
    async def close_session(session_id: str) -> dict[str, Any]:
        session = sb().session(session_id)
        if session is None:
            raise HTTPException(404, f"no open session {session_id!r}")
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


def serve(host: str = "127.0.0.1", port: int = 8080, *, max_pending: int = 1024, **config: Any) -> None:
    """Run the service with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(
        create_app(max_pending=max_pending, **config),
        host=host,
        port=port,
        log_level="warning",
        backlog=2048,
        timeout_keep_alive=30,
    )
