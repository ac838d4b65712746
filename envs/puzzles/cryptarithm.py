"""Cryptarithms: letters stand for distinct digits in an addition (SEND + MORE = MONEY). A column
solver with carries lists the assignments that work; the generator reveals as few letters as it takes
to leave exactly one (none when the draw is unique already), and the solver proves it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.puzzles.base import PuzzleEnv


@dataclass
class CryptarithmConfig(Config):
    """``difficulty`` in [0, 1] sets the words' length (2 to 5 letters) and the addends (2 or 3);
    ``word_length`` and ``n_addends`` override it."""

    difficulty: float = 0.3
    word_length: int | None = None
    n_addends: int | None = None

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.word_length is not None:
            check_range("word_length", self.word_length, 2, 6)
        if self.n_addends is not None:
            check_range("n_addends", self.n_addends, 2, 4)

    @property
    def length(self) -> int:
        return self.word_length or 2 + round(3 * self.difficulty)

    @property
    def addends(self) -> int:
        return self.n_addends or 2 + round(self.difficulty)


def solve(
    addends: list[str], total: str, limit: int = 2, fixed: dict[str, int] | None = None
) -> list[dict[str, int]]:
    """Up to ``limit`` letter -> digit assignments under which the addends sum to ``total`` (and the
    letters in ``fixed`` hold their given digits)."""
    width = len(total)
    if any(len(w) > width for w in addends):
        return []
    leading = {w[0] for w in [*addends, total] if len(w) > 1}
    columns = [([w[-1 - c] for w in addends if c < len(w)], total[-1 - c]) for c in range(width)]
    found: list[dict[str, int]] = []
    value: dict[str, int] = {}
    used = [False] * 10

    def fill(letters: list[str], k: int, then: Any) -> None:
        if len(found) >= limit:
            return
        if k == len(letters):
            then()
            return
        letter = letters[k]
        if letter in value:
            fill(letters, k + 1, then)
            return
        digits = [fixed[letter]] if fixed and letter in fixed else range(1 if letter in leading else 0, 10)
        for d in digits:
            if not used[d]:
                value[letter], used[d] = d, True
                fill(letters, k + 1, then)
                del value[letter]
                used[d] = False

    def column(c: int, carry: int) -> None:
        if c == width:
            if carry == 0:
                found.append(dict(value))
            return
        tops, bottom = columns[c]

        def check() -> None:
            s = sum(value[x] for x in tops) + carry
            digit = s % 10
            if bottom in value:
                if value[bottom] == digit:
                    column(c + 1, s // 10)
            elif (
                not used[digit]
                and not (digit == 0 and bottom in leading)
                and (not fixed or fixed.get(bottom, digit) == digit)
            ):
                value[bottom], used[digit] = digit, True
                column(c + 1, s // 10)
                del value[bottom]
                used[digit] = False

        fill(list(dict.fromkeys(tops)), 0, check)

    column(0, 0)
    return found


def parse_assignment(text: str) -> dict[str, int]:
    """``A=1`` / ``A: 1`` / ``A -> 1`` pairs (upper-case single letters), the last one wins."""
    return {a: int(d) for a, d in re.findall(r"\b([A-Z])\s*(?:=|:|->)\s*(\d)\b", text)}


_MAX_SOLUTIONS = 200  # draws with more solutions are skipped (too many hints would be needed)


class CryptarithmEnv(PuzzleEnv):
    """Cryptarithm; reward 1 for an assignment of distinct digits that makes the sum right."""

    family = "cryptarithm"
    config_cls = CryptarithmConfig
    config: CryptarithmConfig

    def answer_shape(self) -> str:
        return "letter=digit pairs"

    def instructions(self) -> str:
        return (
            "You solve cryptarithms: each letter stands for a different digit, and no number starts with 0. "
            "Find the digits that make the addition right and give the final answer as letter=digit "
            f"pairs, for example {self.show_answer('A=1, B=7, C=3')}."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        length, k = self.config.length, self.config.addends
        for _ in range(1000):
            letters = [chr(65 + int(i)) for i in rng.choice(26, size=10, replace=False)]
            numbers = [int(rng.integers(10 ** (length - 1), 10**length)) for _ in range(k)]
            numbers[-1] = int(rng.integers(10 ** max(0, length - 2), 10**length))  # lengths may differ
            words = ["".join(letters[int(ch)] for ch in str(x)) for x in numbers]
            total = "".join(letters[int(ch)] for ch in str(sum(numbers)))
            truth = {letters[d]: d for d in range(10) if letters[d] in "".join([*words, total])}
            hints = self._hints(solve(words, total, limit=_MAX_SOLUTIONS), truth, rng)
            if hints is not None and len(solve(words, total, limit=2, fixed=hints)) == 1:
                break
        else:  # pragma: no cover - a usable draw turns up within a few tries
            raise RuntimeError("could not make a cryptarithm with a unique solution")
        prompt = (
            "Solve this cryptarithm (each letter is a different digit, no number starts with 0):\n"
            + "\n".join(f"  {w:>{len(total)}}" for w in words[:-1])
            + f"\n+ {words[-1]:>{len(total)}}\n= {total}"
        )
        if hints:
            prompt += "\nGiven: " + ", ".join(f"{a}={d}" for a, d in sorted(hints.items()))
        answer = ", ".join(f"{a}={d}" for a, d in sorted(truth.items()))
        return prompt, answer, {"addends": words, "total": total, "given": hints}

    def _hints(
        self, solutions: list[dict[str, int]], truth: dict[str, int], rng: np.random.Generator
    ) -> dict[str, int] | None:
        """Letters to reveal so that only ``truth`` is left: greedily the one that rules out the most
        other solutions, plus one more below difficulty 0.5; ``None`` if too many would be needed."""
        if not solutions or len(solutions) >= _MAX_SOLUTIONS:
            return None
        hints: dict[str, int] = {}
        left = solutions
        while len(left) > 1:
            letter = min(
                (a for a in sorted(truth) if a not in hints),
                key=lambda a: sum(s[a] == truth[a] for s in left),
            )
            hints[letter] = truth[letter]
            left = [s for s in left if s[letter] == truth[letter]]
        if self.config.difficulty < 0.5 and len(hints) < len(truth) // 2:
            extra = [a for a in sorted(truth) if a not in hints]
            letter = extra[int(rng.integers(len(extra)))]
            hints[letter] = truth[letter]
        return hints if len(hints) <= max(1, len(truth) // 2) else None

    def verify(self, task: Task, answer: str) -> Verdict:
        words, total = task.metadata["addends"], task.metadata["total"]
        letters = sorted(set("".join([*words, total])))
        value = parse_assignment(answer.upper())
        missing = [a for a in letters if a not in value]
        if missing:
            return Verdict.wrong(f"no digit given for {missing}")
        if len({value[a] for a in letters}) != len(letters):
            return Verdict.wrong("two letters share a digit")
        if any(value[w[0]] == 0 for w in [*words, total] if len(w) > 1):
            return Verdict.wrong("a number starts with 0")
        if wrong := [a for a, d in task.metadata["given"].items() if value[a] != d]:
            return Verdict.wrong(f"{wrong} do not keep their given digits")

        def number(w: str) -> int:
            return int("".join(str(value[a]) for a in w))

        if sum(map(number, words)) != number(total):
            return Verdict.wrong(f"{' + '.join(str(number(w)) for w in words)} != {number(total)}")
        return Verdict.right()
