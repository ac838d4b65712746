"""``parse_python``: ``ast.parse`` that is safe to call from many threads at once.

CPython 3.11 can fail with "SystemError: AST constructor recursion depth mismatch" when two threads
build AST objects at the same time, and the rollout engine steps envs (whose verifiers parse code and
expressions) in a thread pool. One lock around the conversion avoids it; parsing is fast.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

_LOCK = threading.Lock()


def parse_python(source: str, mode: str = "exec", **kwargs: Any) -> ast.AST:
    """``ast.parse(source, mode=mode, **kwargs)``, one thread at a time."""
    with _LOCK:
        return ast.parse(source, mode=mode, **kwargs)
