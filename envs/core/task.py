"""What an env poses (``Task``) and what its verifier decides (``Verdict``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Task:
    """One task: what the model sees and a reference answer that the env's verifier accepts."""

    id: str
    prompt: str
    answer: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The verifier's decision on an answer.

    ``score`` is the reward the answer earns (in [0, 1] for most envs), ``success`` whether the task
    is solved, ``parts`` the verifier's details (partial credit and the like), ``feedback`` a short
    text the ``check`` tool shows the agent.
    """

    score: float
    success: bool
    parts: dict[str, float] = field(default_factory=dict)
    feedback: str = ""

    @classmethod
    def wrong(cls, feedback: str, **parts: float) -> Verdict:
        return cls(score=0.0, success=False, parts={"correct": 0.0, **parts}, feedback=feedback)

    @classmethod
    def right(cls, feedback: str = "correct", **parts: float) -> Verdict:
        return cls(score=1.0, success=True, parts={"correct": 1.0, **parts}, feedback=feedback)
