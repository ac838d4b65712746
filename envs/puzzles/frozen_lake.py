"""FrozenLake (RAGEN style): walk from S to G across the ice without falling into a hole. The lake is
redrawn until a path exists; any move list that reaches G without a fall is accepted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from envs.core import Config, Task, Tool, ToolArgumentError, Verdict, check_range, tool
from envs.puzzles.game import GameEnv
from envs.puzzles.maze import MOVES, parse_moves, shortest


@dataclass
class FrozenLakeConfig(Config):
    """``difficulty`` in [0, 1] sets the lake (4x4 to 8x8) and the share of holes (10% to 30%);
    ``size``, ``holes`` and ``max_moves`` (50) override it."""

    difficulty: float = 0.3
    size: int | None = None
    holes: float | None = None
    max_moves: int = 50

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.size is not None:
            check_range("size", self.size, 2, 16)
        if self.holes is not None:
            check_range("holes", self.holes, 0, 0.6)
        check_range("max_moves", self.max_moves, 1, 10_000)

    @property
    def n(self) -> int:
        return self.size or 4 + round(4 * self.difficulty)

    @property
    def hole_share(self) -> float:
        return self.holes if self.holes is not None else 0.1 + 0.2 * self.difficulty


def render(lake: list[str], player: tuple[int, int]) -> str:
    """The lake with the player as P (on the frozen squares F, holes H, start S, goal G)."""
    return "\n".join(
        "".join("P" if (r, c) == player else ch for c, ch in enumerate(row)) for r, row in enumerate(lake)
    )


def walk(n: int, player: tuple[int, int], move: str) -> tuple[int, int]:
    """Where ``move`` takes the player on an ``n`` x ``n`` lake (off the edge: nowhere)."""
    r, c = player[0] + MOVES[move][0], player[1] + MOVES[move][1]
    return (r, c) if 0 <= r < n and 0 <= c < n else player


class FrozenLakeEnv(GameEnv):
    """FrozenLake; moves in, lake out; reward 1 for reaching G, 0 for a fall."""

    family = "frozen_lake"
    config_cls = FrozenLakeConfig
    config: FrozenLakeConfig
    episode_defaults: ClassVar[dict[str, Any]] = {"max_turns": 20}

    def answer_shape(self) -> str:
        return "the whole move list, such as down down right"

    def instructions(self) -> str:
        return (
            "You play FrozenLake: walk from S to the goal G over frozen squares F without stepping into a "
            f"hole H; P shows where you are. Move with the move tool: {self.show_call('move', moves='right')}"
            f", or several moves at once, e.g. {self.show_call('move', moves='down down right')} (U/D/L/R "
            "work too). Walking off the edge leaves you in place. You may instead "
            f"{self.protocol.how_to_answer(self.answer_shape())}."
        )

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        n = self.config.n
        while True:
            cells = [
                ["H" if rng.random() < self.config.hole_share else "F" for _ in range(n)] for _ in range(n)
            ]
            i, j = rng.choice(n * n, size=2, replace=False)
            start, goal = (int(i) // n, int(i) % n), (int(j) // n, int(j) % n)
            cells[start[0]][start[1]], cells[goal[0]][goal[1]] = "S", "G"
            lake = ["".join(row) for row in cells]
            padded = ["#" * (n + 2)] + ["#" + row.replace("H", "#") + "#" for row in lake] + ["#" * (n + 2)]
            path = shortest(padded, (start[0] + 1, start[1] + 1), (goal[0] + 1, goal[1] + 1))
            if path and len(path) >= n // 2:
                break
        prompt = "Walk from S to G without falling into a hole:\n" + render(lake, start)
        return prompt, " ".join(path), {"lake": lake, "start": list(start), "goal": list(goal)}

    def new_state(self, task: Task) -> dict[str, Any]:
        return {"player": tuple(task.metadata["start"]), "moves": 0}

    @tool
    def move(self, moves: str) -> str:
        """Move one or more squares: up, down, left, right (or U, D, L, R), separated by spaces.

        Args:
            moves: The moves, in order, e.g. "down down right".
        """
        if refused := self.refuse():
            return refused
        steps = parse_moves(moves)
        if not steps:
            raise ToolArgumentError("not a move: use up, down, left, right (or U, D, L, R); nothing moved")
        lake = self.task.metadata["lake"]
        for m in steps:
            self.state["player"] = p = walk(len(lake), self.state["player"], m)
            self.state["moves"] += 1
            if lake[p[0]][p[1]] == "H":
                self.end(False, "fell into a hole")
                return render(lake, p) + "\nYou fell into a hole. You lose."
            if lake[p[0]][p[1]] == "G":
                self.end(True, f"reached the goal in {self.state['moves']} moves")
                return render(lake, p) + "\nYou reached the goal. You win!"
            if self.state["moves"] >= self.config.max_moves:
                self.end(False, "out of moves")
                return render(lake, p) + "\nOut of moves. You lose."
        return render(lake, self.state["player"])

    def tools(self) -> list[Tool]:
        return [self.move]

    def demonstration(self) -> list[str]:
        """The reference path walked with the ``move`` tool, a straight run per call."""
        return self._move_demonstration()

    def verify(self, task: Task, answer: str) -> Verdict:
        steps = parse_moves(answer)
        if steps is None:
            return Verdict.wrong("write the moves as U/D/L/R or up/down/left/right")
        lake, p = task.metadata["lake"], tuple(task.metadata["start"])
        for m in steps:
            p = walk(len(lake), p, m)
            if lake[p[0]][p[1]] == "H":
                return Verdict.wrong("the walk falls into a hole")
            if lake[p[0]][p[1]] == "G":
                return Verdict.right()
        return Verdict.wrong("the walk does not reach G")
