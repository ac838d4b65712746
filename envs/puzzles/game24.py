"""Game of 24: make 24 from four numbers with + - * / and parentheses, using each number exactly once.
An exhaustive solver over exact fractions keeps only solvable draws; any correct expression is
accepted (the safe evaluator of ``arith`` checks it)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.puzzles.arith import ExpressionError, clean_expression, evaluate
from envs.puzzles.base import PuzzleEnv


@dataclass
class Game24Config(Config):
    """``difficulty`` in [0, 1] sets the largest number (9 to 13) and how few distinct solutions a
    draw may have (any at 0, at most 2 at 1); ``max_number``, ``max_solutions`` and ``target``
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


def solutions(numbers: list[int], target: int) -> set[str]:
    """Every expression (as written by the search, duplicates up to commutation removed) that uses each
    number once and equals ``target``."""
    found: set[str] = set()

    def search(items: list[tuple[Fraction, str]]) -> None:
        if len(items) == 1:
            if items[0][0] == target:
                found.add(items[0][1])
            return
        for i in range(len(items)):
            for j in range(len(items)):
                if i == j:
                    continue
                (a, ea), (b, eb) = items[i], items[j]
                rest = [it for k, it in enumerate(items) if k not in (i, j)]
                options = [(a - b, f"({ea} - {eb})")]
                if i < j:
                    options += [(a + b, f"({ea} + {eb})"), (a * b, f"({ea} * {eb})")]
                if b != 0:
                    options.append((a / b, f"({ea} / {eb})"))
                for value, expr in options:
                    search([*rest, (value, expr)])

    search([(Fraction(x), str(x)) for x in numbers])
    return {e[1:-1] for e in found}


class Game24Env(PuzzleEnv):
    """Game of 24; reward 1 for an expression using each number exactly once and equal to the target."""

    family = "game24"
    config_cls = Game24Config
    config: Game24Config

    def instructions(self) -> str:
        return (
            f"You play the Game of {self.config.target}: combine the four given numbers with +, -, *, / and "
            f"parentheses to make {self.config.target}, using every number exactly once. Give only the "
            "expression as the final answer, for example <answer>(8 - 4) * (3 + 3)</answer>."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        target = self.config.target
        best: tuple[list[int], set[str]] | None = None
        for _ in range(2000):
            numbers = sorted(int(x) for x in rng.integers(1, self.config.top + 1, size=4))
            found = solutions(numbers, target)
            if found and (best is None or len(found) < len(best[1])):
                best = (numbers, found)
            if found and len(found) <= self.config.cap:
                break
        numbers, found = best
        prompt = (
            f"Use the numbers {numbers} to make {target}, each exactly once, with + - * / and parentheses."
        )
        return prompt, min(found, key=lambda e: (len(e), e)), {"numbers": numbers, "target": target}

    def verify(self, task: Task, answer: str) -> Verdict:
        numbers, target = task.metadata["numbers"], task.metadata["target"]
        expression = clean_expression(answer)
        try:
            value, used = evaluate(expression)
        except ExpressionError as e:
            return Verdict.wrong(str(e), valid=0.0)
        if sorted(used) != sorted(numbers):
            return Verdict.wrong(f"must use each of {numbers} exactly once, used {used}", valid=0.0)
        if value != target:
            return Verdict.wrong(f"{expression} = {value}, not {target}", valid=1.0)
        return Verdict.right(valid=1.0)
