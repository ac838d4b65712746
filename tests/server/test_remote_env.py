"""``gym.make("toolgym/Remote-v0", ...)`` plays the episode the local env plays, many sessions at once
lose none, and a server that is down or drops the session is an error, never a reward of 0."""

from __future__ import annotations

import threading
from typing import Any

import gymnasium as gym
import pytest
from server_helpers import free_port, running_server

import envs  # noqa: F401
from envs.core.errors import EpisodeEndedError, InfraError


def play(env: Any, seed: int, turns: list[str] | None = None) -> list[Any]:
    """Everything an episode gives back: reset's obs and info, then each step's five values."""
    obs, info = env.reset(seed=seed)
    out: list[Any] = [obs, info]
    if turns is None:
        turns = env.unwrapped.demonstration()
    for turn in turns:
        out.append(env.step(turn))
    return out


@pytest.mark.parametrize(
    ("env_id", "kwargs", "turns"),
    [
        ("toolgym/Countdown-v0", {"protocol": "json", "check_tool": True}, None),
        ("toolgym/Countdown-v0", {"max_turns": 2}, ["no answer here", "<answer>1+1</answer>"]),
        ("toolgym/PythonTool-v0", {"protocol": "json"}, None),
    ],
)
def test_remote_env_gives_the_local_episode(server, env_id, kwargs, turns):
    url, _ = server
    remote = gym.make("toolgym/Remote-v0", url=url, env_id=env_id, **kwargs)
    for seed in (0, 3):
        local = gym.make(env_id, **kwargs)
        script = turns if turns is not None else (local.reset(seed=seed), local.unwrapped.demonstration())[1]
        assert play(remote, seed, script) == play(local, seed, script)
        local.close()
    assert remote.unwrapped.episode.protocol == kwargs.get("protocol", "xml")
    with pytest.raises(EpisodeEndedError):
        remote.step("after the end")
    remote.close()


def test_two_hundred_concurrent_sessions_lose_none(server):
    """200 remote envs, each its own session, play at once: every episode comes back, the same as local."""
    url, app = server
    n = 200
    results: dict[int, Any] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            env = gym.make("toolgym/Remote-v0", url=url, env_id="toolgym/Countdown-v0")
            env.reset(seed=i)
            barrier.wait(timeout=120)  # all 200 sessions open at once
            env.reset(seed=i)
            turn = env.unwrapped.answer_turn("1+2")
            results[i] = (env.unwrapped.task.id, env.step(turn)[1:4])
            env.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    assert len(results) == n
    local = gym.make("toolgym/Countdown-v0")
    for i in range(n):
        local.reset(seed=i)
        assert results[i][0] == local.unwrapped.task.id
        assert results[i][1] == local.step(local.unwrapped.answer_turn("1+2"))[1:4]


def test_server_down_is_an_error_never_a_zero():
    url = f"http://127.0.0.1:{free_port()}"
    env = gym.make("toolgym/Remote-v0", url=url, env_id="toolgym/Countdown-v0")
    with pytest.raises(InfraError, match="unreachable"):
        env.reset(seed=0)


def test_server_gone_mid_episode_ends_it_unscored():
    with running_server(("toolgym/Countdown-v0",)) as (url, _):
        env = gym.make("toolgym/Remote-v0", url=url, env_id="toolgym/Countdown-v0")
        env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("<answer>1+2</answer>")
    assert info["error"] and info["is_success"] is None and truncated and not terminated
    assert obs.startswith("Infrastructure error")


class Scripted:
    """A backend without a tokenizer: ``script(messages) -> text`` decides each turn."""

    def __init__(self, script: Any):
        self.script = script

    def generate(self, requests: list[Any], sampling: Any) -> list[Any]:
        from agents.backends.base import Generation

        return [Generation(self.script(r.messages), None, None, "stop") for r in requests]

    def close(self) -> None:
        pass


def test_rollout_engine_through_the_env_url(server, monkeypatch):
    """With TOOLGYM_ENV_URL set, the rollout engine plays registered ids on the server: the same
    trajectories as in process; with the server down, every episode is an error, never scored."""
    from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine

    url, _ = server
    specs = [EpisodeSpec("toolgym/Countdown-v0", seed=s) for s in range(4)]

    def answer(messages: list[dict[str, Any]]) -> str:
        return "<answer>1+2</answer>" if len(messages) > 2 else "no answer yet"

    def run() -> list[Any]:
        with RolloutEngine(Scripted(answer), RolloutConfig(max_turns=2)) as engine:
            return engine.run(specs)

    local = run()
    monkeypatch.setenv("TOOLGYM_ENV_URL", url)
    remote = run()
    for a, b in zip(local, remote, strict=True):
        assert (a.task_id, a.reward, a.is_success, a.answer, a.error) == (
            b.task_id,
            b.reward,
            b.is_success,
            b.answer,
            b.error,
        )
        assert a.messages == b.messages
    assert remote[0].answer == "1+2"
    monkeypatch.setenv("TOOLGYM_ENV_URL", f"http://127.0.0.1:{free_port()}")
    down = run()
    assert all(t.error and "unreachable" in t.error and t.is_success is None for t in down)


def test_remote_env_refuses_bad_settings():
    with pytest.raises(ValueError, match="^url:"):
        gym.make("toolgym/Remote-v0", env_id="toolgym/Countdown-v0")
    with pytest.raises(ValueError, match="^url:"):
        gym.make("toolgym/Remote-v0", url="ftp://x", env_id="toolgym/Countdown-v0")
    with pytest.raises(ValueError, match="^env_id:"):
        gym.make("toolgym/Remote-v0", url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="^env_kwargs:"):
        gym.make("toolgym/Remote-v0", url="http://127.0.0.1:1", env_id="toolgym/Countdown-v0", x=object())


def test_infrastructure_error_travels_as_an_error(server):
    """A tool whose service is down (a retriever nobody serves): over the wire the step is an error
    with reward null, not 0; the remote env returns what the local env returns."""
    from openenv.core.generic_client import GenericEnvClient

    url, _ = server
    kwargs = {"retriever_url": f"http://127.0.0.1:{free_port()}"}
    turn = "<search>Ithmarwick</search>"
    with GenericEnvClient(base_url=url).sync() as client:
        client.reset(seed=0, env_id="toolgym/SearchQA-v0", env_kwargs=kwargs)
        result = client.step({"message": turn})
    assert result.reward is None and result.done
    assert result.observation["error"] and result.observation["is_success"] is None
    remote = gym.make("toolgym/Remote-v0", url=url, env_id="toolgym/SearchQA-v0", **kwargs)
    local = gym.make("toolgym/SearchQA-v0", **kwargs)
    played = play(remote, 0, [turn])
    assert played == play(local, 0, [turn])
    _, reward, terminated, truncated, info = played[-1]
    assert info["error"] and info["is_success"] is None and truncated and not terminated
    remote.close()
