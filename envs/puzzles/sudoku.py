"""Sudoku on 4x4, 6x6 and 9x9 grids; every puzzle has exactly one solution (the solver proves it while
clues are removed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_choice, check_range
from envs.puzzles.base import PuzzleEnv
from envs.puzzles.grids import format_grid, parse_int_grid
from envs.puzzles.latin import LatinSolver, sudoku_solver

BOXES = {4: (2, 2), 6: (2, 3), 9: (3, 3)}
# givens at difficulty 0 and at difficulty 1, per size
_GIVENS = {4: (10, 4), 6: (22, 10), 9: (45, 25)}


@dataclass
class SudokuConfig(Config):
    """``difficulty`` in [0, 1] sets how many clues are removed (9x9: 45 givens down to as few as
    uniqueness allows, 25); ``givens`` overrides it. ``partial_credit`` makes the score the share
    of empty cells filled correctly."""

    difficulty: float = 0.3
    size: int = 9
    givens: int | None = None
    partial_credit: bool = False

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        check_choice("size", self.size, tuple(BOXES))
        if self.givens is not None:
            check_range("givens", self.givens, 0, self.size * self.size)

    @property
    def keep(self) -> int:
        if self.givens is not None:
            return self.givens
        hi, lo = _GIVENS[self.size]
        return round(hi - (hi - lo) * self.difficulty)


class SudokuEnv(PuzzleEnv):
    """Sudoku; reward 1 for a full grid that keeps the givens and breaks no rule."""

    family = "sudoku"
    config_cls = SudokuConfig
    config: SudokuConfig

    def answer_shape(self) -> str:
        return "the full grid, one row per line, digits separated by spaces"

    def instructions(self) -> str:
        n = self.config.size
        br, bc = BOXES[n]
        return (
            f"You solve {n}x{n} Sudoku puzzles: fill every empty cell (shown as 0) with a digit 1-{n} so that "
            f"each row, each column and each {br}x{bc} box holds every digit exactly once. Then "
            f"{self.protocol.how_to_answer(self.answer_shape())}."
        )

    def solver(self) -> LatinSolver:
        return sudoku_solver(self.config.size, BOXES[self.config.size])

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        n = self.config.size
        solver = self.solver()
        solution = solver.solve([0] * (n * n), limit=1, rng=rng)[0]
        puzzle = solver.reduce(solution, rng, self.config.keep)
        rows = [puzzle[r * n : (r + 1) * n] for r in range(n)]
        prompt = f"Solve this {n}x{n} Sudoku (0 marks an empty cell):\n{format_grid(rows)}"
        answer = format_grid([solution[r * n : (r + 1) * n] for r in range(n)])
        return prompt, answer, {"size": n, "puzzle": puzzle, "solution": solution}

    def verify(self, task: Task, answer: str) -> Verdict:
        n, puzzle, solution = task.metadata["size"], task.metadata["puzzle"], task.metadata["solution"]
        rows = parse_int_grid(answer, n)
        if rows is None:
            return Verdict.wrong(f"could not read a {n}x{n} grid of digits", partial=0.0)
        grid = [v for row in rows for v in row]
        empty = [i for i, v in enumerate(puzzle) if not v]
        share = sum(grid[i] == solution[i] for i in empty) / max(1, len(empty))
        changed = [i for i, v in enumerate(puzzle) if v and grid[i] != v]
        if changed:
            feedback = f"{len(changed)} given cell(s) were changed"
        elif not self.solver().is_solution(grid):
            feedback = "a row, column or box repeats a digit or a cell is out of range"
        else:
            return Verdict.right(partial=1.0)
        score = share if self.config.partial_credit else 0.0
        return Verdict(score, False, {"correct": 0.0, "partial": share}, feedback)
