"""``SandboxAPI``: the run methods shared by the embedded ``Sandbox`` and the HTTP ``SandboxClient``.

A subclass gives its default limits and how one ``RunRequest`` runs (``run_request`` and
``arun_request``); the keyword front (``run``, ``arun``) is written once here.
"""

from __future__ import annotations

from typing import Any

from sandbox.result import ExecResult, RunRequest


class SandboxAPI:
    """What every sandbox offers; a URL (``get_sandbox``) is the only difference between them."""

    def default_limits(self) -> tuple[float, int]:
        """The ``(timeout_s, memory_mb)`` a run gets when it names none."""
        raise NotImplementedError

    def run_request(self, request: RunRequest | dict[str, Any]) -> ExecResult:
        """Run a :class:`RunRequest` (or a dict of its fields)."""
        raise NotImplementedError

    async def arun_request(self, request: RunRequest | dict[str, Any]) -> ExecResult:
        """``run_request`` without blocking the event loop."""
        raise NotImplementedError

    def request(
        self,
        code: str,
        *,
        language: str = "python",
        stdin: str | bytes | None = None,
        files: dict[str, str | bytes] | None = None,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
    ) -> RunRequest:
        """A validated request; limits left out take this sandbox's defaults."""
        default_timeout, default_memory = self.default_limits()
        return RunRequest(
            code=code,
            language=language,
            stdin=stdin,
            files=files,
            timeout_s=default_timeout if timeout_s is None else timeout_s,
            memory_mb=default_memory if memory_mb is None else memory_mb,
        )

    def run(
        self,
        code: str,
        *,
        language: str = "python",
        stdin: str | bytes | None = None,
        files: dict[str, str | bytes] | None = None,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
    ) -> ExecResult:
        """Run ``code`` isolated and bounded. Never raises for what the code does: bad arguments raise
        ValueError, a failing sandbox gives ``status="sandbox_error"``."""
        return self.run_request(
            self.request(
                code, language=language, stdin=stdin, files=files, timeout_s=timeout_s, memory_mb=memory_mb
            )
        )

    async def arun(
        self,
        code: str,
        *,
        language: str = "python",
        stdin: str | bytes | None = None,
        files: dict[str, str | bytes] | None = None,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
    ) -> ExecResult:
        """``run`` without blocking the event loop."""
        return await self.arun_request(
            self.request(
                code, language=language, stdin=stdin, files=files, timeout_s=timeout_s, memory_mb=memory_mb
            )
        )
