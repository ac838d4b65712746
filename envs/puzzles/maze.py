"""Maze: find a shortest path from S to G. Any path of the shortest length (a breadth-first search
computes it) is accepted."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.core.seeding import small_draws
from envs.puzzles.base import PuzzleEnv

MOVES = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}
_WORDS = {"UP": "U", "DOWN": "D", "LEFT": "L", "RIGHT": "R", "U": "U", "D": "D", "L": "L", "R": "R"}


@dataclass
class MazeConfig(Config):
    """``difficulty`` in [0, 1] sets the maze size (3x3 to 10x10 rooms) and how few extra openings
    (loops) it has; ``size`` and ``loops`` (share of inner walls knocked down) override it."""

    difficulty: float = 0.3
    size: int | None = None
    loops: float | None = None

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.size is not None:
            check_range("size", self.size, 2, 20)
        if self.loops is not None:
            check_range("loops", self.loops, 0, 1)

    @property
    def rooms(self) -> int:
        return self.size or 3 + round(7 * self.difficulty)

    @property
    def openings(self) -> float:
        return self.loops if self.loops is not None else 0.15 * (1 - self.difficulty)


@lru_cache(maxsize=32)
def _layout(rooms: int) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...], tuple[int, ...]]:
    """The fixed parts of a ``rooms``-square maze on its flat (2*rooms+1)-square grid: each room's
    neighbouring rooms in the order of ``MOVES`` (U, D, L, R), each room's cell, and the inner wall
    cells (odd row + column sum) in reading order."""
    n = 2 * rooms + 1
    neighbours = []
    for r in range(rooms):
        for c in range(rooms):
            cells = [(r + dr, c + dc) for dr, dc in MOVES.values()]
            neighbours.append(tuple(a * rooms + b for a, b in cells if 0 <= a < rooms and 0 <= b < rooms))
    cells = tuple((2 * (k // rooms) + 1) * n + 2 * (k % rooms) + 1 for k in range(rooms * rooms))
    walls = tuple(r * n + c for r in range(1, n - 1) for c in range(1 + r % 2, n - 1, 2))
    return tuple(neighbours), cells, walls


_WALL, _FLOOR = ord("#"), ord(".")


def _carve_flat(rng: np.random.Generator, rooms: int, loops: float) -> bytearray:
    """``carve``'s grid as one flat row-major bytearray."""
    neighbours, cells, wall_slots = _layout(rooms)
    n = 2 * rooms + 1
    grid = bytearray(b"#" * (n * n))
    seen = bytearray(rooms * rooms)
    seen[0] = 1
    stack = [0]
    grid[cells[0]] = _FLOOR
    with small_draws(rng) as draw:  # rng.integers(len(nxt)), exactly
        while stack:
            room = stack[-1]
            nxt = [k for k in neighbours[room] if not seen[k]]
            if not nxt:
                stack.pop()
                continue
            k = nxt[draw.integers(len(nxt))] if len(nxt) > 1 else nxt[0]
            here, there = cells[room], cells[k]
            grid[there] = _FLOOR
            grid[(here + there) >> 1] = _FLOOR  # the wall between two rooms is their midpoint
            seen[k] = 1
            stack.append(k)
    walls = [i for i in wall_slots if grid[i] == _WALL]
    for k in rng.permutation(len(walls))[: round(loops * len(walls))].tolist():
        grid[walls[k]] = _FLOOR
    return grid


def carve(rng: np.random.Generator, rooms: int, loops: float) -> list[list[str]]:
    """A (2*rooms+1)-square grid of '#' and '.': a random spanning tree of rooms, then a share
    ``loops`` of the remaining inner walls knocked down."""
    n = 2 * rooms + 1
    text = _carve_flat(rng, rooms, loops).decode()
    return [list(text[r * n : (r + 1) * n]) for r in range(n)]


def shortest(grid: list[str], start: tuple[int, int], goal: tuple[int, int]) -> str | None:
    """A shortest path from ``start`` to ``goal`` as a string of U/D/L/R, or ``None``."""
    prev: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            path = []
            while prev[cell] is not None:
                cell, move = prev[cell]
                path.append(move)
            return "".join(reversed(path))
        for move, (dr, dc) in MOVES.items():
            nxt = (cell[0] + dr, cell[1] + dc)
            if nxt not in prev and grid[nxt[0]][nxt[1]] != "#":
                prev[nxt] = (cell, move)
                queue.append(nxt)
    return None


