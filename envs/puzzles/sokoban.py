"""Sokoban (RAGEN style): push every box onto a target. Levels are made by playing backwards from the
solved state (pulling boxes), so each one is solvable; any move list that solves it is accepted."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from envs.core import Config, Task, Tool, ToolArgumentError, Verdict, check_range, tool
from envs.puzzles.game import GameEnv
from envs.puzzles.maze import MOVES, parse_moves

Pos = tuple[int, int]


@dataclass
class SokobanConfig(Config):
    """``difficulty`` in [0, 1] sets the room (5x5 to 8x8 inside the walls), the boxes (1 to 3) and
    how far they are pulled from their targets; ``size``, ``boxes``, ``pulls`` and ``max_moves`` (100)
    override it."""

    difficulty: float = 0.3
    size: int | None = None
    boxes: int | None = None
    pulls: int | None = None
    max_moves: int = 100

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.size is not None:
            check_range("size", self.size, 3, 12)
        if self.boxes is not None:
            check_range("boxes", self.boxes, 1, 5)
        if self.pulls is not None:
            check_range("pulls", self.pulls, 1, 200)
        check_range("max_moves", self.max_moves, 1, 10_000)

    @property
    def room(self) -> int:
        return self.size or 5 + round(3 * self.difficulty)

    @property
    def n_boxes(self) -> int:
        return self.boxes or 1 + round(2 * self.difficulty)

    @property
    def n_pulls(self) -> int:
        return self.pulls or 3 + round(12 * self.difficulty)


def render(walls: list[str], targets: set[Pos], boxes: set[Pos], player: Pos) -> str:
    """The board: # wall, _ floor, O target, X box, V box on a target, P player (S on a target)."""
    rows = []
    for r, line in enumerate(walls):
        row = []
        for c, ch in enumerate(line):
            p = (r, c)
            if ch == "#":
                row.append("#")
            elif p == player:
                row.append("S" if p in targets else "P")
            elif p in boxes:
                row.append("V" if p in targets else "X")
            else:
                row.append("O" if p in targets else "_")
        rows.append("".join(row))
    return "\n".join(rows)


def step(walls: list[str], boxes: set[Pos], player: Pos, move: str) -> tuple[Pos, bool]:
    """Apply ``move`` in place on ``boxes``: the new player position and whether anything moved."""
    dr, dc = MOVES[move]
    nxt = (player[0] + dr, player[1] + dc)
    if walls[nxt[0]][nxt[1]] == "#":
        return player, False
    if nxt in boxes:
        beyond = (nxt[0] + dr, nxt[1] + dc)
        if walls[beyond[0]][beyond[1]] == "#" or beyond in boxes:
            return player, False
        boxes.remove(nxt)
        boxes.add(beyond)
    return nxt, True


