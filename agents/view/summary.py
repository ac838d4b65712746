"""The run summary of the page: the eval table's figures (reward, success, pass@k, maj@k, best-of-k,
turns, tool calls, format errors per env), computed by ``agents.metrics.summarize_by_env`` itself on the
fields the index keeps, so the page and ``toolgym eval`` can never disagree."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.metrics import summarize_by_env

if TYPE_CHECKING:
    from agents.view.index import EpisodeIndex

_COLUMNS = (
    "env",
    "task",
    "seed",
    "success",
    "answer",
    "reward",
    "error",
    "turns",
    "tool_calls",
    "format_errors",
)


class _Episode:
    """The fields of a ``Trajectory`` that ``agents.metrics.summarize`` reads."""

    __slots__ = ("env_id", "task_id", "seed", "is_success", "answer", "reward", "error", "num_turns",
                 "num_tool_calls", "format_errors")  # fmt: skip

    def __init__(
        self,
        env_id: str,
        task_id: str,
        seed: int | None,
        is_success: bool | None,
        answer: str | None,
        reward: float,
        error: str | None,
        turns: int,
        tool_calls: int,
        fmt_errors: int,
    ):
        self.env_id, self.task_id, self.seed, self.is_success = env_id, task_id, seed, is_success
        self.answer, self.reward, self.error = answer, reward, error
        self.num_turns, self.num_tool_calls, self.format_errors = turns, tool_calls, fmt_errors


def summarize_index(index: EpisodeIndex, positions: np.ndarray | None = None) -> dict[str, Any]:
    """``{"k", "rows", "episodes"}`` over these row positions (all when None): the rows of
    ``summarize_by_env``, k being the largest number of samples of one task, NaN as None."""
    from agents.view.index import SEED_NONE

    cols = index.columns()
    if positions is None:
        positions = np.arange(len(cols["offset"]))
    envs, tasks, answers = index.envs.values, index.tasks.values, index.answers.values
    picked = [cols[name][positions].tolist() for name in _COLUMNS]
    episodes = [
        _Episode(
            envs[env],
            tasks[task],
            None if seed == SEED_NONE else seed,
            None if success < 0 else bool(success),
            None if answer < 0 else answers[answer],
            reward,
            "error" if error else None,
            turns,
            tool_calls,
            fmt_errors,
        )
        for env, task, seed, success, answer, reward, error, turns, tool_calls, fmt_errors in zip(
            *picked, strict=True
        )
    ]
    if not episodes:
        return {"k": 1, "rows": [], "episodes": 0}
    k = max(Counter((e.env_id, e.task_id, e.seed) for e in episodes).values())
    table = summarize_by_env(episodes, k)  # type: ignore[arg-type]  (duck-typed trajectories)
    rows = [
        {
            name: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for name, v in s.to_dict().items()
        }
        for s in table
    ]
    return {"k": k, "rows": rows, "episodes": len(episodes)}
