"""``GameEnv``: interactive puzzles where every move changes what the agent sees next.

Moves come in as tool calls (``<move>up</move>``, ``<guess>CRANE</guess>``), the new state goes out as
the tool's result, and a winning or losing move ends the episode through ``finish``. A final
``<answer>`` may still submit a whole solution at once (a move list, the secret), which ``verify``
replays from the start: that is how the reference answer and exported single-turn datasets work.
"""

from __future__ import annotations

from typing import Any, ClassVar

from envs.core import Task, Verdict
from envs.puzzles.base import PuzzleEnv


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

    def refuse(self) -> str | None:
        """What a move gets when the game is already over (a later call in the winning turn)."""
        return "the game is over; no more moves are taken" if self.over else None
