"""``GameEnv``: interactive puzzles where every move changes what the agent sees next.

Moves come in as tool calls (``<move>up</move>``, ``<guess>CRANE</guess>``), the new state goes out as
the tool's result, and a winning or losing move ends the episode through ``finish``. A final
``<answer>`` may still submit a whole solution at once (a move list, the secret), which ``verify``
replays from the start: that is how the reference answer and exported single-turn datasets work.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from envs.core import Task, Verdict
from envs.puzzles.base import PuzzleEnv
from envs.puzzles.maze import parse_moves

_MOVE_WORDS = {"U": "up", "D": "down", "L": "left", "R": "right"}


def move_chunks(moves: Sequence[str], max_chunks: int) -> list[str]:
    """U/D/L/R moves as the arguments of successive ``move`` calls, written as words: one straight run
    per call, neighbouring runs merged evenly until there are at most ``max_chunks`` calls."""
    runs: list[list[str]] = []
    for m in moves:
        if runs and runs[-1][-1] == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    k = min(len(runs), max(1, max_chunks))
    groups = [runs[i * len(runs) // k : (i + 1) * len(runs) // k] for i in range(k)]
    return [" ".join(_MOVE_WORDS[m] for run in group for m in run) for group in groups if group]


class GameEnv(PuzzleEnv):
    """Base of the games: ``new_state`` builds the per-episode state, ``end`` wins or loses it."""

    supports_check = False
    episode_defaults: ClassVar[dict[str, Any]] = {"max_turns": 20}

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        super().__init__(render_mode=render_mode, **kwargs)
        self.state: Any = None
        self.over = True

    def new_state(self, task: Task) -> Any:
        """The state of a fresh game of ``task``."""
        raise NotImplementedError

    def _start_episode(self) -> None:
        self.state = self.new_state(self.task)
        self.over = False

    def end(self, won: bool, feedback: str, **parts: float) -> None:
        """End the game after this turn with a win (score 1) or a loss (score 0)."""
        self.over = True
        self.finish(Verdict.right(feedback, **parts) if won else Verdict.wrong(feedback, **parts))

    def task_rng(self) -> np.random.Generator:
        """A generator seeded by the task id, for demonstrations that draw (the same task, the same
        draws; the env's own generator is left alone)."""
        return np.random.default_rng(zlib.crc32(self.task.id.encode()))

    def _move_demonstration(self) -> list[str]:
        """The reference move list played with the ``move`` tool, a straight run per call."""
        moves = parse_moves(self.task.answer) or []
        return [self.call_turn("move", moves=chunk) for chunk in move_chunks(moves, self.episode.max_turns)]

    def refuse(self) -> str | None:
        """What a move gets when the game is already over (a later call in the winning turn)."""
        return "the game is over; no more moves are taken" if self.over else None
