"""Game of 24: make 24 from four numbers with + - * / and parentheses, using each number exactly once.
An exhaustive solver over exact fractions (memoized over sub-multisets) keeps only solvable draws; any correct expression is
accepted (the safe evaluator of ``arith`` checks it)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.puzzles.arith import verify_expression
from envs.puzzles.base import PuzzleEnv


@dataclass
class Game24Config(Config):
    """``difficulty`` in [0, 1] sets the largest number (9 to 13) and how few solutions (expression
    trees) a draw may have (any at 0, at most 2 at 1); ``max_number``, ``max_solutions`` and ``target``
    override it."""

    difficulty: float = 0.3
    max_number: int | None = None
    max_solutions: int | None = None
    target: int = 24

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.max_number is not None:
            check_range("max_number", self.max_number, 2, 100)
        if self.max_solutions is not None:
            check_range("max_solutions", self.max_solutions, 1, 10_000)
        check_range("target", self.target, 1, 10_000)

    @property
    def top(self) -> int:
        return self.max_number or 9 + round(4 * self.difficulty)

    @property
    def cap(self) -> int:
        return self.max_solutions or (
            10_000 if self.difficulty < 0.2 else round(40 * (1 - self.difficulty)) + 2
        )


_EXAMPLES = 8  # expressions kept per value


def _splits(numbers: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The ways to split a sorted tuple into two non-empty parts, each multiset pair once."""
    out = []
    for mask in range(1, 2 ** (len(numbers) - 1)):  # the last number always on the right
        left = tuple(x for i, x in enumerate(numbers) if mask >> i & 1)
        right = tuple(x for i, x in enumerate(numbers) if not mask >> i & 1)
        if (left, right) not in out:
            out.append((left, right))
    return out


@lru_cache(maxsize=8192)
def _table(numbers: tuple[int, ...]) -> dict[Fraction, tuple[int, tuple[str, ...]]]:
    """Every value an expression over all of ``numbers`` (a sorted tuple) can take: how many
    expression trees give it (commuted + and * counted once) and up to ``_EXAMPLES`` of them."""
    if len(numbers) == 1:
        return {Fraction(numbers[0]): (1, (str(numbers[0]),))}
    out: dict[Fraction, list] = {}

    def add(value: Fraction, count: int, op: str, x: tuple[str, ...], y: tuple[str, ...]) -> None:
        entry = out.get(value)
        if entry is None:
            entry = out[value] = [0, []]
        entry[0] += count
        if len(entry[1]) < _EXAMPLES:  # write expressions out only while examples are wanted
            for e in dict.fromkeys(f"({p} {op} {q})" for p in x[:2] for q in y[:2]):
                if e not in entry[1] and len(entry[1]) < _EXAMPLES:
                    entry[1].append(e)

    for left, right in _splits(numbers):
        for a, (ca, ea) in _table(left).items():
            for b, (cb, eb) in _table(right).items():
                count = ca * cb
                add(a + b, count, "+", ea, eb)
                add(a * b, count, "*", ea, eb)
                add(a - b, count, "-", ea, eb)
                add(b - a, count, "-", eb, ea)
                if b:
                    add(a / b, count, "/", ea, eb)
                if a:
                    add(b / a, count, "/", eb, ea)
    return {v: (c, tuple(e)) for v, (c, e) in out.items()}


@lru_cache(maxsize=4096)
def _hits(numbers: tuple[int, ...], target: int) -> tuple[int, tuple[str, ...]]:
    """How many expression trees over ``numbers`` equal ``target``, and up to ``_EXAMPLES`` of them;
    at the top only the partner value each operation needs is looked up (no full table)."""
    if len(numbers) == 1:
        return (int(numbers[0] == target), (str(numbers[0]),) if numbers[0] == target else ())
    t = Fraction(target)
    count, examples = 0, []
    for left, right in _splits(numbers):
        table = _table(right)
        for a, (ca, ea) in _table(left).items():
            needs = [(t - a, "{a} + {b}"), (a - t, "{a} - {b}"), (a + t, "{b} - {a}")]
            if a:
                needs += [(t / a, "{a} * {b}"), (t * a, "{b} / {a}")]
            if t and a:
                needs.append((a / t, "{a} / {b}"))
            for b, form in needs:
                if b in table:
                    cb, eb = table[b]
                    count += ca * cb
                    if len(examples) < _EXAMPLES:
                        expr = form.format(a=ea[0], b=eb[0])
                        if expr not in examples:
                            examples.append(expr)
    return count, tuple(examples)


def count_solutions(numbers: list[int], target: int) -> int:
    """How many expression trees over ``numbers`` (each used once) equal ``target``."""
    return _hits(tuple(sorted(numbers)), target)[0]


def solutions(numbers: list[int], target: int) -> list[str]:
    """Up to a handful of expressions that use each number once and equal ``target``."""
    return list(_hits(tuple(sorted(numbers)), target)[1])


class Game24Env(PuzzleEnv):
    """Game of 24; reward 1 for an expression using each number exactly once and equal to the target."""

    family = "game24"
    config_cls = Game24Config
    config: Game24Config

    def answer_shape(self) -> str:
        return "an arithmetic expression"

    def instructions(self) -> str:
        return (
            f"You play the Game of {self.config.target}: combine the four given numbers with +, -, *, / and "
            f"parentheses to make {self.config.target}, using every number exactly once. Give only the "
            f"expression as the final answer, for example {self.show_answer('(8 - 4) * (3 + 3)')}."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        target = self.config.target
        best: tuple[int, list[int]] | None = None
        for _ in range(2000):
            numbers = sorted(int(x) for x in rng.integers(1, self.config.top + 1, size=4))
            count = count_solutions(numbers, target)
            if count and (best is None or count < best[0]):
                best = (count, numbers)
            if count and count <= self.config.cap:
                break
        numbers = best[1]
        found = solutions(numbers, target)
        prompt = (
            f"Use the numbers {numbers} to make {target}, each exactly once, with + - * / and parentheses."
        )
        return prompt, min(found, key=lambda e: (len(e), e)), {"numbers": numbers, "target": target}

    def verify(self, task: Task, answer: str) -> Verdict:
        return verify_expression(answer, task.metadata["numbers"], task.metadata["target"], use_all=True)
