"""Countdown (TinyZero): reach the target with the given numbers and + - * /, each number at most once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.puzzles.arith import verify_expression
from envs.puzzles.base import PuzzleEnv


@dataclass
class CountdownConfig(Config):
    """``difficulty`` in [0, 1] sets how many numbers (3 to 6), how large, and how large the target;
    the other fields override it."""

    difficulty: float = 0.3
    num_numbers: int | None = None
    max_number: int | None = None
    max_target: int | None = None
    use_all: bool = False

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.num_numbers is not None:
            check_range("num_numbers", self.num_numbers, 2, 8)
        if self.max_number is not None:
            check_range("max_number", self.max_number, 2, 10_000)
        if self.max_target is not None:
            check_range("max_target", self.max_target, 1, 1_000_000)

    @property
    def n(self) -> int:
        return self.num_numbers or 3 + round(3 * self.difficulty)

    @property
    def number_limit(self) -> int:
        return self.max_number or 10 + round(90 * self.difficulty)

    @property
    def target_limit(self) -> int:
        return self.max_target or 50 + round(950 * self.difficulty)


def _random_expression(
    rng: np.random.Generator, numbers: list[int], target_limit: int
) -> tuple[str, int] | None:
    """Combine ``numbers`` at random into an expression whose partial results are positive integers."""
    items = [(str(n), n) for n in numbers]
    while len(items) > 1:
        i, j = rng.choice(len(items), size=2, replace=False)
        (ea, a), (eb, b) = items[i], items[j]
        options = [(f"{ea} + {eb}", a + b), (f"{ea} * {eb}", a * b)]
        if a > b:
            options.append((f"{ea} - {eb}", a - b))
        if b > 0 and a % b == 0 and b != 1:
            options.append((f"{ea} / {eb}", a // b))
        expr, value = options[int(rng.integers(len(options)))]
        items = [it for k, it in enumerate(items) if k not in (i, j)] + [(f"({expr})", value)]
    expr, value = items[0]
    if not 1 <= value <= target_limit:
        return None
    return (expr[1:-1] if expr.startswith("(") else expr), value


class CountdownEnv(PuzzleEnv):
    """Countdown numbers game; reward 1 when the expression equals the target under the rules."""

    family = "countdown"
    config_cls = CountdownConfig
    config: CountdownConfig

    def instructions(self) -> str:
        rule = "every number exactly once" if self.config.use_all else "each number at most once"
        return (
            "You solve Countdown puzzles: combine the given numbers with +, -, * and / and parentheses to "
            f"make the target, using {rule}. Think it through, then give only the expression as the "
            "final answer, for example <answer>(25 - 5) * 4</answer>."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        cfg = self.config
        for _ in range(1000):
            numbers = [int(x) for x in rng.integers(1, cfg.number_limit + 1, size=cfg.n)]
            k = cfg.n if cfg.use_all else int(rng.integers(max(2, cfg.n - 1), cfg.n + 1))
            used = [numbers[i] for i in rng.choice(cfg.n, size=k, replace=False)]
            found = _random_expression(rng, used, cfg.target_limit)
            if found is not None:
                break
        else:  # practically unreachable: fall back to a sum, which is always a valid solution
            found = (" + ".join(map(str, numbers)), sum(numbers))
        expression, target = found
        rule = "every number exactly once" if cfg.use_all else "each number at most once"
        prompt = (
            f"Using the numbers {numbers}, create an equation that equals {target}. You can use "
            f"+, -, * and / and parentheses, {rule}."
        )
        return prompt, expression, {"numbers": numbers, "target": target}

    def verify(self, task: Task, answer: str) -> Verdict:
        return verify_expression(
            answer, task.metadata["numbers"], task.metadata["target"], self.config.use_all
        )
