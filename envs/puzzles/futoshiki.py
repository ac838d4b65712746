"""Futoshiki: fill an n x n Latin square that obeys inequality signs between neighbouring cells; the
Latin-square solver proves the solution unique while givens are removed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.puzzles.base import PuzzleEnv
from envs.puzzles.grids import format_grid, parse_int_grid
from envs.puzzles.latin import LatinSolver


@dataclass
class FutoshikiConfig(Config):
    """``difficulty`` in [0, 1] sets the grid (4 to 7) and how few inequalities are shown (60% of the
    neighbour pairs at 0, 25% at 1); givens are removed while the solution stays unique. ``size`` and
    ``inequalities`` (a share of the pairs) override it. ``partial_credit`` scores the share of empty
    cells right."""

    difficulty: float = 0.3
    size: int | None = None
    inequalities: float | None = None
    partial_credit: bool = False

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.size is not None:
            check_range("size", self.size, 3, 9)
        if self.inequalities is not None:
            check_range("inequalities", self.inequalities, 0, 1)

    @property
    def n(self) -> int:
        return self.size or 4 + round(3 * self.difficulty)

    @property
    def share(self) -> float:
        return self.inequalities if self.inequalities is not None else 0.6 - 0.35 * self.difficulty


def _cell(n: int, i: int) -> str:
    return f"({i // n + 1},{i % n + 1})"


class FutoshikiEnv(PuzzleEnv):
    """Futoshiki; reward 1 for a Latin square that keeps the givens and every inequality."""

    family = "futoshiki"
    config_cls = FutoshikiConfig
    config: FutoshikiConfig

    def answer_shape(self) -> str:
        return "the full grid, one row per line, numbers separated by spaces"

    def instructions(self) -> str:
        return (
            "You solve Futoshiki puzzles: fill the n x n grid (0 marks an empty cell) with 1..n so that every "
            "row and column holds each number once and every inequality between cells (row,column) holds. "
            f"Then {self.protocol.how_to_answer(self.answer_shape())}."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        n = self.config.n
        solution = LatinSolver(n).solve([0] * (n * n), limit=1, rng=rng)[0]
        pairs = [(i, i + 1) for i in range(n * n) if i % n < n - 1] + [(i, i + n) for i in range(n * n - n)]
        chosen = [pairs[int(k)] for k in rng.permutation(len(pairs))[: round(self.config.share * len(pairs))]]
        less = sorted((a, b) if solution[a] < solution[b] else (b, a) for a, b in chosen)
        solver = LatinSolver(n, less=less)
        puzzle = solver.reduce(solution, rng, keep=0)
        rows = [puzzle[r * n : (r + 1) * n] for r in range(n)]
        prompt = (
            f"Solve this {n}x{n} Futoshiki (0 marks an empty cell):\n{format_grid(rows)}\nInequalities:\n"
            + "\n".join(f"{_cell(n, a)} < {_cell(n, b)}" for a, b in less)
        )
        answer = format_grid([solution[r * n : (r + 1) * n] for r in range(n)])
        meta = {"size": n, "puzzle": puzzle, "solution": solution, "less": [list(p) for p in less]}
        return prompt, answer, meta

    def verify(self, task: Task, answer: str) -> Verdict:
        meta = task.metadata
        n, puzzle, solution = meta["size"], meta["puzzle"], meta["solution"]
        rows = parse_int_grid(answer, n)
        if rows is None:
            return Verdict.wrong(f"could not read a {n}x{n} grid of numbers", partial=0.0)
        grid = [v for row in rows for v in row]
        empty = [i for i, v in enumerate(puzzle) if not v]
        share = sum(grid[i] == solution[i] for i in empty) / max(1, len(empty))
        if any(v and grid[i] != v for i, v in enumerate(puzzle)):
            feedback = "a given cell was changed"
        elif not LatinSolver(n, less=[tuple(p) for p in meta["less"]]).is_solution(grid):
            feedback = "a row or column repeats a number, a number is out of range, or an inequality fails"
        else:
            return Verdict.right(partial=1.0)
        score = share if self.config.partial_credit else 0.0
        return Verdict(score, False, {"correct": 0.0, "partial": share}, feedback)