def _walk(walls: list[str], boxes: set[Pos], start: Pos, goal: Pos) -> str | None:
    """A shortest walk (no pushing) from ``start`` to ``goal``."""
    prev: dict[Pos, tuple[Pos, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        p = queue.popleft()
        if p == goal:
            path = []
            while prev[p] is not None:
                p, m = prev[p]
                path.append(m)
            return "".join(reversed(path))
        for m, (dr, dc) in MOVES.items():
            q = (p[0] + dr, p[1] + dc)
            if q not in prev and walls[q[0]][q[1]] != "#" and q not in boxes:
                prev[q] = (p, m)
                queue.append(q)
    return None


_OPPOSITE = {"U": "D", "D": "U", "L": "R", "R": "L"}


class SokobanEnv(GameEnv):
    """Sokoban; moves in, board out; reward 1 when every box is on a target."""

    family = "sokoban"
    config_cls = SokobanConfig
    config: SokobanConfig
    episode_defaults: ClassVar[dict[str, Any]] = {"max_turns": 30}

    def answer_shape(self) -> str:
        return "the whole move list, such as up left left"

    def instructions(self) -> str:
        return (
            "You play Sokoban. Board: # wall, _ floor, O target, X box, V box on a target, P you (S: you on "
            f"a target). Move with the move tool: {self.show_call('move', moves='up')}, or several moves "
            f"at once, e.g. {self.show_call('move', moves='up left left')} (U/D/L/R work too). Walking "
            "into a box pushes it if the square behind it is free; boxes cannot be pulled. Put every box "
            f"on a target to win. You may instead {self.protocol.how_to_answer(self.answer_shape())}."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        cfg = self.config
        n = cfg.room
        for _ in range(1000):
            grid = [["#"] * (n + 2)] + [["#"] + ["_"] * n + ["#"] for _ in range(n)] + [["#"] * (n + 2)]
            for k in rng.choice(n * n, size=int(rng.integers(0, n)), replace=False):
                grid[int(k) // n + 1][int(k) % n + 1] = "#"
            walls = ["".join(row) for row in grid]
            floor = [(r, c) for r in range(n + 2) for c in range(n + 2) if walls[r][c] != "#"]
            if len(floor) < cfg.n_boxes + 3:
                continue
            picks = rng.choice(len(floor), size=cfg.n_boxes + 1, replace=False)
            targets = {floor[int(k)] for k in picks[:-1]}
            player = floor[int(picks[-1])]
            boxes, solution_back, pulls = set(targets), [], 0
            for _ in range(40 * cfg.n_pulls):
                if pulls >= cfg.n_pulls:
                    break
                m = "UDLR"[int(rng.integers(4))]
                dr, dc = MOVES[m]
                to = (player[0] + dr, player[1] + dc)
                if walls[to[0]][to[1]] == "#" or to in boxes:
                    continue
                behind = (player[0] - dr, player[1] - dc)
                if behind in boxes and rng.random() < 0.7:  # pull the box behind along
                    boxes.remove(behind)
                    boxes.add(player)
                    pulls += 1
                    solution_back.append((_OPPOSITE[m], to))  # forward: stand on `to`, push back
                player = to
            if boxes == targets:
                continue
            answer = self._compress(walls, set(boxes), player, list(reversed(solution_back)))
            meta = {
                "walls": walls,
                "targets": sorted(map(list, targets)),
                "boxes": sorted(map(list, boxes)),
                "player": list(player),
            }
            board = render(walls, targets, boxes, player)
            return f"Push every box onto a target:\n{board}", " ".join(answer), meta
        raise RuntimeError("could not make a Sokoban level; use a larger room or fewer boxes")

    @staticmethod
    def _compress(walls: list[str], boxes: set[Pos], player: Pos, pushes: list[tuple[str, Pos]]) -> str:
        """The forward solution: a shortest walk to where each push starts, then the push."""
        out = []
        for m, stand in pushes:
            out.append(_walk(walls, boxes, player, stand))
            player, _ = step(walls, boxes, stand, m)
            out.append(m)
        return "".join(out)

    def new_state(self, task: Task) -> dict[str, Any]:
        meta = task.metadata
        return {"boxes": {tuple(b) for b in meta["boxes"]}, "player": tuple(meta["player"]), "moves": 0}

    @tool
    def move(self, moves: str) -> str:
        """Move one or more squares: up, down, left, right (or U, D, L, R), separated by spaces.

        Args:
            moves: The moves, in order, e.g. "up left left".
        """
        if refused := self.refuse():
            return refused
        steps = parse_moves(moves)
        if not steps:
            raise ToolArgumentError("not a move: use up, down, left, right (or U, D, L, R); nothing moved")
        meta, st = self.task.metadata, self.state
        targets = {tuple(t) for t in meta["targets"]}
        blocked = 0
        for m in steps:
            st["player"], moved = step(meta["walls"], st["boxes"], st["player"], m)
            st["moves"] += 1
            blocked += not moved
            on = len(st["boxes"] & targets)
            if st["boxes"] == targets:
                self.end(True, f"solved in {st['moves']} moves", boxes_on_target=1.0)
                return (
                    render(meta["walls"], targets, st["boxes"], st["player"])
                    + "\nAll boxes are on targets. You win!"
                )
            if st["moves"] >= self.config.max_moves:
                self.end(False, "out of moves", boxes_on_target=on / len(targets))
                return render(meta["walls"], targets, st["boxes"], st["player"]) + "\nOut of moves. You lose."
        note = f"\n({blocked} move(s) blocked)" if blocked else ""
        on = len(st["boxes"] & targets)
        return (
            render(meta["walls"], targets, st["boxes"], st["player"])
            + f"\n{on}/{len(targets)} boxes on targets{note}"
        )

    def tools(self) -> list[Tool]:
        return [self.move]

    def demonstration(self) -> list[str]:
        """The reference solution played with the ``move`` tool, a straight run per call."""
        return self._move_demonstration()

    def verify(self, task: Task, answer: str) -> Verdict:
        meta = task.metadata
        steps = parse_moves(answer)
        if steps is None:
            return Verdict.wrong("write the moves as U/D/L/R or up/down/left/right", boxes_on_target=0.0)
        targets = {tuple(t) for t in meta["targets"]}
        boxes, player = {tuple(b) for b in meta["boxes"]}, tuple(meta["player"])
        for m in steps:
            player, _ = step(meta["walls"], boxes, player, m)
        share = len(boxes & targets) / len(targets)
        if boxes == targets:
            return Verdict.right(boxes_on_target=1.0)
        return Verdict.wrong(
            f"{len(boxes & targets)} of {len(targets)} boxes end on targets", boxes_on_target=share
        )
