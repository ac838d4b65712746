"""Countdown (TinyZero): reach the target with the given numbers and + - * /.

The default rule is each number *at most* once (``use_all=True``: every number exactly once), with a
forgiving reader (``= target`` dropped, unicode signs) and reward 1 or 0. ``preset="tinyzero"`` poses
TinyZero's task exactly: its prompt, 3 or 4 numbers to use each exactly once, and its scorer (see
``tinyzero_score``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from envs.core import Config, Task, Verdict, check_choice, check_range
from envs.core.pyparse import parse_python
from envs.puzzles.arith import verify_expression
from envs.puzzles.base import PuzzleEnv


@dataclass
class CountdownConfig(Config):
    """``difficulty`` in [0, 1] sets how many numbers (3 to 6), how large, and how large the target;
    the other fields override it. ``min_numbers`` makes the count vary from puzzle to puzzle, between
    it and ``num_numbers``. ``preset="tinyzero"`` is TinyZero's task (see ``CountdownEnv``)."""

    difficulty: float = 0.3
    num_numbers: int | None = None
    min_numbers: int | None = None
    max_number: int | None = None
    max_target: int | None = None
    use_all: bool = False
    preset: str | None = None

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.num_numbers is not None:
            check_range("num_numbers", self.num_numbers, 2, 8)
        if self.min_numbers is not None:
            check_range("min_numbers", self.min_numbers, 2, self.n)
        check_choice("preset", self.preset, (None, "tinyzero"))
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


#: What ``preset="tinyzero"`` sets (explicit keyword arguments still win): TinyZero's
#: Countdown-Tasks-3to4 shape (3 or 4 numbers below 100, targets below 100, every number exactly
#: once), one turn, and no format penalty (its scorer gives 0 to a response without an answer).
TINYZERO_PRESET: dict[str, Any] = {
    "min_numbers": 3,
    "num_numbers": 4,
    "max_number": 99,
    "max_target": 99,
    "use_all": True,
    "max_turns": 1,
    "format_penalty": 0.0,
}
TINYZERO_SYSTEM = (
    "You are a helpful assistant. You first thinks about the reasoning process in the mind and then "
    "provides the user with the answer."
)
TINYZERO_FORMAT_SCORE = 0.1
_TINYZERO_CHARS = re.compile(r"[0-9+\-*/(). ]+")
_TINYZERO_OPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def _tinyzero_value(equation: str) -> Fraction:
    """The exact value of an equation TinyZero would ``eval``: int and decimal literals, + - * /,
    unary signs and parentheses. ``**`` and ``//`` raise (TinyZero's ``eval`` would compute them;
    refusing them keeps the evaluator from hanging on ``9**9**9``)."""

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _TINYZERO_OPS:
            return _TINYZERO_OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"{type(node).__name__} is not allowed")

    return walk(parse_python(equation, mode="eval"))


def tinyzero_score(answer: str, numbers: list[int], target: int) -> Verdict:
    """TinyZero's Countdown scorer (``verl/utils/reward_score/countdown.py``) on an extracted answer:
    the integers in it, sorted, must equal the numbers, sorted; only ``0-9 + - * / ( ) .`` and spaces
    are allowed; its value must be within 1e-5 of the target. 1.0 when all hold, else the format
    score 0.1 for any answer that was given (a response without one is a format error, 0)."""
    equation = answer.strip()

    def wrong(feedback: str, valid: float = 0.0) -> Verdict:
        parts = {"correct": 0.0, "valid": valid}
        return Verdict(TINYZERO_FORMAT_SCORE, False, parts, feedback)

    used = [int(n) for n in re.findall(r"[0-9]+", equation)]
    if sorted(used) != sorted(numbers):
        return wrong(f"must use each of {numbers} exactly once, used {used}")
    if not _TINYZERO_CHARS.fullmatch(equation):
        return wrong("only digits, + - * / ( ) . and spaces are allowed")
    try:
        value = _tinyzero_value(equation)
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError, MemoryError) as e:
        return wrong(f"cannot evaluate {equation!r}: {type(e).__name__}")
    if abs(value - target) < Fraction(1, 10**5):
        return Verdict(1.0, True, {"correct": 1.0, "valid": 1.0}, "correct")
    return wrong(f"{equation} = {float(value):g}, not {target}", valid=1.0)


