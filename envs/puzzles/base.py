"""``PuzzleEnv``: the base of procedurally generated puzzles with exact verifiers.

A puzzle's task id is ``<family>/<seed>``: ``reset(options={"task_id": "countdown/42"})`` regenerates
that very puzzle under the env's config, and ``reset(seed=S)`` draws the puzzle seed from the env's
own generator.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from envs.core import Task, ToolEnv
from envs.core.seeding import reseed

_MAX_SEED = 2**63 - 1


class PuzzleEnv(ToolEnv):
    """A single-answer puzzle: two turns by default (one retry after a turn with no answer); with
    ``check_tool=True`` the agent may test candidates first (then ``max_turns`` defaults to 4)."""

    family: ClassVar[str]
    supports_check = True
    step_may_block: ClassVar[bool] = False  # tools and verifiers are pure CPU work
    episode_defaults: ClassVar[dict[str, Any]] = {"max_turns": 2}

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        if kwargs.get("check_tool") and "max_turns" not in kwargs:
            kwargs["max_turns"] = 4
        super().__init__(render_mode=render_mode, **kwargs)
        self._task_rng: np.random.Generator | None = None

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        """A new puzzle from ``rng``: its prompt, a reference answer and metadata for the verifier."""
        raise NotImplementedError

    def _make_task(self, rng: np.random.Generator) -> Task:
        return self._load_task(f"{self.family}/{int(rng.integers(_MAX_SEED))}")

    def _load_task(self, task_id: str) -> Task:
        family, _, seed = task_id.partition("/")
        if family != self.family or not seed.isdigit():
            raise KeyError(
                f"task ids of {type(self).__name__} look like '{self.family}/<seed>', got {task_id!r}"
            )
        # the generator ``np.random.default_rng(seed)`` would give, re-seeded in place
        self._task_rng = rng = reseed(self._task_rng, int(seed))
        prompt, answer, metadata = self.generate(rng)
        return Task(id=task_id, prompt=prompt, answer=answer, metadata=metadata)
