"""Two sources side by side: episodes paired by (env, task, seed, sample), and which changed."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.view.index import SEED_NONE, EpisodeIndex

#: What a pair's change can be, for the filter.
CHANGES = ("fixed", "broke", "same", "unpaired")


def _keys(index: EpisodeIndex) -> list[tuple[str, str, int, int]]:
    cols = index.columns()
    envs, tasks = index.envs.values, index.tasks.values
    return [
        (envs[e], tasks[t], s, n)
        for e, t, s, n in zip(
            cols["env"].tolist(),
            cols["task"].tolist(),
            cols["seed"].tolist(),
            cols["sample"].tolist(),
            strict=True,
        )
    ]


class Pairing:
    """Rows of A and B with the same key, in A's order then B's unpaired rows; ``change`` per pair."""

    def __init__(self, a: EpisodeIndex, b: EpisodeIndex):
        self.a, self.b = a, b
        keys_a, keys_b = _keys(a), _keys(b)
        where_b: dict[tuple, int] = {}
        for i, k in enumerate(keys_b):
            where_b.setdefault(k, i)
        pos_a, pos_b, seen_b = [], [], set()
        for i, k in enumerate(keys_a):
            j = where_b.get(k, -1)
            if j in seen_b:
                j = -1
            if j >= 0:
                seen_b.add(j)
            pos_a.append(i)
            pos_b.append(j)
        for j in range(len(keys_b)):
            if j not in seen_b:
                pos_a.append(-1)
                pos_b.append(j)
        self.keys = [keys_a[i] if i >= 0 else keys_b[j] for i, j in zip(pos_a, pos_b, strict=True)]
        self.pos_a = np.asarray(pos_a, dtype=np.int64)
        self.pos_b = np.asarray(pos_b, dtype=np.int64)
        succ_a = self._take(a.columns()["success"], self.pos_a) == 1
        succ_b = self._take(b.columns()["success"], self.pos_b) == 1
        paired = (self.pos_a >= 0) & (self.pos_b >= 0)
        self.change = np.full(len(self.pos_a), "unpaired", dtype=object)
        self.change[paired & ~succ_a & succ_b] = "fixed"
        self.change[paired & succ_a & ~succ_b] = "broke"
        self.change[paired & (succ_a == succ_b)] = "same"

    @staticmethod
    def _take(column: np.ndarray, pos: np.ndarray) -> np.ndarray:
        out = np.full(len(pos), -1, dtype=np.int64)
        ok = pos >= 0
        out[ok] = column[pos[ok]]
        return out

    def counts(self) -> dict[str, Any]:
        """Pairs per change, and each side's success rate over the paired episodes."""
        paired = (self.pos_a >= 0) & (self.pos_b >= 0)
        out: dict[str, Any] = {c: int(np.sum(self.change == c)) for c in CHANGES}
        for side, pos, index in (("a", self.pos_a, self.a), ("b", self.pos_b, self.b)):
            success = self._take(index.columns()["success"], pos[paired]) == 1
            out[f"success_{side}"] = float(success.mean()) if len(success) else None
        return out

    def select(
        self, change: str | None = None, env: str | None = None, task: str | None = None
    ) -> np.ndarray:
        """Pair numbers with this change, env and part of a task id."""
        if change is not None and change not in CHANGES:
            raise ValueError(f"change must be one of {', '.join(CHANGES)}, got {change!r}")
        keep = np.ones(len(self.pos_a), dtype=bool)
        if change:
            keep &= self.change == change
        if env or task:
            keys = self.keys
            if env:
                keep &= np.array([env in (k[0], k[0].removeprefix("toolgym/")) for k in keys], dtype=bool)
            if task:
                keep &= np.array([task.lower() in k[1].lower() for k in keys], dtype=bool)
        return np.flatnonzero(keep)

    def rows(self, pairs: np.ndarray) -> list[dict[str, Any]]:
        """Table rows of these pairs: the key, then each side's figures (None where it has no row)."""

        def side(index: EpisodeIndex, pos: int) -> dict[str, Any] | None:
            if pos < 0:
                return None
            cols = index.columns()
            success = int(cols["success"][pos])
            return {
                "id": pos,
                "reward": float(cols["reward"][pos]),
                "success": None if success < 0 else bool(success),
                "error": bool(cols["error"][pos]),
                "turns": int(cols["turns"][pos]),
                "tool_calls": int(cols["tool_calls"][pos]),
            }

        out = []
        for i in pairs.tolist():
            env, task, seed, sample = self.keys[i]
            out.append(
                {
                    "pair": i,
                    "env": env,
                    "task": task,
                    "seed": None if seed == SEED_NONE else seed,
                    "sample": sample,
                    "change": self.change[i],
                    "a": side(self.a, int(self.pos_a[i])),
                    "b": side(self.b, int(self.pos_b[i])),
                }
            )
        return out
