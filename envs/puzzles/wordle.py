"""A Wordle-style word game: find a hidden five-letter word in a few guesses; every guess is marked
letter by letter. The word list ships with the package (``wordle_words.txt``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, ClassVar

import numpy as np

from envs.core import Config, Task, Tool, ToolArgumentError, Verdict, check_range, tool
from envs.puzzles.game import GameEnv


@cache
def words() -> tuple[str, ...]:
    """The word list: lower-case five-letter words, sorted."""
    text = resources.files("envs.puzzles").joinpath("wordle_words.txt").read_text(encoding="utf-8")
    return tuple(sorted({w.strip().lower() for w in text.split() if re.fullmatch(r"[a-zA-Z]{5}", w.strip())}))


def mark(secret: str, guess: str) -> str:
    """G: right letter, right place; Y: in the word elsewhere; -: not in the word (repeats counted)."""
    marks = ["-"] * len(guess)
    left = Counter(s for s, g in zip(secret, guess, strict=True) if s != g)
    for i, (s, g) in enumerate(zip(secret, guess, strict=True)):
        if s == g:
            marks[i] = "G"
        elif left[g] > 0:
            marks[i] = "Y"
            left[g] -= 1
    return "".join(marks)


def consistent_guesses(secret: str, max_guesses: int, rng: np.random.Generator) -> list[str] | None:
    """A game played by guessing, each time, a listed word drawn from those consistent with every
    mark so far; the guesses, or None when the word is not found within ``max_guesses``."""
    candidates = list(words())
    guesses: list[str] = []
    while len(guesses) < max_guesses and candidates:
        guess = candidates[int(rng.integers(len(candidates)))]
        guesses.append(guess)
        if guess == secret:
            return guesses
        marks = mark(secret, guess)
        candidates = [w for w in candidates if mark(w, guess) == marks]
    return None


@dataclass
class WordleConfig(Config):
    """``difficulty`` in [0, 1] sets the guesses (8 down to 5); ``max_guesses`` overrides it."""

    difficulty: float = 0.3
    max_guesses: int | None = None

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.max_guesses is not None:
            check_range("max_guesses", self.max_guesses, 1, 30)

    @property
    def guesses(self) -> int:
        return self.max_guesses or 8 - round(3 * self.difficulty)


class WordleEnv(GameEnv):
    """Wordle-style game; reward 1 for finding the word within the guesses."""

    family = "wordle"
    config_cls = WordleConfig
    config: WordleConfig
    episode_defaults: ClassVar[dict[str, Any]] = {"max_turns": 10}

    def answer_shape(self) -> str:
        return "the word"

    def instructions(self) -> str:
        return (
            "You play a Wordle-style game: find the hidden five-letter English word. Guess with the guess "
            f"tool, e.g. {self.show_call('guess', word='crane')}; each guess is marked letter by letter: "
            "G = right letter in the right place, Y = in the word but elsewhere, - = not in the word (a "
            f"repeated letter is marked only as often as it occurs). You have {self.config.guesses} "
            "guesses; guesses must be words from the game's list. Guessing the word wins; you may also "
            f"{self.protocol.how_to_answer(self.answer_shape())}."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        secret = words()[int(rng.integers(len(words())))]
        prompt = (
            f"A five-letter word is hidden. You have {self.config.guesses} guesses. Make your first guess."
        )
        return prompt, secret, {"secret": secret, "guesses": self.config.guesses}

    def new_state(self, task: Task) -> dict[str, Any]:
        return {"guesses": []}

    @tool
    def guess(self, word: str) -> str:
        """Guess a five-letter word; the reply marks each letter G (right place), Y (elsewhere) or -.

        Args:
            word: The guessed word, five letters.
        """
        if refused := self.refuse():
            return refused
        word = word.strip().lower()
        if not re.fullmatch(r"[a-z]{5}", word):
            raise ToolArgumentError("not a guess: write one five-letter word; no guess was used")
        if word not in words():
            return f"{word!r} is not in the word list; no guess was used"
        secret, budget = self.task.metadata["secret"], self.task.metadata["guesses"]
        self.state["guesses"].append(word)
        used = len(self.state["guesses"])
        reply = f"guess {used}: {word.upper()} -> {mark(secret, word)}"
        if word == secret:
            self.end(True, f"found in {used} guesses", guesses=float(used))
            return reply + f". You found the word in {used} guesses!"
        if used >= budget:
            self.end(False, "out of guesses", guesses=float(used))
            return reply + f". No guesses left; the word was {secret.upper()}."
        return reply + f". {budget - used} guesses left."

    def tools(self) -> list[Tool]:
        return [self.guess]

    def demonstration(self) -> list[str]:
        """A game won by guessing listed words consistent with every mark so far (draws seeded by the
        task); the answer turn alone when such play misses within the guesses and turns."""
        budget = min(self.task.metadata["guesses"], self.episode.max_turns)
        guesses = consistent_guesses(self.task.metadata["secret"], budget, self.task_rng())
        if guesses is None:
            return super().demonstration()
        return [self.call_turn("guess", word=g) for g in guesses]

    def verify(self, task: Task, answer: str) -> Verdict:
        found = re.findall(r"[A-Za-z]+", answer)
        if found and found[-1].lower() == task.metadata["secret"]:
            return Verdict.right()
        return Verdict.wrong("that is not the word")
