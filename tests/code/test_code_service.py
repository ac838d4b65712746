"""The code envs through the sandbox service (a URL kwarg or TOOLGYM_SANDBOX_URL), and infrastructure
failures reported as errors, never scored 0."""

from __future__ import annotations

import gymnasium as gym
import pytest
from code_hacks import BATTERY, HACKS, TARGETS, attack

import envs  # noqa: F401  (registers the envs)
from envs.code.humaneval import load_problems

PROBLEMS = load_problems()
UNREACHABLE = "http://127.0.0.1:9"


def test_humaneval_through_the_service(service_url):
    env = gym.make("toolgym/HumanEval-v0", sandbox_url=service_url)
    for tid in ["HumanEval/0", "HumanEval/32", "HumanEval/33", "HumanEval/38", "HumanEval/162"]:
        p = PROBLEMS[tid]
        env.reset(options={"task_id": tid})
        _, reward, *_ = env.step(
            env.unwrapped.answer_turn(f"```python\n{p['prompt']}{p['canonical_solution']}```")
        )
        assert reward == 1.0, tid
    for name in ("os_exit_at_import", "read_the_tests", "always_equal_object"):
        env.reset(options={"task_id": "HumanEval/0"})
        _, reward, _, _, info = env.step(env.unwrapped.answer_turn(f"```python\n{HACKS[name]}```"))
        assert reward == 0.0 and "error" not in info, name
    env.close()


def test_python_tool_session_through_the_service_from_the_environment(service_url, monkeypatch):
    monkeypatch.setenv("TOOLGYM_SANDBOX_URL", service_url)
    env = gym.make("toolgym/PythonTool-v0", persistent=True)
    env.reset(seed=1)
    obs, *_ = env.step("<python>secret = 40 + 2</python>")
    obs, *_ = env.step("<python>print(secret)</python>")
    assert "42" in obs
    assert env.unwrapped.interpreter.sandbox.__class__.__name__ == "SandboxClient"
    env.close()


def test_code_task_through_the_service(service_url):
    env = gym.make("toolgym/CodeTask-v0", sandbox_url=service_url)
    for tid in env.unwrapped.task_ids():
        env.reset(options={"task_id": tid})
        _, reward, *_ = env.step(env.unwrapped.answer_turn(env.unwrapped.task.answer))
        assert reward == 1.0, tid
    env.close()


@pytest.mark.parametrize("env_id", ["toolgym/HumanEval-v0", "toolgym/CodeTask-v0", "toolgym/PythonTool-v0"])
def test_an_unreachable_service_is_an_error_not_a_zero(env_id):
    env = gym.make(env_id, sandbox_url=UNREACHABLE)
    env.reset(seed=0)
    if env_id.endswith("PythonTool-v0"):
        turn = env.unwrapped.call_turn("python", code="print(1)")
    else:
        turn = env.unwrapped.answer_turn(env.unwrapped.task.answer or "```python\npass\n```")
    _, reward, terminated, truncated, info = env.step(turn)
    assert "cannot reach the sandbox service" in info["error"]
    assert info["is_success"] is None and reward == 0.0 and truncated and not terminated
    env.close()


SERVICE_ATTACKS = [
    "shadow_builtin_functions",
    "shadow_exception_classes",
    "shadow_the_graders_names",
    "int_subclass_with_forged_eq",
    "print_harness_error_everywhere",
    "fake_token_lines",
    "forged_reply_frames_on_the_pipe",
    "patch_the_childs_encoder_and_json",
    "sigstop_the_parent",
    "fork_and_exit_keeping_the_pipes",
    "defines_nothing_the_tests_need",
]


@pytest.mark.parametrize("target", ["humaneval_check", "codetask_asserts", "codetask_check"])
def test_battery_attacks_earn_nothing_through_the_service(service_url, target):
    env_id, task_id, _ = TARGETS[target]
    env = gym.make(env_id, sandbox_url=service_url, call_timeout_s=1.0, grade_timeout_s=6.0)
    for name in SERVICE_ATTACKS:
        env.reset(options={"task_id": task_id})
        code = attack(BATTERY[name], target)
        _, reward, _, _, info = env.step(env.unwrapped.answer_turn(f"```python\n{code}\n```"))
        assert "error" not in info and reward == 0.0, (name, info.get("error"), info["reward_components"])
    env.close()
