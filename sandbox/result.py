"""The result of one run and the request that asks for it."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("ok", "error", "timeout", "oom", "output_limit", "sandbox_error")
LANGUAGES = ("python", "bash")
MAX_TIMEOUT_S = 600.0
MIN_MEMORY_MB, MAX_MEMORY_MB = 32, 65536
MAX_CODE_BYTES = 4 * 1024 * 1024


class SandboxError(RuntimeError):
    """The sandbox cannot do what was asked (not the code's fault): e.g. no session could be opened."""


class SessionLimit(SandboxError):
    """Too many sessions are open."""


@dataclass
class ExecResult:
    """What a run produced. ``status`` is one of :data:`STATUSES`; ``sandbox_error`` means the
    sandbox itself failed (the code's outcome is unknown), never that the code failed."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    status: str = "ok"
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecResult:
        status = data.get("status", "sandbox_error")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        return cls(
            stdout=str(data.get("stdout", "")),
            stderr=str(data.get("stderr", "")),
            exit_code=data.get("exit_code"),
            status=status,
            wall_s=float(data.get("wall_s", 0.0)),
        )

    @classmethod
    def infra_error(cls, reason: str, wall_s: float = 0.0) -> ExecResult:
        """A ``sandbox_error`` result carrying ``reason`` in stderr."""
        return cls(
            stdout="",
            stderr=f"sandbox error: {reason}",
            exit_code=None,
            status="sandbox_error",
            wall_s=wall_s,
        )


@dataclass
class RunRequest:
    """One run: code plus its inputs and limits. ``validate()`` runs at construction."""

    code: str
    language: str = "python"
    stdin: str | bytes | None = None
    files: dict[str, str | bytes] | None = field(default=None)
    timeout_s: float = 10.0
    memory_mb: int = 512

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not isinstance(self.code, str):
            raise ValueError(f"code must be a string, got {type(self.code).__name__}")
        if len(self.code.encode("utf-8", "surrogatepass")) > MAX_CODE_BYTES:
            raise ValueError(f"code must be at most {MAX_CODE_BYTES} bytes")
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {self.language!r}")
        if self.stdin is not None and not isinstance(self.stdin, str | bytes):
            raise ValueError("stdin must be a string, bytes or None")
        if not (0 < float(self.timeout_s) <= MAX_TIMEOUT_S):
            raise ValueError(f"timeout_s must be in (0, {MAX_TIMEOUT_S}], got {self.timeout_s}")
        if not (MIN_MEMORY_MB <= int(self.memory_mb) <= MAX_MEMORY_MB):
            raise ValueError(f"memory_mb must be in [{MIN_MEMORY_MB}, {MAX_MEMORY_MB}], got {self.memory_mb}")
        for name, content in (self.files or {}).items():
            parts = str(name).split("/")
            if not name or name.startswith("/") or ".." in parts or "" in parts:
                raise ValueError(f"files: name {name!r} must be a relative path without '..'")
            if not isinstance(content, str | bytes):
                raise ValueError(f"files: content of {name!r} must be a string or bytes")

    @classmethod
    def coerce(cls, value: RunRequest | dict[str, Any]) -> RunRequest:
        """A request from a ``RunRequest`` or a dict of its fields (unknown keys are an error)."""
        if isinstance(value, RunRequest):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"a request must be a dict or RunRequest, got {type(value).__name__}")
        unknown = set(value) - {"code", "language", "stdin", "files", "timeout_s", "memory_mb"}
        if unknown:
            raise ValueError(f"unknown request fields: {sorted(unknown)}")
        return cls(**value)

    def wire(self) -> dict[str, Any]:
        """The request as the worker protocol carries it (binary fields base64)."""
        return {
            "code": self.code,
            "language": self.language,
            "stdin": None if self.stdin is None else _b64(self.stdin),
            "files": {name: _b64(content) for name, content in (self.files or {}).items()},
            "timeout_s": float(self.timeout_s),
            "memory_mb": int(self.memory_mb),
        }

    def to_json(self) -> dict[str, Any]:
        """The request as the HTTP API carries it (text fields only)."""

        def text(value: str | bytes) -> str:
            return value.decode("utf-8") if isinstance(value, bytes) else value

        return {
            "code": self.code,
            "language": self.language,
            "stdin": None if self.stdin is None else text(self.stdin),
            "files": {name: text(content) for name, content in (self.files or {}).items()} or None,
            "timeout_s": float(self.timeout_s),
            "memory_mb": int(self.memory_mb),
        }


def _b64(value: str | bytes) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(data).decode("ascii")
