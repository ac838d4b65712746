"""Fixtures of the env server tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openenv  # noqa: F401  (the openenv extra: a test dependency, a missing one fails here)
import pytest
from server_helpers import running_server

ENV_IDS = ("toolgym/Countdown-v0", "toolgym/PythonTool-v0", "toolgym/SearchQA-v0")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Any]]:
    """One server for a module: Countdown (the default), PythonTool and SearchQA, 256 sessions."""
    with running_server(ENV_IDS, max_sessions=256, idle_timeout_s=120) as s:
        yield s
