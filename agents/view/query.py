"""Filters, sorting and paging over an ``EpisodeIndex``."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import astuple, dataclass
from typing import Any

import numpy as np

from agents.view.index import COLUMNS, SEED_NONE, EpisodeIndex

#: Columns the table sorts on.
SORT_KEYS = (
    "line",
    "env",
    "task",
    "seed",
    "sample",
    "reward",
    "success",
    "turns",
    "tool_calls",
    "format_errors",
)


@dataclass(frozen=True)
class Filter:
    """Which episodes to list; ``None`` leaves a criterion out. ``task`` matches part of the task id;
    ``env`` the env id, with or without its ``toolgym/`` prefix."""

    env: str | None = None
    task: str | None = None
    success: bool | None = None
    error: bool | None = None
    format_error: bool | None = None
    truncated: bool | None = None
    reward_min: float | None = None
    reward_max: float | None = None
    turns_min: int | None = None
    turns_max: int | None = None
    tools_min: int | None = None
    tools_max: int | None = None

    def mask(self, index: EpisodeIndex, cols: dict[str, np.ndarray]) -> np.ndarray:
        keep = np.ones(len(cols["offset"]), dtype=bool)
        if self.env:
            codes = [
                i for i, e in enumerate(index.envs.values) if self.env in (e, e.removeprefix("toolgym/"))
            ]
            keep &= np.isin(cols["env"], codes)
        if self.task:
            needle = self.task.lower()
            codes = [i for i, t in enumerate(index.tasks.values) if needle in t.lower()]
            keep &= np.isin(cols["task"], codes)
        for flag, column in (
            (self.success, cols["success"] == 1),
            (self.error, cols["error"]),
            (self.format_error, cols["format_errors"] > 0),
            (self.truncated, cols["truncated"]),
        ):
            if flag is not None:
                keep &= column if flag else ~column
        for lo, hi, name in (
            (self.reward_min, self.reward_max, "reward"),
            (self.turns_min, self.turns_max, "turns"),
            (self.tools_min, self.tools_max, "tool_calls"),
        ):
            if lo is not None:
                keep &= cols[name] >= lo
            if hi is not None:
                keep &= cols[name] <= hi
        return keep


def _rank(values: list[str]) -> np.ndarray:
    """Each code's position in the sorted strings, to sort by text through the codes."""
    rank = np.empty(len(values), dtype=np.int64)
    rank[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    return rank


def _sort_column(index: EpisodeIndex, cols: dict[str, np.ndarray], key: str) -> np.ndarray:
    if key == "env":
        return _rank(index.envs.values)[cols["env"]]
    if key == "task":
        return _rank(index.tasks.values)[cols["task"]]
    return cols[key]


class Selector:
    """Row positions of (filter, sort) over an index, the last few kept, so that paging through one
    selection costs a slice."""

    def __init__(self, keep: int = 8):
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def select(self, index: EpisodeIndex, flt: Filter, sort: str = "line", desc: bool = False) -> np.ndarray:
        if sort not in SORT_KEYS:
            raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
        key = (id(index), index.generation, astuple(flt), sort, desc)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        cols = index.columns()
        positions = np.flatnonzero(flt.mask(index, cols))
        if sort != "line" or desc:
            values = _sort_column(index, cols, sort)[positions]
            order = np.argsort(-values if desc and values.dtype.kind in "if" else values, kind="stable")
            if desc and values.dtype.kind not in "if":
                order = order[::-1]
            positions = positions[order]
        with self._lock:
            self._cache[key] = positions
            while len(self._cache) > self._keep:
                self._cache.popitem(last=False)
        return positions


def rows(index: EpisodeIndex, positions: np.ndarray) -> list[dict[str, Any]]:
    """Table rows for these row positions."""
    cols = index.columns()
    picked = {name: cols[name][positions].tolist() for name in COLUMNS if name not in ("offset", "length")}
    out = []
    for i, pos in enumerate(positions.tolist()):
        row = {name: values[i] for name, values in picked.items()}
        reward, success, seed = row["reward"], row["success"], row["seed"]
        row.update(
            id=pos,
            env=index.envs.values[row["env"]],
            task=index.tasks.values[row["task"]],
            seed=None if seed == SEED_NONE else seed,
            reward=reward if math.isfinite(reward) else None,
            success=None if success < 0 else bool(success),
        )
        del row["answer"]
        out.append(row)
    return out
