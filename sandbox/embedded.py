"""The embedded sandbox: a bounded pool of warm workers, persistent sessions, sync and async runs."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sandbox import launch
from sandbox.api import SandboxAPI
from sandbox.config import SandboxConfig
from sandbox.pool import WorkerPool
from sandbox.result import ExecResult, RunRequest, SandboxError, SessionLimit
from sandbox.worker import Worker, WorkerError

log = logging.getLogger(__name__)
UNSAFE_WARNING = (
    "toolgym sandbox: backend='rlimits' gives NO filesystem, network or process isolation; "
    "only run code you trust"
)


class Session:
    """A persistent interpreter: variables and imports survive between ``run`` calls; each call's
    output is its own. A call past its timeout (or one that exits the interpreter) ends the session."""

    def __init__(self, owner: Sandbox, worker: Worker, timeout_s: float, memory_mb: int) -> None:
        self.id = uuid.uuid4().hex
        self._owner, self._worker = owner, worker
        self.timeout_s, self.memory_mb = timeout_s, memory_mb
        self.last_used = time.monotonic()
        self.closed_reason: str | None = None
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self.closed_reason is None

    def run(self, code: str, *, timeout_s: float | None = None) -> ExecResult:
        """Run a cell; a final expression's value is printed, as in a REPL."""
        request = RunRequest(code=code, timeout_s=timeout_s or self.timeout_s, memory_mb=self.memory_mb)
        self._owner.config.check_request(request)
        with self._lock:
            self.last_used = time.monotonic()
            if self.closed_reason is not None:
                return ExecResult(
                    stderr=f"session is closed ({self.closed_reason}); open a new one",
                    exit_code=None,
                    status="error",
                )
            started = time.monotonic()
            try:
                answer = self._worker.call(
                    {"op": "session_run", "code": request.code, "timeout_s": float(request.timeout_s)},
                    float(request.timeout_s),
                )
            except WorkerError as exc:
                self._end("the sandbox failed")
                return ExecResult.infra_error(str(exc), time.monotonic() - started)
            self.last_used = time.monotonic()
            if not answer.pop("alive", False):
                self._end(f"the interpreter ended with status {answer.get('status')}")
            return ExecResult.from_dict(answer)

    async def arun(self, code: str, *, timeout_s: float | None = None) -> ExecResult:
        return await asyncio.to_thread(self.run, code, timeout_s=timeout_s)

    def _end(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            self._worker.close()
            self._owner._forget_session(self)

    def close(self) -> None:
        """End the session and free its interpreter."""
        with self._lock:
            self._end("closed")

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Sandbox(SandboxAPI):
    """Runs untrusted code. ``Sandbox(**SandboxConfig fields)``; see :class:`SandboxConfig`."""

    def __init__(self, config: SandboxConfig | None = None, *, warm: bool = True, **kwargs: Any) -> None:
        self.config = config or SandboxConfig(**kwargs)
        cfg = self.config
        self._sessions: dict[str, Session] = {}
        self._sessions_lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()
        self._docker = None
        if cfg.backend == "docker":
            from sandbox.docker_backend import DockerRunner

            self._docker = DockerRunner(cfg)
            self._pool = None
        else:
            if cfg.backend == "rlimits":
                if not cfg.allow_unsafe:
                    raise launch.SandboxUnavailable(
                        "backend='rlimits' runs code without isolation; pass allow_unsafe=True to accept that"
                    )
                warnings.warn(UNSAFE_WARNING, stacklevel=2)
                log.warning(UNSAFE_WARNING)
            else:
                launch.find_bwrap()
                launch.probe_bwrap()
            self._pool = WorkerPool(cfg, launch.sandbox_python(cfg.python, cfg.backend))
            if warm:
                self._pool.warm()
        self._executor = ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="sandbox")
        self._reaper = threading.Thread(target=self._reap_idle_sessions, daemon=True)
        self._reaper.start()

    # ------------------------------------------------------------ runs
    def default_limits(self) -> tuple[float, int]:
        return self.config.timeout_s, self.config.memory_mb

    def run_request(self, request: RunRequest | dict[str, Any]) -> ExecResult:
        """Run a :class:`RunRequest` (or a dict of its fields)."""
        request = self.config.check_request(RunRequest.coerce(request))
        if self._closed:
            raise RuntimeError("sandbox is closed")
        if os.getpid() != self._pid:
            raise RuntimeError(
                "this Sandbox was created in the parent process; after a fork, create a new "
                "one (get_sandbox() does so by itself)"
            )
        started = time.monotonic()
        if self._docker is not None:
            return self._docker.run(request)
        frame = {"op": "run", **request.wire(), "max_output_bytes": self.config.max_output_bytes}
        try:
            answer = self._pool.run(frame, float(request.timeout_s))
        except WorkerError as exc:
            return ExecResult.infra_error(str(exc), time.monotonic() - started)
        except launch.SandboxUnavailable as exc:
            return ExecResult.infra_error(str(exc), time.monotonic() - started)
        return ExecResult.from_dict(answer)

    async def arun_request(self, request: RunRequest | dict[str, Any]) -> ExecResult:
        """``run_request`` without blocking the event loop; waits for a free worker like ``run``."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.run_request, request)

    def run_batch(self, requests: Sequence[RunRequest | dict[str, Any]]) -> list[ExecResult]:
        """Run many requests in parallel over the pool; results in the order of ``requests``."""
        checked = [RunRequest.coerce(r) for r in requests]
        self.config.check_batch(checked)
        return list(self._executor.map(self.run_request, checked))

    async def arun_batch(self, requests: Sequence[RunRequest | dict[str, Any]]) -> list[ExecResult]:
        checked = [RunRequest.coerce(r) for r in requests]
        self.config.check_batch(checked)
        loop = asyncio.get_running_loop()
        return list(
            await asyncio.gather(
                *(loop.run_in_executor(self._executor, self.run_request, r) for r in checked)
            )
        )

    # ------------------------------------------------------------ sessions
    def open_session(self, *, timeout_s: float | None = None, memory_mb: int | None = None) -> Session:
        """A persistent interpreter in its own sandbox (not taken from the pool)."""
        cfg = self.config
        request = RunRequest(
            code="",
            timeout_s=cfg.timeout_s if timeout_s is None else timeout_s,
            memory_mb=cfg.memory_mb if memory_mb is None else memory_mb,
        )
        cfg.check_request(request)
        if self._docker is not None:
            raise SandboxError("sessions need the bwrap or rlimits backend")
        with self._sessions_lock:
            if len(self._sessions) >= cfg.max_sessions:
                raise SessionLimit(f"{cfg.max_sessions} sessions are open (max_sessions); close one first")
            placeholder = object()
            self._sessions[f"pending-{id(placeholder)}"] = placeholder  # type: ignore[assignment]
        try:
            worker = None
            try:
                worker = Worker(cfg, self._pool.python)
                worker.call(
                    {"op": "session_open", **request.wire(), "max_output_bytes": cfg.max_output_bytes},
                    float(request.timeout_s),
                )
            except WorkerError as exc:
                if worker is not None:
                    worker.close()
                raise SandboxError(f"cannot open a session: {exc}") from exc
            session = Session(self, worker, float(request.timeout_s), int(request.memory_mb))
        finally:
            with self._sessions_lock:
                self._sessions.pop(f"pending-{id(placeholder)}", None)
        with self._sessions_lock:
            self._sessions[session.id] = session
        return session

    def session(self, session_id: str) -> Session | None:
        s = self._sessions.get(session_id)
        return s if isinstance(s, Session) else None

    def _forget_session(self, session: Session) -> None:
        with self._sessions_lock:
            self._sessions.pop(session.id, None)

    def _reap_idle_sessions(self) -> None:
        while not self._closed:
            time.sleep(min(5.0, self.config.session_idle_s / 2))
            now = time.monotonic()
            for s in list(self._sessions.values()):
                if isinstance(s, Session) and now - s.last_used > self.config.session_idle_s:
                    with s._lock:
                        s._end("idle timeout")

    # ------------------------------------------------------------ status and lifetime
    def stats(self) -> dict[str, Any]:
        pool = self._pool
        return {
            "backend": self.config.backend,
            "workers": self.config.workers,
            "warm_workers": len(pool.workers()) if pool else 0,
            "busy": pool.busy if pool else 0,
            "sessions": sum(isinstance(s, Session) for s in self._sessions.values()),
        }

    def worker_rss_bytes(self) -> list[int]:
        """Resident memory of each warm worker (bwrap plus its fork server)."""
        return [w.rss_bytes() for w in self._pool.workers()] if self._pool else []

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if os.getpid() != self._pid:
            return  # a forked child must not kill the workers of its parent's sandbox
        for s in list(self._sessions.values()):
            if isinstance(s, Session):
                s.close()
        if self._pool is not None:
            self._pool.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
