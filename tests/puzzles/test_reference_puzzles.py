"""Countdown and Knights and Knaves: generators, solvers and verifiers."""

import itertools
import time

import numpy as np
import pytest

from envs.puzzles.arith import ExpressionError, clean_expression, evaluate
from envs.puzzles.countdown import CountdownEnv
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
