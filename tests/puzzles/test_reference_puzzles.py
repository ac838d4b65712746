"""Countdown and Knights and Knaves: generators, solvers and verifiers."""

import itertools
import time

import gymnasium as gym
import numpy as np
import pytest

from envs.puzzles.arith import ExpressionError, clean_expression, evaluate
from envs.puzzles.countdown import TINYZERO_SYSTEM, CountdownEnv, tinyzero_score
from envs.puzzles.knights_knaves import KnightsKnavesEnv, solutions


def test_safe_evaluator_rejects_everything_but_arithmetic_and_never_hangs():
    assert evaluate("(25 - 5) * 4 / 8")[0] == 10
    assert evaluate("6 / 4")[1] == [6, 4]
    start = time.perf_counter()
    for bad in (
        "99**95**87**3",
        "2 ** 10",
        "__import__('os')",
        "7 // 2",
        "1e9",
        "9" * 500,
        "1 / 0",
        "[1]",
        "-3 + 4",
    ):
        with pytest.raises(ExpressionError):
            evaluate(bad)
    assert time.perf_counter() - start < 5  # a generous bound: the point is that nothing hangs
    assert clean_expression("(3 + 4) * 2 = 14") == "(3 + 4) * 2"
    assert clean_expression("14 = 2 × (3 + 4)") == "2 * (3 + 4)"


def test_countdown_accepts_any_valid_expression_and_rejects_rule_breakers():
    env = CountdownEnv()
    env.reset(options={"task_id": "countdown/5"})
    numbers, target = env.task.metadata["numbers"], env.task.metadata["target"]
    alternatives = []
    for k in range(2, len(numbers) + 1):
        for combo in itertools.permutations(numbers, k):
            for ops in itertools.product("+-*", repeat=k - 1):
                expr = str(combo[0]) + "".join(f" {o} {n}" for o, n in zip(ops, combo[1:], strict=True))
                if evaluate(expr)[0] == target and expr != env.task.answer:
                    alternatives.append(expr)
    for expr in alternatives[:5]:
        assert env.verify(env.task, expr).success
    assert not env.verify(env.task, f"{target}").success  # a bare target is not among the numbers
    assert not env.verify(env.task, " + ".join(map(str, numbers * 2))).success  # numbers reused
    assert "not" in env.verify(env.task, f"{numbers[0]}").feedback


def test_countdown_difficulty_and_determinism():
    easy, hard = CountdownEnv(difficulty=0.0), CountdownEnv(difficulty=1.0)
    assert len(easy.reset(seed=1) and easy.task.metadata["numbers"]) == 3
    hard.reset(seed=1)
    assert len(hard.task.metadata["numbers"]) == 6
    a, b = CountdownEnv(), CountdownEnv()
    assert a.reset(seed=9)[0] == b.reset(seed=9)[0]
    assert a.reset(seed=10)[0] != b.reset(seed=9)[0]
    env = CountdownEnv(use_all=True)
    for seed in range(20):
        env.reset(seed=seed)
        assert sorted(evaluate(env.task.answer)[1]) == sorted(env.task.metadata["numbers"])


@pytest.mark.parametrize("difficulty", [0.0, 0.5, 1.0])
def test_knights_knaves_puzzles_have_exactly_one_solution(difficulty):
    env = KnightsKnavesEnv(difficulty=difficulty)
    for seed in range(15):
        env.reset(seed=seed)
        meta = env.task.metadata
        n = len(meta["names"])
        statements = [_tuple(s) for s in meta["statements"]]
        sols = solutions(statements, n)
        assert len(sols) == 1
        assert list(sols[0]) == meta["knights"]
        assert env.verify(env.task, env.task.answer).success


def _tuple(s):
    return tuple(_tuple(x) if isinstance(x, list) else x for x in s)


def test_knights_knaves_verifier_accepts_any_phrasing_and_gives_partial_credit():
    env = KnightsKnavesEnv(n_people=4, partial_credit=True)
    env.reset(seed=3)
    names, knights = env.task.metadata["names"], env.task.metadata["knights"]
    shuffled = "\n".join(
        f"({i}) {n} is {'a knight' if k else 'a knave'}."
        for i, (n, k) in reversed(list(enumerate(zip(names, knights, strict=True))))
    )
    assert env.verify(env.task, shuffled).success
    wrong_one = shuffled.replace(
        f"{names[0]} is {'a knight' if knights[0] else 'a knave'}",
        f"{names[0]} is {'a knave' if knights[0] else 'a knight'}",
    )
    verdict = env.verify(env.task, wrong_one)
    assert not verdict.success and verdict.parts["partial"] == 0.75 and verdict.score == 0.75
    both = env.task.answer + f", {names[0]} is {'a knave' if knights[0] else 'a knight'}"
    assert not env.verify(env.task, both).success  # hedging on a person does not count
    assert KnightsKnavesEnv(n_people=4).verify(env.task, wrong_one).score == 0.0


