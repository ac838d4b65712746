"""Graph coloring: color the vertices with k colors so that no edge joins two vertices of one color.
Graphs are built around a hidden coloring, so one always exists; any proper coloring is accepted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.puzzles.base import PuzzleEnv


@dataclass
class GraphColoringConfig(Config):
    """``difficulty`` in [0, 1] sets the vertices (5 to 20) and the edge density (between color
    classes, 0.3 to 0.6); ``n_vertices``, ``n_colors`` and ``density`` override it. ``partial_credit``
    makes the score the share of edges whose ends differ."""

    difficulty: float = 0.3
    n_vertices: int | None = None
    n_colors: int = 3
    density: float | None = None
    partial_credit: bool = False

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.n_vertices is not None:
            check_range("n_vertices", self.n_vertices, 2, 200)
        check_range("n_colors", self.n_colors, 2, 10)
        if self.density is not None:
            check_range("density", self.density, 0.01, 1)

    @property
    def vertices(self) -> int:
        return self.n_vertices or 5 + round(15 * self.difficulty)

    @property
    def edge_density(self) -> float:
        return self.density if self.density is not None else 0.3 + 0.3 * self.difficulty


def parse_coloring(text: str) -> dict[int, int]:
    """``vertex: color`` pairs (also ``vertex=color`` and ``vertex -> color``), the last one wins."""
    return {int(v): int(c) for v, c in re.findall(r"(\d+)\s*(?::|=|->)\s*(\d+)", text)}


class GraphColoringEnv(PuzzleEnv):
    """Graph coloring; reward 1 for a proper coloring of every vertex (share of good edges in parts)."""

    family = "graph_coloring"
    config_cls = GraphColoringConfig
    config: GraphColoringConfig

    def instructions(self) -> str:
        return (
            "You solve graph coloring puzzles: give every vertex a color number so that the two ends of "
            "every edge have different colors. Give the final answer as vertex: color pairs, for example "
            "<answer>0: 1, 1: 2, 2: 1</answer>."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        n, k = self.config.vertices, self.config.n_colors
        hidden = [int(x) for x in rng.integers(1, k + 1, size=n)]
        edges = [
            [a, b]
            for a in range(n)
            for b in range(a + 1, n)
            if hidden[a] != hidden[b] and rng.random() < self.config.edge_density
        ]
        prompt = (
            f"Color the vertices 0 to {n - 1} of this graph with the colors 1 to {k} so that no edge joins "
            f"two vertices of the same color.\nEdges: " + ", ".join(f"({a}, {b})" for a, b in edges)
        )
        answer = ", ".join(f"{v}: {c}" for v, c in enumerate(hidden))
        return prompt, answer, {"n": n, "colors": k, "edges": edges}

    def verify(self, task: Task, answer: str) -> Verdict:
        n, k, edges = task.metadata["n"], task.metadata["colors"], task.metadata["edges"]
        coloring = parse_coloring(answer)
        good = sum(
            coloring.get(a, -1) != coloring.get(b, -2) and a in coloring and b in coloring for a, b in edges
        )
        share = good / len(edges) if edges else 1.0
        missing = [v for v in range(n) if not 1 <= coloring.get(v, 0) <= k]
        if missing:
            feedback = f"vertices {missing} have no color in 1..{k}"
        elif good < len(edges):
            feedback = f"{len(edges) - good} edge(s) join vertices of the same color"
        else:
            return Verdict.right(partial=1.0)
        score = share if self.config.partial_credit else 0.0
        return Verdict(score, False, {"correct": 0.0, "partial": share}, feedback)
