"""A bounded pool of warm workers with first-come, first-served hand-off."""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.interpreter import SandboxPython
from sandbox.worker import Worker, WorkerError, WorkerStale

log = logging.getLogger(__name__)


class _Waiter:
    __slots__ = ("event", "slot", "served")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.slot: Worker | None = None
        self.served = False


class WorkerPool:
    """At most ``cfg.workers`` warm workers. A freed worker goes straight to the longest waiting caller,
    so no caller starves under load; a broken worker is closed and replaced in the background."""

    def __init__(self, cfg: SandboxConfig, python: SandboxPython) -> None:
        self.cfg, self.python, self.size = cfg, python, cfg.workers
        self._lock = threading.Lock()
        # None: a slot whose worker is not started. First in, first out: the worker that finished
        # longest ago has had the most time to clean up and fork its next run's child.
        self._idle: deque[Worker | None] = deque([None] * self.size)
        self._waiters: deque[_Waiter] = deque()
        self._busy: set[Worker] = set()
        self._closed = False

    # ------------------------------------------------------------ slots
    def _acquire(self) -> Worker | None:
        with self._lock:
            if self._idle and not self._waiters:
                return self._idle.popleft()
            waiter = _Waiter()
            self._waiters.append(waiter)
        if waiter.event.wait(self.cfg.acquire_timeout_s):
            return waiter.slot
        with self._lock:
            if waiter.served:
                return waiter.slot
            self._waiters.remove(waiter)
        raise WorkerError(f"no sandbox worker free within {self.cfg.acquire_timeout_s}s")

    def _release(self, worker: Worker | None) -> None:
        if self._closed and worker is not None:
            worker.close()
            worker = None
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.slot, waiter.served = worker, True
                waiter.event.set()
            else:
                self._idle.append(worker)

    def warm(self) -> None:
        """Start every idle slot's worker now, in parallel, so first runs do not pay the start."""
        with self._lock:
            cold = self._idle.count(None)
            self._idle = deque(w for w in self._idle if w is not None)

        def start(_: int) -> Worker | None:
            try:
                return Worker(self.cfg, self.python)
            except Exception as exc:  # noqa: BLE001 - the slot retries on use
                log.warning("sandbox worker failed to start: %s", exc)
                return None

        with ThreadPoolExecutor(max(1, cold)) as ex:
            for worker in ex.map(start, range(cold)):
                self._release(worker)

    # ------------------------------------------------------------ runs
    def run(self, frame: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send ``frame`` to a free worker (starting or replacing it if needed); WorkerError on failure."""
        worker = self._acquire()
        try:
            if self._closed:
                raise WorkerError("sandbox is closed")
            if worker is None or not worker.alive:
                if worker is not None:
                    worker.close()
                worker = None
                worker = Worker(self.cfg, self.python)
            with self._lock:
                self._busy.add(worker)
            try:
                answer = worker.call(frame, timeout_s)
            except WorkerStale as exc:  # nothing was sent: run on a fresh worker instead
                log.warning("replacing a sandbox worker: %s", exc)
                with self._lock:
                    self._busy.discard(worker)
                worker = Worker(self.cfg, self.python)
                with self._lock:
                    self._busy.add(worker)
                answer = worker.call(frame, timeout_s)
            if self.cfg.backend != "bwrap" and os.geteuid() != 0:
                worker.close()  # the weakest tier cannot clean up after a run: never reuse the worker
            return answer
        except WorkerError:
            if worker is not None:
                worker.close()
            raise
        finally:
            with self._lock:
                self._busy.discard(worker)
            if worker is not None and worker.alive:
                self._release(worker)
            elif self._closed:
                self._release(None)
            else:  # replace the broken worker in the background so the next caller finds it warm
                threading.Thread(target=self._replace, name="sandbox-replace", daemon=True).start()

    def _replace(self) -> None:
        try:
            worker: Worker | None = Worker(self.cfg, self.python)
        except WorkerError as exc:
            log.warning("sandbox worker failed to start: %s", exc)
            worker = None  # the slot retries on its next use
        self._release(worker)

    # ------------------------------------------------------------ status and lifetime
    @property
    def busy(self) -> int:
        return len(self._busy)

    def busy_workers(self) -> list[Worker]:
        with self._lock:
            return list(self._busy)

    def workers(self) -> list[Worker]:
        """The warm workers, idle and busy."""
        with self._lock:
            return [w for w in self._idle if w is not None] + list(self._busy)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, deque([None] * len(self._idle))
        for w in idle:
            if w is not None:
                w.close()
