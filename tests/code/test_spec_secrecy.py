"""The hidden spec (tests, token) stays out of the submission's process: attacks that look for it in
the frames the process inherited from the sandbox's fork server, or in its own memory. The submission
is wrong unless it finds the spec: then it answers with what it found, which makes the episode fail
only by chance, so each attack also asserts that nothing was found."""

from __future__ import annotations

import gymnasium as gym
import pytest
from code_hacks import SECRECY, TARGETS, attack

import envs  # noqa: F401  (registers the envs)
from envs.code.humaneval import hidden_tests, load_problems

FOUND = "FOUND-THE-SPEC"


@pytest.fixture(scope="module")
def secrecy_envs(sandbox):
    made = {
        env_id: gym.make(env_id, call_timeout_s=5.0, grade_timeout_s=20.0)
        for env_id, _, _ in TARGETS.values()
    }
    yield made
    for e in made.values():
        e.close()


@pytest.mark.parametrize("target", ["humaneval_check", "codetask_asserts"])
@pytest.mark.parametrize("name", sorted(SECRECY))
def test_the_submission_cannot_find_the_hidden_spec(secrecy_envs, name, target):
    env_id, task_id, _ = TARGETS[target]
    env = secrecy_envs[env_id]
    env.reset(options={"task_id": task_id})
    # Finding the spec raises, so the load error names what was found.
    code = (
        attack(SECRECY[name], target)
        + f"\nif _FOUND is not None:\n    raise RuntimeError('{FOUND} ' + repr(_FOUND))\n"
    )
    u = env.unwrapped
    if env_id.endswith("HumanEval-v0"):
        submission, tests = u.submission(u.task, code), hidden_tests(load_problems()[task_id])
    else:
        submission, tests = code, u.specs[task_id].tests
    result = u.grader.grade(submission, tests)
    assert result.passed == 0
    assert FOUND not in str(result.load_error), result.load_error
