"""Settings of an embedded sandbox, checked at construction."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.result import MAX_FILES, RequestTooLarge

if TYPE_CHECKING:
    from sandbox.result import RunRequest

BACKENDS = ("bwrap", "rlimits", "docker")
DEFAULT_IMAGE = "python:3.11-slim"
MAX_BODY_BYTES = 16 * 1024 * 1024  # the service's default cap on a request body, as the stack's balancer
PRELOAD = (
    "json",
    "re",
    "math",
    "collections",
    "itertools",
    "functools",
    "random",
    "string",
    "heapq",
    "bisect",
    "fractions",
    "decimal",
    "typing",
    "dataclasses",
    "ctypes",
    "subprocess",
    "select",
    # where the interpreter has them: runs fork with numpy imported (one BLAS thread; numpy.random's
    # global state is seeded anew in every run, see fork_server)
    "numpy",
    "numpy.random",
)


def machine_workers() -> int:
    """Default pool size: two warm workers per usable core, so runs overlap their I/O."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(2, 2 * cores)


@dataclass
class SandboxConfig:
    """How the sandbox isolates and bounds runs.

    ``backend``: ``bwrap`` (namespaces + seccomp + unprivileged uid + rlimits, the default),
    ``rlimits`` (rlimits and a uid drop only: a weaker tier that needs ``allow_unsafe=True``),
    ``docker`` (a container per run through the docker SDK).
    """

    backend: str = "bwrap"
    workers: int = 0  # 0: sized to the machine
    timeout_s: float = 10.0
    memory_mb: int = 512
    max_output_bytes: int = 1024 * 1024
    nproc: int = 64
    nofile: int = 256
    fsize_mb: int = 64
    tmpfs_mb: int = 64  # each of /work, /tmp and /dev/shm; fresh for every run
    tmpfs_inodes: int = 4096  # files and directories each of them may hold
    python: str | None = None  # the interpreter inside the sandbox; None: the first world-readable one
    preload: tuple[str, ...] = PRELOAD
    max_sessions: int = 32
    session_idle_s: float = 600.0
    acquire_timeout_s: float = 300.0
    allow_unsafe: bool = False
    image: str | None = None  # docker backend; None: $TOOLGYM_SANDBOX_IMAGE or DEFAULT_IMAGE
    docker_url: str | None = None  # docker backend; None: $DOCKER_HOST or the SDK default
    # Caps on what a request may ask for (check_request); the defaults above must be within them.
    max_timeout_s: float = 60.0  # a run's or a session cell's timeout_s
    max_memory_mb: int = 2048  # a run's or a session's memory_mb
    max_code_bytes: int = 1024 * 1024  # UTF-8 bytes of code
    max_stdin_bytes: int = 4 * 1024 * 1024
    max_files: int = 256  # files in one request
    max_files_bytes: int = 8 * 1024 * 1024  # all of one request's files together
    max_batch: int = 256  # requests in one run_batch
    max_batch_output_bytes: int = 32 * 1024 * 1024  # stdout + stderr of one run_batch, all runs together

    def __post_init__(self) -> None:
        if self.workers == 0:
            self.workers = int(os.environ.get("TOOLGYM_SANDBOX_WORKERS", 0)) or machine_workers()
        if self.image is None:
            self.image = os.environ.get("TOOLGYM_SANDBOX_IMAGE", DEFAULT_IMAGE)
        self.validate()

    def validate(self) -> None:
        def check(name: str, low: float, high: float) -> None:
            value = getattr(self, name)
            if not (low <= value <= high):
                raise ValueError(f"{name} must be in [{low}, {high}], got {value}")

        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        check("workers", 1, 1024)
        check("timeout_s", 0.001, 600)
        check("memory_mb", 32, 65536)
        check("max_output_bytes", 1024, 256 * 1024 * 1024)
        check("nproc", 1, 4096)
        check("nofile", 16, 65536)
        check("fsize_mb", 1, 65536)
        check("tmpfs_mb", 1, 65536)
        check("tmpfs_inodes", 16, 1 << 20)
        check("max_sessions", 0, 4096)
        check("session_idle_s", 1, 86400)
        check("acquire_timeout_s", 0.001, 86400)
        check("max_timeout_s", 0.001, 600)
        check("max_memory_mb", 32, 65536)
        check("max_code_bytes", 1, 4 * 1024 * 1024)
        check("max_stdin_bytes", 0, 1024 * 1024 * 1024)
        check("max_files", 0, MAX_FILES)
        check("max_files_bytes", 0, 1024 * 1024 * 1024)
        check("max_batch", 1, 4096)
        check("max_batch_output_bytes", 1024, 16 * 1024 * 1024 * 1024)
        if self.timeout_s > self.max_timeout_s:
            raise ValueError(
                f"timeout_s ({self.timeout_s}) must be at most max_timeout_s ({self.max_timeout_s})"
            )
        if self.memory_mb > self.max_memory_mb:
            raise ValueError(
                f"memory_mb ({self.memory_mb}) must be at most max_memory_mb ({self.max_memory_mb})"
            )

    def check_request(self, request: RunRequest) -> RunRequest:
        """``request`` if it asks for no more than this sandbox allows, else ValueError naming the field
        and the cap (``RequestTooLarge``, a ValueError, for sizes). Runs, sessions and session cells
        all go through it: call it after building the ``RunRequest`` and before anything runs."""
        if request.timeout_s > self.max_timeout_s:
            raise ValueError(
                f"timeout_s {request.timeout_s} is over this sandbox's cap max_timeout_s={self.max_timeout_s}"
            )
        if request.memory_mb > self.max_memory_mb:
            raise ValueError(
                f"memory_mb {request.memory_mb} is over this sandbox's cap max_memory_mb={self.max_memory_mb}"
            )
        if request.files and len(request.files) > self.max_files:
            raise ValueError(
                f"files: {len(request.files)} files is over this sandbox's cap max_files={self.max_files}"
            )
        sizes = request.sizes()
        for name, cap in (
            ("code", self.max_code_bytes),
            ("stdin", self.max_stdin_bytes),
            ("files", self.max_files_bytes),
        ):
            if sizes[name] > cap:
                raise RequestTooLarge(
                    f"{name}: {sizes[name]} bytes is over this sandbox's cap max_{name}_bytes={cap}"
                )
        return request

    def check_batch(self, requests: Sequence[RunRequest]) -> None:
        """ValueError unless the batch holds at most ``max_batch`` requests, each within the caps."""
        if len(requests) > self.max_batch:
            raise ValueError(
                f"a batch of {len(requests)} requests is over this sandbox's cap max_batch={self.max_batch}"
            )
        for i, request in enumerate(requests):
            try:
                self.check_request(request)
            except ValueError as exc:
                raise type(exc)(f"request {i}: {exc}") from None

    def batch_output_share(self, n: int) -> int:
        """Bytes of stdout + stderr each run of an ``n``-run batch may keep: at most both streams at
        ``max_output_bytes``, and all ``n`` together at most ``max_batch_output_bytes``."""
        return min(2 * self.max_output_bytes, self.max_batch_output_bytes // max(1, n))
