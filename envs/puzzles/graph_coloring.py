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


_PAIR = re.compile(
    r"(?<![\w.])(\d+)[\"']?\s*(?::|=|->|→|is)\s*[\"']?(?:colou?r\s*)?(\d+)(?![\w.])", re.IGNORECASE
)
_FENCE = re.compile(r"^```(?:json|python)?\s*(.*?)\s*```$", re.DOTALL)


class _Object(list):
    """A JSON object's (key, value) pairs in order, duplicates kept (a repeated key is a hedge)."""


class ColoringError(ValueError):
    """An answer that does not state one coloring (a vertex given two colors, a malformed list)."""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (
        m := re.fullmatch(r"\s*(?:(?:vertex|v|colou?r|c)\s*)?(\d+)\s*", value, re.I)
    ):
        return int(m.group(1))
    return None


def _from_json(value: Any) -> list[tuple[int, int]] | None:
    """The pairs of a JSON answer: ``{"0": 1, ...}``, ``[[0, 1], ...]`` or ``[1, 2, ...]`` (colors in
    vertex order); None when it is none of these."""
    if isinstance(value, _Object):
        pairs = [(_int(k), _int(v)) for k, v in value]
    elif isinstance(value, list) and value and all(isinstance(x, list) and len(x) == 2 for x in value):
        pairs = [(_int(a), _int(b)) for a, b in value]
    elif isinstance(value, list) and value and all(_int(x) is not None for x in value):
        pairs = [(i, _int(x)) for i, x in enumerate(value)]
    else:
        return None
    if any(a is None or b is None for a, b in pairs):
        return None
    return pairs  # type: ignore[return-value]


def parse_coloring(text: str) -> dict[int, int]:
    """The coloring an answer states, in any unambiguous form: ``vertex: color`` pairs (also
    ``vertex=color``, ``vertex -> color``, ``vertex 0 is color 1``, a Python dict), a JSON object
    ``{"0": 1, ...}``, a JSON list of ``[vertex, color]`` pairs, or a JSON list of colors in vertex
    order. Raises ``ColoringError`` when a vertex is given two different colors (a hedge, not an answer)."""
    import json

    body = text.strip()
    if m := _FENCE.match(body):
        body = m.group(1)
    pairs: list[tuple[int, int]] | None = None
    if body[:1] in "[{":
        try:
            pairs = _from_json(json.loads(body, object_pairs_hook=_Object))
        except (json.JSONDecodeError, RecursionError):
            pairs = None
    if pairs is None:
        pairs = [(int(v), int(c)) for v, c in _PAIR.findall(text)]
    coloring: dict[int, int] = {}
    for v, c in pairs:
        if coloring.setdefault(v, c) != c:
            raise ColoringError(f"vertex {v} is given two colors ({coloring[v]} and {c})")
    return coloring


class GraphColoringEnv(PuzzleEnv):
    """Graph coloring; reward 1 for a proper coloring of every vertex (share of good edges in parts)."""

    family = "graph_coloring"
    config_cls = GraphColoringConfig
    config: GraphColoringConfig

    def answer_shape(self) -> str:
        return "vertex: color pairs"

    def instructions(self) -> str:
        return (
            "You solve graph coloring puzzles: give every vertex a color number so that the two ends of "
            "every edge have different colors. Give the final answer as vertex: color pairs, for example "
            f'{self.show_answer("0: 1, 1: 2, 2: 1")} (a JSON object such as {{"0": 1, "1": 2}} works too).'
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        n, k = self.config.vertices, self.config.n_colors
        hidden = rng.integers(1, k + 1, size=n).tolist()
        pairs = [[a, b] for a in range(n) for b in range(a + 1, n) if hidden[a] != hidden[b]]
        # one rng.random() per pair, in order: the same draws as one call for them all
        density = self.config.edge_density
        edges = [pair for pair, x in zip(pairs, rng.random(len(pairs)).tolist(), strict=True) if x < density]
        prompt = (
            f"Color the vertices 0 to {n - 1} of this graph with the colors 1 to {k} so that no edge joins "
            f"two vertices of the same color.\nEdges: " + ", ".join(f"({a}, {b})" for a, b in edges)
        )
        answer = ", ".join(f"{v}: {c}" for v, c in enumerate(hidden))
        return prompt, answer, {"n": n, "colors": k, "edges": edges}

    def verify(self, task: Task, answer: str) -> Verdict:
        n, k, edges = task.metadata["n"], task.metadata["colors"], task.metadata["edges"]
        try:
            coloring = parse_coloring(answer)
        except ColoringError as e:
            return Verdict(0.0, False, {"correct": 0.0, "partial": 0.0}, str(e))
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
