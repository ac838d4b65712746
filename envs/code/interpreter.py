"""The ``python`` tool's backend: runs the agent's code in the sandbox, one fresh run per call or a
persistent interpreter session per episode, and turns the result into the observation text."""

from __future__ import annotations

import contextlib
from typing import Any

from envs.core import InfraError

_FENCED = ("```python", "```py", "```")


def strip_fences(code: str) -> str:
    """Code without a surrounding Markdown fence, as models often write it inside a tool call."""
    text = code.strip()
    for fence in _FENCED:
        if text.startswith(fence) and text.endswith("```") and len(text) > len(fence) + 3:
            return text[len(fence) : -3].strip("\n")
    return code


def sandbox_for(url: str | None) -> Any:
    """The sandbox an env uses: a client of the service at ``url`` (or ``$TOOLGYM_SANDBOX_URL``),
    else the shared embedded sandbox; an unavailable sandbox raises ``InfraError``."""
    from sandbox import get_sandbox

    try:
        return get_sandbox(url)
    except Exception as e:  # e.g. no bubblewrap: the env cannot run code at all
        raise InfraError(f"no sandbox available: {e}") from e


def format_result(result: Any, max_chars: int, timeout_s: float) -> str:
    """The observation for one run: stdout, then stderr, then a note for a non-ok status."""
    if result.status == "sandbox_error":
        raise InfraError(f"sandbox error: {result.stderr.strip()[:500]}")
    parts = [result.stdout.rstrip("\n")] if result.stdout.strip() else []
    if result.stderr.strip():
        parts.append(result.stderr.rstrip("\n"))
    notes = {
        "timeout": f"TimeoutError: the code ran longer than {timeout_s:g}s and was stopped",
        "oom": "MemoryError: the code ran out of memory and was stopped",
        "output_limit": "the code printed too much; its output was cut",
    }
    if result.status in notes:
        parts.append(notes[result.status])
    text = "\n".join(parts) if parts else "(no output)"
    if len(text) > max_chars:
        half = max_chars // 2
        text = f"{text[:half]}\n... [{len(text) - max_chars} characters cut] ...\n{text[-half:]}"
    return text


class Interpreter:
    """Runs code for one episode. ``persistent``: one interpreter session keeps variables and imports
    across calls (opened on the first call, closed by ``close``); otherwise every call is a fresh run."""

    def __init__(
        self,
        sandbox_url: str | None,
        *,
        persistent: bool,
        timeout_s: float,
        memory_mb: int,
        max_output_chars: int,
    ):
        self.sandbox_url = sandbox_url
        self.persistent = persistent
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_output_chars = max_output_chars
        self._session: Any = None

    @property
    def sandbox(self) -> Any:
        return sandbox_for(self.sandbox_url)

    def run(self, code: str, *, fresh: bool = False) -> str:
        """Run ``code`` (in a fresh interpreter when ``fresh`` or not persistent) and return its
        observation; ``InfraError`` if the sandbox fails."""
        code = strip_fences(code)
        if fresh or not self.persistent:
            result = self.sandbox.run(code, timeout_s=self.timeout_s, memory_mb=self.memory_mb)
            return format_result(result, self.max_output_chars, self.timeout_s)
        if self._session is None or not getattr(self._session, "alive", True):
            from sandbox import SandboxError

            try:
                self._session = self.sandbox.open_session(timeout_s=self.timeout_s, memory_mb=self.memory_mb)
            except SandboxError as e:
                raise InfraError(f"cannot open an interpreter session: {e}") from e
        result = self._session.run(code, timeout_s=self.timeout_s)
        text = format_result(result, self.max_output_chars, self.timeout_s)
        if result.status in ("timeout", "oom") or not getattr(self._session, "alive", True):
            self.close()
            text += "\n(the interpreter was restarted; variables from earlier calls are gone)"
        return text

    def close(self) -> None:
        """Close the session, if one is open."""
        if self._session is not None:
            with contextlib.suppress(Exception):  # closing a session of a service that went away
                self._session.close()
            self._session = None
