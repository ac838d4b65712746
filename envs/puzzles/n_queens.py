"""N-Queens: complete a board on which some queens already stand so that no two queens attack each
other. Any valid completion is accepted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.core.seeding import small_draws
from envs.puzzles.base import PuzzleEnv
from envs.puzzles.grids import format_grid, parse_grid


@dataclass
class NQueensConfig(Config):
    """``difficulty`` in [0, 1] sets the board (4 to 10) and how few queens stand on it already (half
    the board at 0, none at 1); ``n`` and ``placed`` override it. ``partial_credit`` makes the score the
    share of the n queens placed safely."""

    difficulty: float = 0.3
    n: int | None = None
    placed: int | None = None
    partial_credit: bool = False

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.n is not None:
            check_range("n", self.n, 4, 16)
        if self.placed is not None:
            check_range("placed", self.placed, 0, self.board)

    @property
    def board(self) -> int:
        return self.n or 4 + round(6 * self.difficulty)

    @property
    def given(self) -> int:
        return self.placed if self.placed is not None else round(self.board / 2 * (1 - self.difficulty))


def solve(
    n: int, fixed: dict[int, int], rng: np.random.Generator | None = None, limit: int = 1
) -> list[list[int]]:
    """Up to ``limit`` solutions as column per row, keeping the queens in ``fixed`` (row -> column);
    with ``rng``, each row tries its columns in the order of ``rng.permutation``."""
    found: list[list[int]] = []
    cols: list[int] = []
    draw = small_draws(rng) if rng is not None else None  # rng.permutation, exactly
    every = list(range(n))

    def place(r: int, used: int, down: int, up: int) -> None:
        # used: occupied columns; down, up: occupied diagonals, bit c - r + n and c + r
        if r == n:
            found.append(list(cols))
            return
        options = [fixed[r]] if r in fixed else every
        if draw is not None:
            options = [options[k] for k in draw.permutation(len(options))]
        for c in options:
            if not (used >> c & 1 or down >> (c - r + n) & 1 or up >> (c + r) & 1):
                cols.append(c)
                place(r + 1, used | 1 << c, down | 1 << (c - r + n), up | 1 << (c + r))
                cols.pop()
                if len(found) >= limit:
                    return

    try:
        place(0, 0, 0, 0)
    finally:
        if draw is not None:
            draw.close()
    return found


class NQueensEnv(PuzzleEnv):
    """N-Queens completion; reward 1 for n queens, none attacking another, the given ones kept."""

    family = "n_queens"
    config_cls = NQueensConfig
    config: NQueensConfig

    def answer_shape(self) -> str:
        return (
            "the board, one row per line, Q for a queen and . for an empty square, cells separated by spaces"
        )

    def instructions(self) -> str:
        return (
            "You solve N-Queens puzzles: place queens on an n x n board, one per row, so that no two share "
            "a row, a column or a diagonal, keeping the queens already there. Then "
            f"{self.protocol.how_to_answer(self.answer_shape())}."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        n = self.config.board
        solution = solve(n, {}, rng)[0]
        rows = sorted(int(r) for r in rng.choice(n, size=self.config.given, replace=False))
        fixed = {r: solution[r] for r in rows}
        board = [["Q" if fixed.get(r) == c else "." for c in range(n)] for r in range(n)]
        prompt = (
            f"Place {n} queens on this {n}x{n} board ({len(fixed)} already placed) so that no two attack "
            f"each other:\n{format_grid(board)}"
        )
        answer = format_grid([["Q" if solution[r] == c else "." for c in range(n)] for r in range(n)])
        return prompt, answer, {"n": n, "fixed": [[r, c] for r, c in fixed.items()]}

    def verify(self, task: Task, answer: str) -> Verdict:
        n = task.metadata["n"]
        rows = parse_grid(answer, n, n, r"[Qq.\-_01]")
        if rows is None:
            return Verdict.wrong(f"could not read a {n}x{n} board of Q and .", partial=0.0)
        queens = [(r, c) for r in range(n) for c in range(n) if rows[r][c] in "Qq1"]
        safe = [
            (r, c)
            for r, c in queens
            if not any(
                (r, c) != (r2, c2) and (r == r2 or c == c2 or abs(r - r2) == abs(c - c2)) for r2, c2 in queens
            )
        ]
        share = len(safe) / n
        missing = [(r, c) for r, c in task.metadata["fixed"] if (r, c) not in queens]
        if missing:
            return Verdict.wrong(f"the given queen(s) at {missing} were removed", partial=share)
        if len(queens) == n and len(safe) == n:
            return Verdict.right(partial=1.0)
        feedback = f"{len(queens)} queens, {len(safe)} of them safe; need {n} safe queens"
        score = share if self.config.partial_credit else 0.0
        return Verdict(score, False, {"correct": 0.0, "partial": share}, feedback)
