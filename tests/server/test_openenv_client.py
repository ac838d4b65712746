"""OpenEnv's own client, unmodified, plays toolgym episodes through the env server: the same prompt,
turns, rewards and verdict as the env in process, for a puzzle, a code env and the search env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pytest
from openenv.core.generic_client import GenericEnvClient

import envs  # noqa: F401


def local_episode(env_id: str, seed: int, kwargs: dict[str, Any]) -> tuple[str, list[str], list[tuple]]:
    """The prompt, the demonstration's turns and each step's (obs, reward, terminated, truncated,
    is_success) of a local env."""
    env = gym.make(env_id, **kwargs)
    prompt, _ = env.reset(seed=seed)
    turns = env.unwrapped.demonstration()
    steps = []
    for turn in turns:
        obs, reward, term, trunc, info = env.step(turn)
        steps.append((obs, reward, term, trunc, info.get("is_success")))
    env.close()
    return prompt, turns, steps


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("toolgym/Countdown-v0", {"check_tool": True}),
        ("toolgym/Countdown-v0", {"protocol": "json"}),
        ("toolgym/PythonTool-v0", {}),
        ("toolgym/SearchQA-v0", {"protocol": "json"}),
    ],
)
def test_openenv_client_plays_the_local_episode(server, env_id, kwargs):
    url, _ = server
    for seed in (0, 1):
        prompt, turns, steps = local_episode(env_id, seed, kwargs)
        assert turns and steps[-1][4] is True  # the demonstration succeeds locally
        with GenericEnvClient(base_url=url).sync() as client:
            result = client.reset(seed=seed, env_id=env_id, env_kwargs=kwargs)
            assert result.observation["text"] == prompt
            assert result.reward is None and result.done is False
            assert result.observation["info"]["messages"][-1] == {"role": "user", "content": prompt}
            for turn, (obs, reward, term, trunc, success) in zip(turns, steps, strict=True):
                result = client.step({"message": turn})
                o = result.observation
                assert (o["text"], result.reward, o["terminated"], o["truncated"]) == (
                    obs,
                    reward,
                    term,
                    trunc,
                )
                assert o["is_success"] == success and o["error"] is None
                assert result.done == (term or trunc)
            state = client.state()
            assert state["env_id"] == env_id and state["done"] is True and state["step_count"] == len(turns)


def test_default_env_and_schema(server):
    """A reset naming no env plays the server's first env; /schema publishes the action's one field."""
    import httpx

    url, _ = server
    with GenericEnvClient(base_url=url).sync() as client:
        result = client.reset(seed=5)
    assert result.observation["env"]["env_id"] == "toolgym/Countdown-v0"
    schema = httpx.get(f"{url}/schema").json()
    assert schema["action"]["required"] == ["message"]
    assert {"text", "info", "terminated", "truncated", "is_success", "error"} <= set(
        schema["observation"]["properties"]
    )
    assert httpx.get(f"{url}/health").json() == {"status": "healthy"}
    served = httpx.get(f"{url}/envs").json()
    assert served["env_ids"] == ["toolgym/Countdown-v0", "toolgym/PythonTool-v0", "toolgym/SearchQA-v0"]


def test_session_keeps_its_env_across_episodes(server):
    """One WebSocket session plays several episodes; its env is reset, and a seed means the same task."""
    url, _ = server
    with GenericEnvClient(base_url=url).sync() as client:
        first = client.reset(seed=7).observation["text"]
        client.reset(seed=8)
        assert client.reset(seed=7).observation["text"] == first
