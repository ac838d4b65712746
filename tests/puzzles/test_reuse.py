"""A reused env (seeded in place, its prompt and tools built once) plays exactly the episodes a fresh
env plays: the same tasks, messages, tool schemas and step results, for every puzzle env."""

import json

import gymnasium as gym
import pytest

import envs  # noqa: F401
from envs.registration import ENVS

PUZZLES = [e.env_id for e in ENVS if e.family == "puzzles"]
SEEDS = [0, 1, 7, 123, 2**33 + 5, 2**62]


def episode(env, seed):
    """What one seeded episode shows: reset, the task, the demonstration's turns played through,
    and the episode the generator's next draw (``reset()`` with no seed) starts."""
    obs, info = env.reset(seed=seed)
    task = env.task
    steps = []
    for turn in env.demonstration():
        o, r, term, trunc, step_info = env.step(turn)
        steps.append((o, r, term, trunc, step_info))
        if term or trunc:
            break
    _, next_info = env.reset()
    return json.dumps(
        [obs, info, task.id, task.prompt, task.answer, repr(task.metadata), steps, next_info],
        default=repr,
        sort_keys=True,
    )


@pytest.mark.parametrize("env_id", PUZZLES)
@pytest.mark.parametrize("protocol", ["xml", "json"])
def test_reused_env_plays_what_a_fresh_env_plays(env_id, protocol):
    reused = gym.make(env_id, protocol=protocol).unwrapped
    for seed in SEEDS:
        fresh = gym.make(env_id, protocol=protocol).unwrapped
        assert episode(reused, seed) == episode(fresh, seed), (env_id, seed)


def test_reused_env_follows_a_config_change():
    """A changed config (a curriculum raising the difficulty) rebuilds the prompt and tools."""
    env = gym.make("toolgym/Mastermind-v0", length=3).unwrapped
    _, info = env.reset(seed=3)
    assert "3 digits" in info["messages"][0]["content"]
    env.config.length = 5
    _, info = env.reset(seed=3)
    fresh = gym.make("toolgym/Mastermind-v0", length=5).unwrapped
    _, fresh_info = fresh.reset(seed=3)
    assert env.task == fresh.task and info == fresh_info
    assert "5 digits" in info["messages"][0]["content"]


def test_seeded_reset_keeps_gymnasium_semantics():
    env = gym.make("toolgym/Maze-v0").unwrapped
    env.reset(seed=11)
    assert env.np_random_seed == 11
    with pytest.raises(gym.error.Error, match="greater or equal to zero"):
        env.reset(seed=-1)
    with pytest.raises(gym.error.Error, match="python integer"):
        env.reset(seed=1.5)
