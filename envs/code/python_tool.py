"""PythonTool-v0: tool-integrated reasoning (START, ToRA) on generated math problems.

The agent may call the sandboxed ``python`` tool and answers in ``<answer>`` or ``\\boxed{}``; the
answer is checked by mathematical equivalence (``rewards.math_equiv``). ``persistent=True`` keeps
interpreter state across calls within an episode. ``hints=True`` adds a START-style hint ("Maybe I can
use Python to check this") to the prompt and to ``info["hint"]`` at reset, for data generation.
A task id is ``math/<seed>``: ``reset(options={"task_id": "math/42"})`` regenerates that problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from envs.code.base import CodeConfig, CodeEnv
from envs.code.math_problems import CATEGORIES, make_problem
from envs.core import ParsedTurn, Task, Tool, Verdict, check_range
from envs.puzzles.base import PuzzleEnv
from rewards import last_boxed, math_equiv

START_HINTS = (
    "Maybe I can use Python to check this.",
    "Wait, it might be easier to compute this with Python.",
    "Let me verify this step with a quick Python calculation.",
    "Hmm, maybe I should write some Python code to be sure.",
    "I could use Python to double-check the arithmetic here.",
)


@dataclass
class PythonToolConfig(CodeConfig):
    """``difficulty`` in [0, 1] scales the problems; ``categories`` limits them to some of
    arithmetic, number_theory, combinatorics, algebra; ``hints`` adds START-style hints."""

    difficulty: float = 0.5
    categories: tuple[str, ...] | list[str] | str | None = None
    hints: bool = False

    def validate(self) -> None:
        super().validate()
        check_range("difficulty", self.difficulty, 0, 1)
        if isinstance(self.categories, str):
            self.categories = tuple(c.strip() for c in self.categories.split(",") if c.strip())
        if self.categories is not None:
            self.categories = tuple(self.categories)
            bad = [c for c in self.categories if c not in CATEGORIES]
            if bad or not self.categories:
                raise ValueError(
                    f"categories must be a non-empty subset of {list(CATEGORIES)}, got {bad or '[]'}"
                )

    @property
    def chosen(self) -> tuple[str, ...]:
        return tuple(self.categories or CATEGORIES)


class PythonToolEnv(CodeEnv, PuzzleEnv):
    """Math problems with a python tool; reward 1 for a mathematically equivalent final answer."""

    family = "math"
    config_cls = PythonToolConfig
    config: PythonToolConfig
    episode_defaults: ClassVar[dict[str, Any]] = {"max_turns": 6}

    def answer_shape(self) -> str:
        return "the exact answer: an integer or a reduced fraction p/q"

    def instructions(self) -> str:
        return (
            "You solve math problems. Reason step by step; you may run Python to compute or check "
            f"anything. {self.describe_python()} Give the exact final answer, an integer or a reduced "
            f"fraction p/q, for example {self.show_answer('7/12')} (\\boxed{{7/12}} works too)."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        problem = make_problem(rng, self.config.difficulty, self.config.chosen)
        hint = START_HINTS[int(rng.integers(len(START_HINTS)))]
        prompt = problem.question + (f"\n\n{hint}" if self.config.hints else "")
        metadata = {
            "category": problem.category,
            "kind": problem.kind,
            "hint": hint,
            "program": problem.program,
        }
        return prompt, problem.answer, metadata

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        if self.config.hints:
            info["hint"] = self.task.metadata["hint"]
        return obs, info

    def demonstration(self) -> list[str]:
        """A ``python`` call running the task's program (it prints the answer), then the answer."""
        turns = [self.call_turn("python", code=self.task.metadata["program"])]
        return turns + self._closing_turns(self.episode.max_turns - 1)

    def verify(self, task: Task, answer: str) -> Verdict:
        if math_equiv(answer, task.answer) == 1.0:
            return Verdict.right()
        return Verdict.wrong(f"{answer.strip()[:100]!r} is not the answer")

    def _parse(self, action: str, tools: dict[str, Tool]) -> ParsedTurn:
        parsed = super()._parse(action, tools)
        if parsed.answer is None and not parsed.calls and not parsed.errors:
            boxed = last_boxed(action)
            if boxed is not None and boxed.strip():
                parsed.answer = boxed.strip()
        return parsed
