"""Shared helpers of the puzzle tests."""

import pytest

from envs.core import Task


def make_task(env, seed: int) -> Task:
    """The task ``<family>/<seed>`` of ``env`` (regenerated, no episode started)."""
    return env._load_task(f"{env.family}/{seed}")


@pytest.fixture
def task_of():
    return make_task
