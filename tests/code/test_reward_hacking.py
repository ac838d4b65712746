"""Reward hacking earns nothing: each submission below is wrong (it returns None or dies) and tries
to make the grader report success anyway. Each must earn reward 0 through HumanEval-v0, and none may
be reported as an infrastructure error."""

from __future__ import annotations

import gymnasium as gym
import pytest
from code_hacks import BATTERY, HACKS, INFRA_HACKS, TARGETS, attack

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


# ---- the battery: every attack against HumanEval (check(candidate)) and CodeTask (top-level asserts
# calling the function by name, and check(candidate)); the builtin shadowing also against a HumanEval
# task whose asserts call abs().
def _battery_cases():
    for name in sorted(BATTERY):
        targets = ["humaneval_check", "codetask_asserts", "codetask_check"]
        if name.startswith("shadow_"):
            targets.append("humaneval_abs")
        for target in targets:
            yield name, target


@pytest.fixture(scope="module")
def battery_envs(sandbox):
    made = {
        env_id: gym.make(env_id, call_timeout_s=1.0, grade_timeout_s=6.0)
        for env_id in {t[0] for t in TARGETS.values()}
    }
    yield made
    for e in made.values():
        e.close()


def grade_attack(envs_by_id, name: str, target: str, templates=BATTERY) -> tuple[float, dict]:
    env_id, task_id, _ = TARGETS[target]
    env = envs_by_id[env_id]
    env.reset(options={"task_id": task_id})
    code = attack(templates[name], target)
    _, reward, terminated, truncated, info = env.step(env.unwrapped.answer_turn(f"```python\n{code}\n```"))
    assert "error" not in info, info.get("error")  # never an unscored infrastructure error
    assert terminated and not truncated
    return reward, info


@pytest.mark.parametrize(("name", "target"), list(_battery_cases()))
def test_attack_earns_nothing(battery_envs, name, target):
    reward, info = grade_attack(battery_envs, name, target)
    assert reward == 0.0 and info["is_success"] is False, info["reward_components"]


HONEST_HELPERS = (
    "def check(candidate):\n    return 'my own check'\n"
    "def candidate(*a):\n    return None\n"
    "def len(x):\n    return -1\n"
    "def isinstance(*a):\n    return True\n"
    "def sorted(*a, **k):\n    return []\n"
    "def bool(x):\n    return False\n"
    "class Exception:\n    pass\n"
    "class AssertionError(BaseException):\n    pass\n"
    "math = None\nMETADATA = 'mine'\nrecord = abort = None\n"
)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_an_honest_submission_with_helpers_named_like_the_graders_still_earns_full_reward(
    battery_envs, target
):
    env_id, task_id, _ = TARGETS[target]
    env = battery_envs[env_id]
    env.reset(options={"task_id": task_id})
    answer = env.unwrapped.task.answer
    code = answer.split("```python\n", 1)[1].rsplit("```", 1)[0]
    _, reward, _, _, info = env.step(env.unwrapped.answer_turn(f"```python\n{HONEST_HELPERS}\n{code}\n```"))
    assert "error" not in info and reward == 1.0, info["reward_components"]
