"""The result of one run and the request that asks for it."""

from __future__ import annotations

import base64
import math
import numbers
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("ok", "error", "timeout", "oom", "output_limit", "sandbox_error")
LANGUAGES = ("python", "bash")
MAX_TIMEOUT_S = 600.0
MIN_MEMORY_MB, MAX_MEMORY_MB = 32, 65536
MAX_CODE_BYTES = 4 * 1024 * 1024
MAX_FILES = 4096  # files in one request, whatever the sandbox's own cap (SandboxConfig.max_files)
NAME_MAX = 255  # bytes in one path component (Linux NAME_MAX)
MAX_PATH_BYTES = 1024  # bytes in a file's relative path: well under PATH_MAX with any work dir in front
REQUEST_FIELDS = ("code", "language", "stdin", "files", "timeout_s", "memory_mb")


class SandboxError(RuntimeError):
    """The sandbox cannot do what was asked (not the code's fault): e.g. no session could be opened."""


class SessionLimit(SandboxError):
    """Too many sessions are open."""


class RequestTooLarge(ValueError):
    """A request (or one of its fields) is bigger than the sandbox accepts; the service answers 413."""


def utf8_size(text: str | bytes, field_name: str) -> int:
    """The size of ``text`` in bytes as a run gets it; ValueError naming the field when a ``str`` cannot
    be UTF-8 (a lone surrogate such as ``"\\ud800"``)."""
    if isinstance(text, bytes):
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{field_name} is not valid text: lone surrogate {text[exc.start]!r} at index {exc.start}"
        ) from None


def _short(name: object, keep: int = 80) -> str:
    """``repr`` of a name cut to ``keep`` characters, for messages."""
    if isinstance(name, str) and len(name) > keep:
        return repr(name[:keep]) + f"... ({len(name)} characters)"
    return repr(name)


def check_file_names(names: list[str]) -> None:
    """ValueError naming the file unless every name is a plain relative path that can be written as is:
    not empty, no ``.``/``..``/empty component (so no leading or trailing ``/``), no control character,
    valid UTF-8, each component at most NAME_MAX bytes and the path at most MAX_PATH_BYTES, and no name
    that is both a file and a directory of another (``a`` and ``a/b``)."""
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"files: name {_short(name)} must be a string")
        size = utf8_size(name, f"files: name {_short(name)}")
        if not name:
            raise ValueError("files: a file name must not be empty")
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
            raise ValueError(f"files: name {_short(name)} must not hold control characters (NUL included)")
        if name.startswith("/"):
            raise ValueError(f"files: name {_short(name)} must be a relative path, not an absolute one")
        parts = name.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(
                f"files: name {_short(name)} must be a relative path without '.', '..', '//' or a trailing '/'"
            )
        if size > MAX_PATH_BYTES:
            raise ValueError(f"files: name {_short(name)} is {size} bytes, longer than {MAX_PATH_BYTES}")
        for part in parts:
            if len(part.encode("utf-8")) > NAME_MAX:
                raise ValueError(f"files: name {_short(name)} has a component longer than {NAME_MAX} bytes")
    files = set(names)
    for name in names:
        parts = name.split("/")
        for i in range(1, len(parts)):
            directory = "/".join(parts[:i])
            if directory in files:
                raise ValueError(
                    f"files: {_short(directory)} cannot be a file and the directory of {_short(name)}"
                )


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
        """ValueError naming the field unless the request is well-formed and within the absolute bounds
        (a sandbox's own, lower caps are checked by ``SandboxConfig.check_request``)."""
        if not isinstance(self.code, str):
            raise ValueError(f"code must be a string, got {type(self.code).__name__}")
        if utf8_size(self.code, "code") > MAX_CODE_BYTES:
            raise RequestTooLarge(f"code must be at most {MAX_CODE_BYTES} bytes")
        if not isinstance(self.language, str) or self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {_short(self.language)}")
        if self.stdin is not None:
            if not isinstance(self.stdin, str | bytes):
                raise ValueError(f"stdin must be a string, bytes or None, got {type(self.stdin).__name__}")
            utf8_size(self.stdin, "stdin")
        if not _is_number(self.timeout_s) or not (0 < self.timeout_s <= MAX_TIMEOUT_S):
            raise ValueError(f"timeout_s must be a number in (0, {MAX_TIMEOUT_S}], got {self.timeout_s!r}")
        if not _is_integer(self.memory_mb) or not (MIN_MEMORY_MB <= self.memory_mb <= MAX_MEMORY_MB):
            raise ValueError(
                f"memory_mb must be an integer in [{MIN_MEMORY_MB}, {MAX_MEMORY_MB}], got {self.memory_mb!r}"
            )
        if self.files is None:
            return
        if not isinstance(self.files, dict):
            raise ValueError(f"files must be a dict of name to content, got {type(self.files).__name__}")
        if len(self.files) > MAX_FILES:
            raise ValueError(f"files: at most {MAX_FILES} files, got {len(self.files)}")
        check_file_names(list(self.files))
        for name, content in self.files.items():
            if not isinstance(content, str | bytes):
                raise ValueError(f"files: content of {_short(name)} must be a string or bytes")
            utf8_size(content, f"files: content of {_short(name)}")

    def sizes(self) -> dict[str, int]:
        """Bytes of ``code``, ``stdin`` and all ``files`` contents together, as a run gets them."""
        return {
            "code": utf8_size(self.code, "code"),
            "stdin": 0 if self.stdin is None else utf8_size(self.stdin, "stdin"),
            "files": sum(
                utf8_size(c, f"files: content of {_short(n)}") for n, c in (self.files or {}).items()
            ),
        }

    @classmethod
    def coerce(cls, value: RunRequest | dict[str, Any]) -> RunRequest:
        """A request from a ``RunRequest`` or a dict of its fields (unknown keys are an error)."""
        if isinstance(value, RunRequest):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"a request must be a dict or RunRequest, got {type(value).__name__}")
        unknown = set(value) - set(REQUEST_FIELDS)
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

        def text(value: str | bytes, field_name: str) -> str:
            if isinstance(value, str):
                return value
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{field_name}: bytes that are not UTF-8 cannot go over HTTP") from None

        return {
            "code": self.code,
            "language": self.language,
            "stdin": None if self.stdin is None else text(self.stdin, "stdin"),
            "files": {n: text(c, f"files: content of {_short(n)}") for n, c in (self.files or {}).items()}
            or None,
            "timeout_s": float(self.timeout_s),
            "memory_mb": int(self.memory_mb),
        }


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _b64(value: str | bytes) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(data).decode("ascii")
