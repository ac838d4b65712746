"""Settings of an embedded sandbox, checked at construction."""

from __future__ import annotations

import os
from dataclasses import dataclass

BACKENDS = ("bwrap", "rlimits", "docker")
DEFAULT_IMAGE = "python:3.11-slim"
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
