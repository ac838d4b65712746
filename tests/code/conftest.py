"""Fixtures of the code env tests: one embedded sandbox for the session (the shared one envs use)."""

from __future__ import annotations

import pytest

from envs.code.interpreter import sandbox_for


@pytest.fixture(scope="session")
def sandbox():
    """The shared embedded sandbox (bubblewrap); the tests fail if it cannot start."""
    return sandbox_for(None)
