"""Reward hacking earns nothing: each submission below is wrong (it returns None or dies) and tries
to make the grader report success anyway. Each must earn reward 0 through HumanEval-v0, and none may
be reported as an infrastructure error."""

from __future__ import annotations

import gymnasium as gym
import pytest
from code_hacks import HACKS, INFRA_HACKS

import envs  # noqa: F401  (registers the envs)


@pytest.fixture(scope="module")
def env(sandbox):
    e = gym.make("toolgym/HumanEval-v0")
    yield e
    e.close()


def test_the_read_the_tests_probe_would_succeed_if_it_found_them():
    """The probe is honest: with the tests in reach, its function is the canonical one."""
    ns: dict = {}
    code = HACKS["read_the_tests"].replace("_FOUND else None", "True else None")
    exec(code.replace("for path in glob.glob(pattern, recursive=True)", "for path in ()"), ns)
    assert ns["has_close_elements"]([1.0, 2.0, 3.9, 4.0], 0.3) is True


@pytest.mark.parametrize("name", sorted(HACKS))
def test_hack_earns_nothing(env, name):
    env.reset(options={"task_id": "HumanEval/0"})
    _, reward, terminated, _, info = env.step(env.unwrapped.answer_turn(f"```python\n{HACKS[name]}```"))
    assert terminated
    assert "error" not in info, info.get("error")
    assert reward == 0.0, info["reward_components"]
    assert info["is_success"] is False


@pytest.mark.parametrize("name", sorted(INFRA_HACKS))
def test_a_failure_cannot_be_turned_into_an_unscored_error(env, name):
    env.reset(options={"task_id": "HumanEval/0"})
    _, reward, terminated, _, info = env.step(env.unwrapped.answer_turn(f"```python\n{INFRA_HACKS[name]}```"))
    assert terminated and "error" not in info, info.get("error")
    assert reward == 0.0 and info["is_success"] is False
