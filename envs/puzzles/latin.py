"""A solver for Latin-square puzzles (Sudoku, Futoshiki): bitmask candidates and depth-first search on
the most constrained cell, counting solutions up to a limit so that generators can prove uniqueness."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from envs.core.seeding import SmallDraws, small_draws

#: Grids with at most this many cells and no inequalities keep every solution of the empty grid
#: (288 for 4x4 Sudoku) so that a uniqueness test is a few bitset operations instead of a search.
_TABLE_CELLS = 16
_MEMO_NODES = 200_000  # the most search nodes a small grid's solver remembers
_SOLVED: tuple[int, list[int]] = (-1, [])
_DEAD: tuple[int, list[int]] = (-2, [])


class LatinSolver:
    """Fills an ``n`` x ``n`` grid (0 = empty) so that every row and column, every box when ``box`` is
    ``(rows, cols)``, holds 1..n once, and ``grid[a] < grid[b]`` for every ``(a, b)`` in ``less``
    (cells as flat indices)."""

    def __init__(self, n: int, box: tuple[int, int] | None = None, less: list[tuple[int, int]] = ()):
        self.n = n
        self.full = ((1 << n) - 1) << 1
        self.row = [i // n for i in range(n * n)]
        self.col = [i % n for i in range(n * n)]
        if box is None:
            self.box = [0] * (n * n)
        else:
            br, bc = box
            self.box = [(r // br) * (n // bc) + c // bc for r in range(n) for c in range(n)]
        self.has_box = box is not None
        self.smaller: list[list[int]] = [[] for _ in range(n * n)]  # cells that must hold less
        self.larger: list[list[int]] = [[] for _ in range(n * n)]
        for a, b in less:
            self.smaller[b].append(a)
            self.larger[a].append(b)
        self.ordered = [i for i in range(n * n) if self.smaller[i] or self.larger[i]]
        # units as (kind, index, cells): kind 0 row, 1 column, 2 box
        self.units = [(0, r, [r * n + c for c in range(n)]) for r in range(n)]
        self.units += [(1, c, [r * n + c for r in range(n)]) for c in range(n)]
        if box is not None:
            self.units += [(2, b, [i for i in range(n * n) if self.box[i] == b]) for b in range(n)]
        self._table: list[list[int]] | None = None  # cell -> value -> bitset of the solutions with it
        self._every = 0
        self._memo: dict[tuple[int, ...], tuple[int, list[int]]] | None = (
            {} if n * n <= _TABLE_CELLS and not self.ordered else None
        )

    def _solution_table(self) -> list[list[int]] | None:
        """For small grids without inequalities, built on first use: for each cell and value, the
        bitset of the empty grid's solutions that hold it (``None`` for the others)."""
        n = self.n
        if self._table is None and n * n <= _TABLE_CELLS and not self.ordered:
            every = self.solve([0] * (n * n), limit=10**6)
            table = [[0] * (n + 1) for _ in range(n * n)]
            for k, grid in enumerate(every):
                for i, v in enumerate(grid):
                    table[i][v] |= 1 << k
            self._every, self._table = (1 << len(every)) - 1, table
        return self._table

    def _masks(self, grid: list[int]) -> tuple[list[int], list[int], list[int]] | None:
        rows, cols, boxes = [0] * self.n, [0] * self.n, [0] * self.n
        for i, v in enumerate(grid):
            if v:
                bit = 1 << v
                r, c, b = self.row[i], self.col[i], self.box[i]
                if rows[r] & bit or cols[c] & bit or (self.has_box and boxes[b] & bit):
                    return None
                rows[r] |= bit
                cols[c] |= bit
                boxes[b] |= bit
        return rows, cols, boxes

    def _bounds(self, grid: list[int], i: int, m: int) -> int:
        """``m`` less the values that the inequalities around cell ``i`` rule out."""
        for j in self.smaller[i]:  # grid[j] < grid[i]
            m &= ~((2 << grid[j]) - 1) if grid[j] else ~3
        for j in self.larger[i]:  # grid[i] < grid[j]
            m &= ((1 << grid[j]) - 1) if grid[j] else ~(1 << self.n)
        return m

    def solve(
        self,
        grid: list[int],
        limit: int = 2,
        rng: np.random.Generator | None = None,
        forbid: tuple[int, int] | None = None,
    ) -> list[list[int]]:
        """Up to ``limit`` solutions of ``grid`` (random value order with ``rng``); with
        ``forbid=(cell, value)`` only solutions where that cell holds another value."""
        grid = list(grid)
        masks = self._masks(grid)
        if masks is None or any(grid[i] and not self._ordered_ok(grid, i) for i in self.ordered):
            return []
        rows, cols, boxes = masks
        row, col, box, full, has_box = self.row, self.col, self.box, self.full, self.has_box
        ordered = bool(self.ordered)
        empty = [i for i, v in enumerate(grid) if not v]
        found: list[list[int]] = []
        draw: SmallDraws | None = small_draws(rng) if rng is not None else None  # rng.permutation, exactly

        units = self.units
        # small grids keep what each node decides (grid -> cell and values to try), so a search that
        # goes the same way again only draws its value orders
        memo = self._memo if forbid is None and self._memo is not None else None

        def node() -> tuple[int, list[int]]:
            """The cell to fill next and its candidate values; ``(-1, [])`` for a solution,
            ``(-2, [])`` for a dead end."""
            best, best_mask, best_n = -1, 0, 99
            cands = {}
            for i in empty:
                if grid[i]:
                    continue
                used = rows[row[i]] | cols[col[i]]
                if has_box:
                    used |= boxes[box[i]]
                m = full & ~used
                if ordered:
                    m = self._bounds(grid, i, m)
                if forbid is not None and i == forbid[0]:
                    m &= ~(1 << forbid[1])
                cands[i] = m
                k = m.bit_count()
                if k < best_n:
                    best, best_mask, best_n = i, m, k
                    if k <= 1:
                        break
            if best_n >= 2:  # no naked single: look for a value with one place left in a unit
                masks = (rows, cols, boxes)
                for kind, index, cells in units:
                    seen1 = seen2 = 0
                    for i in cells:
                        m = cands.get(i, 0)
                        seen2 |= seen1 & m
                        seen1 |= m
                    missing = full & ~masks[kind][index]
                    if seen1 & missing != missing:
                        return _DEAD  # a value has no place left in this unit
                    once = seen1 & ~seen2 & missing
                    if once:
                        bit = once & -once
                        best = next(i for i in cells if cands.get(i, 0) & bit)
                        best_mask, best_n = bit, 1
                        break
            if best < 0:
                return _SOLVED
            if best_n == 0:
                return _DEAD
            return best, [v for v in range(1, self.n + 1) if best_mask >> v & 1]

        def search() -> None:
            if memo is None:
                best, values = node()
            else:
                key = tuple(grid)
                hit = memo.get(key)
                if hit is None:
                    hit = node()
                    if len(memo) < _MEMO_NODES:
                        memo[key] = hit
                best, values = hit
            if best < 0:
                if best == -1:
                    found.append(list(grid))
                return
            if draw is not None:
                values = [values[k] for k in draw.permutation(len(values))]
            r, c, b = row[best], col[best], box[best]
            for v in values:
                bit = 1 << v
                grid[best] = v
                rows[r] |= bit
                cols[c] |= bit
                boxes[b] |= bit
                search()
                rows[r] &= ~bit
                cols[c] &= ~bit
                boxes[b] &= ~bit
                grid[best] = 0
                if len(found) >= limit:
                    return

        if draw is None:
            search()
            return found
        try:
            search()
        finally:
            draw.close()
        return found

    def _ordered_ok(self, grid: list[int], i: int) -> bool:
        return all(not grid[j] or grid[j] < grid[i] for j in self.smaller[i]) and all(
            not grid[j] or grid[i] < grid[j] for j in self.larger[i]
        )

    def is_solution(self, grid: list[int]) -> bool:
        """Whether ``grid`` is completely filled and breaks no rule."""
        return (
            len(grid) == self.n * self.n
            and all(isinstance(v, int) and 1 <= v <= self.n for v in grid)
            and self._masks(grid) is not None
            and all(self._ordered_ok(grid, i) for i in self.ordered)
        )

    def has_solution(self, grid: list[int], forbid: tuple[int, int] | None = None) -> bool:
        """Whether ``grid`` has a solution (with ``forbid=(cell, value)``: one where that cell holds
        another value); ``bool(self.solve(grid, limit=1, forbid=forbid))``, from the table of every
        solution when the grid is small."""
        table = self._solution_table()
        if table is None or len(grid) != len(table) or min(grid) < 0 or max(grid) > self.n:
            return bool(self.solve(grid, limit=1, forbid=forbid))
        alive = self._every
        for i, v in enumerate(grid):
            if v:
                alive &= table[i][v]
        if forbid is not None:
            alive &= ~table[forbid[0]][forbid[1]]
        return alive != 0

    def reduce(self, solution: list[int], rng: np.random.Generator, keep: int) -> list[int]:
        """Empty cells of ``solution`` in random order while the puzzle keeps a unique solution,
        down to ``keep`` givens (or as few as uniqueness allows)."""
        puzzle = list(solution)
        filled = len(puzzle)
        for i in map(int, rng.permutation(len(puzzle))):
            if filled <= keep:
                break
            v, puzzle[i] = puzzle[i], 0
            if self.has_solution(puzzle, forbid=(i, v)):
                puzzle[i] = v  # another value fits there too: the clue is needed
            else:
                filled -= 1
        return puzzle


@lru_cache(maxsize=16)
def sudoku_solver(n: int, box: tuple[int, int]) -> LatinSolver:
    """The (stateless, shared) solver of ``n`` x ``n`` Sudoku with ``box``-shaped boxes."""
    return LatinSolver(n, box)
