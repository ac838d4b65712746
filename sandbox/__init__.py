"""Isolated code execution: an embedded sandbox (bubblewrap, seccomp, rlimits, a warm pool), the same
API over HTTP, and a Docker backend.

``get_sandbox()`` gives the process-wide sandbox an env should use: a client of the service named by
``TOOLGYM_SANDBOX_URL`` when set, else an embedded sandbox started on first use.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING

from sandbox.config import SandboxConfig
from sandbox.result import ExecResult, RunRequest, SandboxError, SessionLimit

if TYPE_CHECKING:
    from sandbox.client import SandboxClient
    from sandbox.embedded import Sandbox, Session

__all__ = [
    "ExecResult",
    "RunRequest",
    "Sandbox",
    "SandboxClient",
    "SandboxConfig",
    "SandboxError",
    "Session",
    "SessionLimit",
    "get_sandbox",
]

_lock = threading.Lock()
_shared: dict[str, object] = {}


def __getattr__(name: str):  # lazy: `import sandbox` stays light
    if name in ("Sandbox", "Session"):
        from sandbox import embedded

        return getattr(embedded, name)
    if name == "SandboxClient":
        from sandbox.client import SandboxClient

        return SandboxClient
    if name == "SandboxUnavailable":
        from sandbox.launch import SandboxUnavailable

        return SandboxUnavailable
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")


def get_sandbox(url: str | None = None) -> Sandbox | SandboxClient:
    """A ``SandboxClient`` for ``url`` (or ``$TOOLGYM_SANDBOX_URL``), else the process-wide embedded
    ``Sandbox``, started on first use and closed at exit."""
    url = url or os.environ.get("TOOLGYM_SANDBOX_URL") or None
    key = (
        f"{url or 'embedded'}@{os.getpid()}"  # a forked child gets its own: workers' pipes are not shareable
    )
    with _lock:
        if key not in _shared:
            if url:
                from sandbox.client import SandboxClient

                _shared[key] = SandboxClient(url)
            else:
                from sandbox.embedded import Sandbox

                _shared[key] = Sandbox()
            atexit.register(_shared[key].close)
        return _shared[key]  # type: ignore[return-value]
