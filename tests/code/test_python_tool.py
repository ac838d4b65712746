"""PythonTool-v0: generated math problems, the sandboxed python tool, answers in <answer> or \\boxed{}."""

from __future__ import annotations

import contextlib
import io
from fractions import Fraction

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the envs)
from envs.code.math_problems import CATEGORIES, GENERATORS, make_problem


@pytest.mark.parametrize("difficulty", [0.0, 0.5, 1.0])
def test_every_generator_gives_an_exact_answer_and_a_program_printing_it(difficulty):
    rng = np.random.default_rng(5)
    for category, gens in GENERATORS.items():
        assert category in CATEGORIES
        for gen in gens:
            for _ in range(5):
                question, answer, program = gen(rng, difficulty)
                assert question.endswith("?") or question.endswith(".")
                assert isinstance(answer, int | Fraction)
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    exec(program, {})  # the demonstration's program prints the answer as written
                assert printed.getvalue() == f"{Fraction(answer)}\n", (gen.__name__, program)


def test_difficulty_scales_the_numbers():
    def digits(d: float) -> float:
        rng = np.random.default_rng(0)
        problems = [make_problem(rng, d) for _ in range(200)]
        return float(np.mean([sum(c.isdigit() for c in p.question + p.answer) for p in problems]))

    assert digits(1.0) > digits(0.0) * 1.5


def test_task_ids_regenerate_the_same_problem_and_categories_filter():
    env = gym.make("toolgym/PythonTool-v0", categories="combinatorics")
    obs, info = env.reset(seed=3)
    task = env.unwrapped.task
    assert task.metadata["category"] == "combinatorics"
    again, _ = env.reset(options={"task_id": task.id})
    assert again == obs and env.unwrapped.task.answer == task.answer


def test_bad_config_is_a_clear_error():
    with pytest.raises(ValueError, match="categories"):
        gym.make("toolgym/PythonTool-v0", categories=["geometry"])
    with pytest.raises(ValueError, match="difficulty"):
        gym.make("toolgym/PythonTool-v0", difficulty=2)
    with pytest.raises(ValueError, match="sandbox_url"):
        gym.make("toolgym/PythonTool-v0", sandbox_url="localhost:8080")


def test_python_tool_answers_and_boxed_answers(sandbox):
    env = gym.make("toolgym/PythonTool-v0")
    env.reset(seed=0)
    obs, reward, terminated, _, info = env.step("Let me compute.\n<python>print(sum(range(101)))</python>")
    assert obs.strip() == "<output>\n5050\n</output>" and not terminated and reward == 0.0
    assert info["tool_calls"] == [{"name": "python", "arguments": {"code": "print(sum(range(101)))"}}]
    answer = env.unwrapped.task.answer
    _, reward, terminated, _, info = env.step(f"So the result is \\boxed{{{answer}}}.")
    assert terminated and reward == 1.0 and info["is_success"] is True
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step("<answer>-123456789</answer>")
    assert terminated and reward == 0.0 and info["is_success"] is False


def test_equivalent_forms_of_the_answer_are_accepted(sandbox):
    env = gym.make("toolgym/PythonTool-v0", categories=["arithmetic"])
    for seed in range(40):
        env.reset(seed=seed)
        if "/" in env.unwrapped.task.answer:
            break
    p, q = env.unwrapped.task.answer.split("/")
    _, reward, *_ = env.step(f"<answer>\\frac{{{p}}}{{{q}}}</answer>")
    assert reward == 1.0


def test_state_persists_only_when_asked(sandbox):
    persistent = gym.make("toolgym/PythonTool-v0", persistent=True)
    persistent.reset(seed=0)
    persistent.step("<python>x = 41</python>")
    obs, *_ = persistent.step("<python>print(x + 1)</python>")
    assert "42" in obs
    persistent.close()
    fresh = gym.make("toolgym/PythonTool-v0")
    fresh.reset(seed=0)
    fresh.step("<python>x = 41</python>")
    obs, *_ = fresh.step("<python>print(x + 1)</python>")
    assert "NameError" in obs


def test_errors_and_timeouts_are_observations(sandbox):
    env = gym.make("toolgym/PythonTool-v0", run_timeout_s=1.0, max_turns=6)
    env.reset(seed=0)
    obs, *_ = env.step("<python>1 / 0</python>")
    assert "ZeroDivisionError" in obs
    obs, *_ = env.step("<python>while True: pass</python>")
    assert "TimeoutError" in obs
    obs, *_ = env.step("<python>```python\nprint('fenced')\n```</python>")
    assert "fenced" in obs


def test_start_hints_for_data_generation():
    env = gym.make("toolgym/PythonTool-v0", hints=True)
    obs, info = env.reset(seed=2)
    assert info["hint"] and obs.endswith(info["hint"]) and "Python" in info["hint"]
    plain = gym.make("toolgym/PythonTool-v0")
    obs, info = plain.reset(seed=2)
    assert "hint" not in info and "Python" not in obs