def test_knights_knaves_size_follows_config():
    env = KnightsKnavesEnv(n_people=8, depth=3, width=3)
    env.reset(seed=0)
    assert len(env.task.metadata["names"]) == 8
    assert np.array(env.task.metadata["knights"]).dtype == bool


def test_countdown_tinyzero_preset_is_tinyzeros_task():
    env = gym.make("toolgym/Countdown-v0", preset="tinyzero")
    sizes = set()
    for seed in range(40):
        _, info = env.reset(seed=seed)
        task = env.unwrapped.task
        numbers, target = task.metadata["numbers"], task.metadata["target"]
        sizes.add(len(numbers))
        assert all(1 <= x <= 99 for x in numbers) and 1 <= target <= 99
        assert sorted(evaluate(task.answer)[1]) == sorted(numbers)  # every number exactly once
    assert sizes == {3, 4}
    system, user = (m["content"] for m in info["messages"])
    assert system == TINYZERO_SYSTEM
    assert user == (
        f"Using the numbers {numbers}, create an equation that equals {target}. You can use basic "
        "arithmetic operations (+, -, *, /) and each number can only be used once. Show your work in "
        "<think> </think> tags. And return the final answer in <answer> </answer> tags, for example "
        "<answer> (1 + 2) / 3 </answer>."
    )
    episode = env.unwrapped.episode
    assert (episode.max_turns, episode.format_penalty, episode.protocol) == (1, 0.0, "xml")
    # 1.0 correct, 0.1 for any answer that is wrong, 0 for no answer.
    _, reward, terminated, _, info = env.step(f"<think>...</think> <answer> {task.answer} </answer>")
    assert terminated and reward == 1.0 and info["is_success"]
    env.reset(seed=seed)
    assert env.step("<answer>(1 + 2) / 3</answer>")[1] == pytest.approx(0.1)
    env.reset(seed=seed)
    _, reward, _, truncated, _ = env.step("I give up.")
    assert reward == 0.0 and truncated


def test_tinyzero_score_follows_tinyzeros_scorer():
    numbers, target = [3, 4, 6], 18
    assert tinyzero_score("(4 - 3) * 6 * 3", [3, 3, 4, 6], target).success  # a repeated number, twice
    assert tinyzero_score("(4 - 3) * 6 * 3", numbers, target).score == pytest.approx(0.1)  # 3 twice
    assert tinyzero_score("3 * 6", numbers, target).score == 0.1  # 4 unused: every number exactly once
    cases = {
        "3 * 4 + 6": 1.0,
        " ( 3 * 4 ) + 6 ": 1.0,
        "(6 - 3) * 4 + 6": 0.1,  # 6 used twice
        "3 * 4 + 6 = 18": 0.1,  # '=' and 18: TinyZero takes the answer as it stands
        "3 × 4 + 6": 0.1,  # only 0-9 + - * / ( ) . and spaces
        "3 * 4 + 6 // 1": 0.1,  # 1 is not a number
        "6 // 4 * 3 + 18": 0.1,
        "4 ** 3 - 6": 0.1,  # eval would compute 58; never 1 here, and never a hang
        "6 / (4 - 4) * 3": 0.1,  # division by zero (and 4 twice)
        "3 * 4 - 6": 0.1,  # valid but 6
    }
    for equation, score in cases.items():
        assert tinyzero_score(equation, numbers, target).score == pytest.approx(score), equation
    assert tinyzero_score("4 * 6 - 3", numbers, 21).success
    assert tinyzero_score("(3 + 4) / 6", numbers, 7 / 6).success  # within 1e-5 of a float target
    assert tinyzero_score("-3 + +4 * 6", numbers, 21).success  # unary signs, as eval
    assert tinyzero_score("4 * 6 - 3.0", numbers, 21).score == pytest.approx(0.1)  # 3.0 is 3 and 0
    assert not CountdownEnv().verify(CountdownEnv()._load_task("countdown/1"), "").success


def test_countdown_default_is_each_number_at_most_once():
    env = gym.make("toolgym/Countdown-v0")
    assert env.unwrapped.config.preset is None and env.unwrapped.config.use_all is False
    _, info = env.reset(seed=0)
    assert "each number at most once" in info["messages"][0]["content"]
