"""Episodes through the stack's env server: a puzzle, a code env (its sandbox is the stack's) and the
search env (its retriever is the stack's), each the episode the same env plays on the host."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import httpx
import pytest

import envs  # noqa: F401


@pytest.fixture(scope="module")
def envserver_url() -> str:
    url = os.environ.get("TOOLGYM_ENVSERVER_URL")
    if not url:
        pytest.fail("TOOLGYM_ENVSERVER_URL is not set: the stack scripts set it to the env server's address")
    return url


def episode(env: Any, seed: int, turns: list[str]) -> list[Any]:
    obs, info = env.reset(seed=seed)
    return [obs, info] + [env.step(turn) for turn in turns]


def retrievers() -> tuple[dict[str, str], dict[str, str]]:
    """The retriever's address as the env server reaches it (the compose network) and as the host does."""
    inside = os.environ.get("TOOLGYM_ENVSERVER_RETRIEVER_URL", "http://retriever:8000")
    return {"retriever_url": inside}, {"retriever_url": os.environ["TOOLGYM_RETRIEVER_URL"]}


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("toolgym/Countdown-v0", {"protocol": "json"}),
        ("toolgym/PythonTool-v0", {}),
        ("toolgym/SearchQA-v0", None),
    ],
)
def test_episode_through_the_env_server(
    envserver_url: str, env_id: str, kwargs: dict[str, Any] | None
) -> None:
    assert httpx.get(f"{envserver_url}/health", timeout=10).json() == {"status": "healthy"}
    remote_kwargs, local_kwargs = retrievers() if kwargs is None else (kwargs, kwargs)
    remote = gym.make("toolgym/Remote-v0", url=envserver_url, env_id=env_id, **remote_kwargs)
    local = gym.make(env_id, **local_kwargs)  # on the host, with the stack's sandbox and retriever
    for seed in (0, 1):
        local.reset(seed=seed)
        turns = local.unwrapped.demonstration()
        played = episode(remote, seed, turns)
        assert played == episode(local, seed, turns)
        assert played[-1][4]["is_success"] is True
    remote.close()
    local.close()