def _shortest_walled(grid: bytes | str, n: int, start: int, goal: int) -> str | None:
    """``shortest`` on a walled ``n``-wide grid given flat, cells as flat indices: the same
    breadth-first search (neighbours in the order of ``MOVES``), hence the same path."""
    wall = _WALL if isinstance(grid, bytes | bytearray) else "#"
    up, down = -n, n
    came: list[int] = [-1] * len(grid)  # the cell each was reached from; -1: not reached
    came[start] = start
    queue = [start]
    for cell in queue:  # the list grows while it is read: a queue
        if cell == goal:
            names = {up: "U", down: "D", -1: "L", 1: "R"}
            path = []
            while cell != start:
                path.append(names[cell - came[cell]])
                cell = came[cell]
            return "".join(reversed(path))
        for nxt in (cell + up, cell + down, cell - 1, cell + 1):
            if came[nxt] < 0 and grid[nxt] != wall:
                came[nxt] = cell
                queue.append(nxt)
    return None


_WORD = re.compile(r"[A-Za-z]+")
_LETTERS = re.compile(r"[UDLRudlr]+")


def parse_moves(text: str) -> list[str] | None:
    """Moves written as U/D/L/R letters or up/down/left/right words; ``None`` if anything else."""
    words = _WORD.findall(text)
    if len(words) == 1 and _LETTERS.fullmatch(words[0]):
        return list(words[0].upper())
    moves = [_WORDS.get(w.upper()) for w in words]
    return None if None in moves else moves


class MazeEnv(PuzzleEnv):
    """Maze; reward 1 for a legal path from S to G of the shortest length."""

    family = "maze"
    config_cls = MazeConfig
    config: MazeConfig

    def answer_shape(self) -> str:
        return "a shortest path from S to G as U/D/L/R moves separated by spaces"

    def instructions(self) -> str:
        return (
            "You solve mazes: '#' is a wall, '.' open floor, S the start and G the goal. Moves are U (up), "
            "D (down), L (left) and R (right), one square each. Give a shortest path from S to G as the "
            f"final answer, for example {self.show_answer('R R D D L')}."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        rooms = self.config.rooms
        n = 2 * rooms + 1
        flat = _carve_flat(rng, rooms, self.config.openings)
        cells = _layout(rooms)[1]
        with small_draws(rng) as draw:  # rng.choice(len(cells), size=2, replace=False), exactly
            while True:
                i, j = draw.pair(len(cells))
                path = _shortest_walled(flat, n, cells[i], cells[j])
                if path and len(path) >= n // 2:
                    break
        start, goal = divmod(cells[i], n), divmod(cells[j], n)
        flat[cells[i]], flat[cells[j]] = ord("S"), ord("G")
        text = flat.decode()
        rows = [text[r * n : (r + 1) * n] for r in range(n)]
        prompt = "Find a shortest path from S to G in this maze:\n" + "\n".join(rows)
        meta = {"grid": rows, "start": list(start), "goal": list(goal), "length": len(path)}
        return prompt, " ".join(path), meta

    def verify(self, task: Task, answer: str) -> Verdict:
        meta = task.metadata
        moves = parse_moves(answer)
        if moves is None:
            return Verdict.wrong("write the path as U/D/L/R moves only", valid=0.0)
        r, c = meta["start"]
        for k, move in enumerate(moves):
            r, c = r + MOVES[move][0], c + MOVES[move][1]
            if meta["grid"][r][c] == "#":
                return Verdict.wrong(f"move {k + 1} ({move}) walks into a wall", valid=0.0)
        if [r, c] != meta["goal"]:
            return Verdict.wrong("the path does not end on G", valid=0.0)
        if len(moves) != meta["length"]:
            return Verdict.wrong(
                f"the path reaches G in {len(moves)} moves; the shortest takes {meta['length']}", valid=1.0
            )
        return Verdict.right(valid=1.0)