class CountdownEnv(PuzzleEnv):
    """Countdown numbers game; reward 1 when the expression equals the target under the rules.

    ``preset="tinyzero"`` is TinyZero's task exactly: ``TINYZERO_PRESET``'s settings, TinyZero's
    system prompt and user prompt (with its ``<answer> (1 + 2) / 3 </answer>`` example), and its
    scorer, ``tinyzero_score`` (1.0 correct, 0.1 a wrong answer, 0 no answer). The default is this
    env's own rules: each number at most once, reward 1 or 0, one retry turn.
    """

    family = "countdown"
    config_cls = CountdownConfig
    config: CountdownConfig
    presets: ClassVar[dict[str, dict[str, Any]]] = {"tinyzero": TINYZERO_PRESET}

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        preset = kwargs.get("preset")
        if preset in self.presets:
            kwargs = {**self.presets[preset], **kwargs}
        super().__init__(render_mode=render_mode, **kwargs)

    @property
    def tinyzero(self) -> bool:
        return self.config.preset == "tinyzero"

    def answer_shape(self) -> str:
        return "an arithmetic expression over the given numbers"

    def instructions(self) -> str:
        if self.tinyzero:
            return TINYZERO_SYSTEM
        rule = "every number exactly once" if self.config.use_all else "each number at most once"
        return (
            "You solve Countdown puzzles: combine the given numbers with +, -, * and / and parentheses to "
            f"make the target, using {rule}. Think it through, then give only the expression as the "
            f"final answer, for example {self.show_answer('(25 - 5) * 4')}."
        )

    def system_prompt(self, tools: list) -> str:
        if self.tinyzero and not tools and self.episode.protocol == "xml":
            return TINYZERO_SYSTEM  # TinyZero's prompt says how to answer; nothing is added
        return super().system_prompt(tools)

    def _tinyzero_prompt(self, numbers: list[int], target: int) -> str:
        if self.episode.protocol == "xml":
            answer = (
                "And return the final answer in <answer> </answer> tags, for example "
                "<answer> (1 + 2) / 3 </answer>."
            )
        else:
            answer = (
                "And return the final answer by calling the answer function, for example "
                + self.show_answer("(1 + 2) / 3")
                + "."
            )
        return (
            f"Using the numbers {numbers}, create an equation that equals {target}. You can use basic "
            "arithmetic operations (+, -, *, /) and each number can only be used once. Show your work in "
            f"<think> </think> tags. {answer}"
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        cfg = self.config
        for _ in range(1000):
            n = cfg.n if cfg.min_numbers is None else int(rng.integers(cfg.min_numbers, cfg.n + 1))
            numbers = [int(x) for x in rng.integers(1, cfg.number_limit + 1, size=n)]
            k = n if cfg.use_all else int(rng.integers(max(2, n - 1), n + 1))
            used = [numbers[i] for i in rng.choice(n, size=k, replace=False)]
            found = _random_expression(rng, used, cfg.target_limit)
            if found is not None:
                break
        else:  # practically unreachable: fall back to a sum, which is always a valid solution
            found = (" + ".join(map(str, numbers)), sum(numbers))
        expression, target = found
        rule = "every number exactly once" if cfg.use_all else "each number at most once"
        if self.tinyzero:
            return self._tinyzero_prompt(numbers, target), expression, {"numbers": numbers, "target": target}
        prompt = (
            f"Using the numbers {numbers}, create an equation that equals {target}. You can use "
            f"+, -, * and / and parentheses, {rule}."
        )
        return prompt, expression, {"numbers": numbers, "target": target}

    def verify(self, task: Task, answer: str) -> Verdict:
        if self.tinyzero:
            return tinyzero_score(answer, task.metadata["numbers"], task.metadata["target"])
        return verify_expression(
            answer, task.metadata["numbers"], task.metadata["target"], self.config.use_all
        )
