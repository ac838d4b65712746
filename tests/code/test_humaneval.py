"""HumanEval-v0: every canonical solution earns 1.0 through the env; wrong ones earn less."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import pytest

import envs  # noqa: F401  (registers the envs)
from envs.code.humaneval import assemble, extract_code, load_problems

PROBLEMS = load_problems()


def _episode_rewards(answers: dict[str, str], threads: int = 4) -> dict[str, tuple[float, dict]]:
    """Submit ``answers[task_id]`` as the first turn of an episode of each task, ``threads`` envs at once."""
    ids = list(answers)
    chunks = [ids[i::threads] for i in range(threads)]

    def run(chunk: list[str]) -> dict[str, tuple[float, dict]]:
        env = gym.make("toolgym/HumanEval-v0")
        out = {}
        for tid in chunk:
            env.reset(options={"task_id": tid})
            _, reward, terminated, _, info = env.step(env.unwrapped.answer_turn(answers[tid]))
            assert terminated
            out[tid] = (reward, info)
        env.close()
        return out

    with ThreadPoolExecutor(threads) as pool:
        merged: dict[str, tuple[float, dict]] = {}
        for part in pool.map(run, chunks):
            merged.update(part)
    return merged


def test_there_are_164_problems():
    env = gym.make("toolgym/HumanEval-v0")
    assert len(env.unwrapped.task_ids()) == 164


def test_every_canonical_solution_earns_full_reward(sandbox):
    answers = {tid: f"```python\n{p['prompt']}{p['canonical_solution']}```" for tid, p in PROBLEMS.items()}
    results = _episode_rewards(answers)
    failed = {tid: info.get("reward_components") for tid, (r, info) in results.items() if r != 1.0}
    assert not failed, f"{len(failed)} canonical solutions did not earn 1.0: {failed}"
    assert all(info["is_success"] is True for _, info in results.values())


def test_a_solution_that_raises_earns_nothing_anywhere(sandbox):
    answers = {
        tid: f"```python\ndef {p['entry_point']}(*args, **kwargs):\n    raise NotImplementedError\n```"
        for tid, p in PROBLEMS.items()
    }
    results = _episode_rewards(answers)
    assert {r for r, _ in results.values()} == {0.0}


def test_wrong_solutions_earn_less_but_partial_credit_counts(sandbox):
    # has_close_elements that always answers False passes the asserts expecting False only.
    results = _episode_rewards({"HumanEval/0": "    return False\n"}, threads=1)
    reward, info = results["HumanEval/0"]
    assert 0.0 < reward < 1.0
    assert info["reward_components"]["tests_total"] == 7
    assert info["is_success"] is False


def test_answer_formats_function_body_and_fenced_function():
    p = PROBLEMS["HumanEval/2"]
    body = p["canonical_solution"]
    assert assemble(p["prompt"], body, p["entry_point"]) == p["prompt"].rstrip() + "\n" + body.rstrip() + "\n"
    # The answer tag's content is stripped: a body that lost its indentation is indented again.
    assert (
        assemble(p["prompt"], body.strip(), p["entry_point"])
        == p["prompt"].rstrip() + "\n" + body.rstrip() + "\n"
    )
    fenced = (
        "Here it is:\n```python\ndef truncate_number(number: float) -> float:\n    return number % 1.0\n```"
    )
    code = extract_code(fenced)
    assert code.startswith("def truncate_number")
    assert assemble(p["prompt"], code, p["entry_point"]).endswith(code + "\n")


def test_the_prompt_never_shows_the_hidden_tests():
    env = gym.make("toolgym/HumanEval-v0")
    obs, info = env.reset(options={"task_id": "HumanEval/0"})
    text = obs + "".join(m["content"] for m in info["messages"])
    assert "def check(candidate)" not in text
    assert "assert candidate" not in text


def test_unknown_task_id_is_a_clear_error():
    env = gym.make("toolgym/HumanEval-v0")
    with pytest.raises(KeyError, match="HumanEval/0 to HumanEval/163"):
        env.reset(options={"task_id": "HumanEval/999"})


def test_run_examples_tool_runs_the_docstring_examples(sandbox):
    env = gym.make("toolgym/HumanEval-v0")
    env.reset(options={"task_id": "HumanEval/0"})
    p = PROBLEMS["HumanEval/0"]
    obs, *_ = env.step(env.unwrapped.call_turn("run_examples", code=p["canonical_solution"]))
    assert "2 of 2 examples passed" in obs
    obs, *_ = env.step(env.unwrapped.call_turn("run_examples", code="    return True\n"))
    assert "1 of 2 examples passed" in obs and "Failed example" in obs


def test_every_canonical_body_survives_losing_its_first_indentation(sandbox):
    # <answer> content is stripped; bodies must still be graded as the same function.
    answers = {tid: p["canonical_solution"].strip() for tid, p in PROBLEMS.items()}
    results = _episode_rewards(answers)
    failed = [tid for tid, (r, _) in results.items() if r != 1.0]
    assert not failed
