"""``@reward``: a plain scoring function that is also a TRL ``reward_funcs`` entry; ``combine``: weights.

A reward function scores one completion: ``exact_match("<answer>Paris</answer>", answer="paris")``
gives ``1.0``. Called the way TRL calls reward functions, with ``completions=[...]`` and dataset
columns as lists, it scores the batch and returns a list; an ``InfraError`` gives ``None`` for that
sample (TRL leaves it out), never a silent 0.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rewards.answer import completion_text
from rewards.errors import InfraError


class RewardFunction:
    """A scoring function ``fn(completion: str, **named) -> float`` usable one sample at a time or
    as a TRL reward function."""

    def __init__(self, fn: Callable[..., float]):
        functools.update_wrapper(self, fn)
        self.fn = fn
        params = inspect.signature(fn).parameters
        self._takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        self._names = {n for n in params if n != "completion"}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and "completions" in kwargs:
            return self.batch(**kwargs)
        return float(self.fn(*args, **kwargs))

    def batch(self, completions: list[Any], **columns: Any) -> list[float | None]:
        """Score a batch the way TRL passes it: per-sample columns are lists as long as ``completions``."""
        n = len(completions)
        scores: list[float | None] = []
        for i, completion in enumerate(completions):
            named = {}
            for key, value in columns.items():
                if not (self._takes_any or key in self._names):
                    continue
                named[key] = value[i] if isinstance(value, list | tuple) and len(value) == n else value
            try:
                scores.append(float(self.fn(completion_text(completion), **named)))
            except InfraError:
                scores.append(None)
        return scores

    def __repr__(self) -> str:
        return f"reward({self.__name__})"


def reward(fn: Callable[..., float]) -> RewardFunction:
    """Make ``fn(completion: str, **named) -> float`` a reward function (see the module docstring)."""
    return RewardFunction(fn)


@dataclass(frozen=True)
class Combined:
    """A weighted sum of reward functions that also reports each part."""

    weights: Mapping[RewardFunction, float]

    @property
    def __name__(self) -> str:  # TRL logs reward functions by name
        return "+".join(f"{w:g}*{f.__name__}" for f, w in self.weights.items())

    def parts(self, completion: str, **named: Any) -> dict[str, float]:
        """Each function's unweighted score, by name, and their weighted ``total``."""
        out: dict[str, float] = {}
        total = 0.0
        for fn, weight in self.weights.items():
            accepted = named if fn._takes_any else {k: v for k, v in named.items() if k in fn._names}
            value = fn(completion, **accepted)
            out[fn.__name__] = value
            total += weight * value
        out["total"] = total
        return out

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and "completions" in kwargs:
            completions = kwargs.pop("completions")
            n = len(completions)
            totals: list[float | None] = []
            for i, c in enumerate(completions):
                named = {
                    k: (v[i] if isinstance(v, list | tuple) and len(v) == n else v) for k, v in kwargs.items()
                }
                try:
                    totals.append(self.parts(completion_text(c), **named)["total"])
                except InfraError:
                    totals.append(None)
            return totals
        return self.parts(*args, **kwargs)["total"]


def combine(weights: Mapping[RewardFunction, float]) -> Combined:
    """``combine({exact_match: 1.0, tool_cost: 1.0})``: a weighted sum that reports its parts."""
    for fn in weights:
        if not isinstance(fn, RewardFunction):
            raise TypeError(f"combine takes @reward functions, got {fn!r}")
    return Combined(dict(weights))
