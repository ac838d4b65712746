"""Mastermind: guess a hidden code; each guess is answered with how many pegs are right and in place
and how many are right but misplaced."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from envs.core import Config, Task, Tool, ToolArgumentError, Verdict, check_range, tool
from envs.puzzles.game import GameEnv


@dataclass
class MastermindConfig(Config):
    """``difficulty`` in [0, 1] sets the code length (3 to 5) and the colors (4 to 8); ``length``,
    ``colors`` and ``max_guesses`` (10 by default) override it."""

    difficulty: float = 0.3
    length: int | None = None
    colors: int | None = None
    max_guesses: int = 10

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.length is not None:
            check_range("length", self.length, 2, 8)
        if self.colors is not None:
            check_range("colors", self.colors, 2, 9)
        check_range("max_guesses", self.max_guesses, 1, 50)

    @property
    def code_length(self) -> int:
        return self.length or 3 + round(2 * self.difficulty)

    @property
    def n_colors(self) -> int:
        return self.colors or 4 + round(4 * self.difficulty)


#: The largest code space the demonstration's solver enumerates (9 colors, length 6 is 531441).
MAX_SOLVER_CODES = 600_000


def score(secret: str, guess: str) -> tuple[int, int]:
    """(right and in place, right but misplaced)."""
    exact = sum(a == b for a, b in zip(secret, guess, strict=True))
    common = sum((Counter(secret) & Counter(guess)).values())
    return exact, common - exact


def consistent_guesses(
    secret: str, colors: int, max_guesses: int, rng: np.random.Generator
) -> list[str] | None:
    """A game played by guessing, each time, a code drawn from those consistent with every answer so
    far; the guesses, or None when the code is not found within ``max_guesses`` (or the code space is
    over ``MAX_SOLVER_CODES``)."""
    length = len(secret)
    if colors**length > MAX_SOLVER_CODES:
        return None
    codes = np.indices((colors,) * length, dtype=np.int8).reshape(length, -1).T  # every code, digits 0..
    counts = np.stack([(codes == c).sum(axis=1) for c in range(colors)], axis=1)
    target = np.array([int(d) - 1 for d in secret], dtype=np.int8)
    target_counts = np.bincount(target, minlength=colors)
    guesses: list[str] = []
    while len(guesses) < max_guesses and len(codes):
        k = int(rng.integers(len(codes)))
        guess, guess_counts = codes[k], counts[k]
        guesses.append("".join(str(int(d) + 1) for d in guess))
        if (guess == target).all():
            return guesses
        exact = int((guess == target).sum())
        common = int(np.minimum(guess_counts, target_counts).sum())
        same_exact = (codes == guess).sum(axis=1) == exact
        keep = same_exact & (np.minimum(counts, guess_counts).sum(axis=1) == common)
        codes, counts = codes[keep], counts[keep]
    return None


class MastermindEnv(GameEnv):
    """Mastermind; reward 1 when a guess matches the code within the guess budget."""

    family = "mastermind"
    config_cls = MastermindConfig
    config: MastermindConfig
    episode_defaults: ClassVar[dict[str, Any]] = {"max_turns": 12}

    def answer_shape(self) -> str:
        return f"the code, {self.config.code_length} digits"

    def instructions(self) -> str:
        cfg = self.config
        example = self.show_call("guess", code="1234567"[: cfg.code_length])
        return (
            f"You play Mastermind: find a hidden code of {cfg.code_length} digits, each from 1 to "
            f"{cfg.n_colors} (digits may repeat). Guess with the guess tool, e.g. {example}; each guess "
            "is answered with how many digits are right and in the right place and how many are right but "
            f"in the wrong place. You have {cfg.max_guesses} guesses. Guessing the code wins; you may also "
            f"{self.protocol.how_to_answer(self.answer_shape())}."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        cfg = self.config
        secret = "".join(map(str, rng.integers(1, cfg.n_colors + 1, size=cfg.code_length).tolist()))
        prompt = (
            f"A code of {cfg.code_length} digits from 1 to {cfg.n_colors} is hidden. You have "
            f"{cfg.max_guesses} guesses. Make your first guess."
        )
        return prompt, secret, {"length": cfg.code_length, "colors": cfg.n_colors, "secret": secret}

    def new_state(self, task: Task) -> dict[str, Any]:
        return {"guesses": []}

    def _read(self, text: str) -> str | None:
        digits = "".join(re.findall(r"\d", text))
        meta = self.task.metadata
        if len(digits) != meta["length"] or any(not 1 <= int(d) <= meta["colors"] for d in digits):
            return None
        return digits

    @tool
    def guess(self, code: str) -> str:
        """Guess the code; the reply says how many digits are right and in place, and right but misplaced.

        Args:
            code: The guessed digits, e.g. 1234.
        """
        if refused := self.refuse():
            return refused
        meta = self.task.metadata
        guess = self._read(code)
        if guess is None:
            raise ToolArgumentError(
                f"not a guess: write {meta['length']} digits from 1 to {meta['colors']}; no guess was used"
            )
        exact, near = score(meta["secret"], guess)
        self.state["guesses"].append(guess)
        used, left = len(self.state["guesses"]), self.config.max_guesses - len(self.state["guesses"])
        reply = f"guess {used}: {guess} -> {exact} right and in place, {near} right but misplaced"
        if exact == meta["length"]:
            self.end(True, f"solved in {used} guesses", guesses=float(used))
            return reply + f". You cracked the code in {used} guesses!"
        if left == 0:
            self.end(False, "out of guesses", guesses=float(used))
            return reply + f". No guesses left; the code was {meta['secret']}."
        return reply + f". {left} guesses left."

    def tools(self) -> list[Tool]:
        return [self.guess]

    def demonstration(self) -> list[str]:
        """A game won by guessing codes consistent with every answer so far (draws seeded by the task);
        the answer turn alone when such play misses within the guesses and turns, or the code space is
        too large to enumerate."""
        meta, budget = self.task.metadata, min(self.config.max_guesses, self.episode.max_turns)
        guesses = consistent_guesses(meta["secret"], meta["colors"], budget, self.task_rng())
        if guesses is None:
            return super().demonstration()
        return [self.call_turn("guess", code=g) for g in guesses]

    def verify(self, task: Task, answer: str) -> Verdict:
        guess = "".join(re.findall(r"\d", answer))
        if guess == task.metadata["secret"]:
            return Verdict.right()
        return Verdict.wrong("that is not the code")
