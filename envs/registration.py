"""Every toolgym env, registered with gymnasium as ``toolgym/<Name>-v0``.

One line per env. The entry point is a string, so nothing heavy is imported until ``gym.make``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

NAMESPACE = "toolgym"


@dataclass(frozen=True)
class EnvEntry:
    """A registered env: its name, where its class lives and a one-line description."""

    name: str
    entry_point: str
    description: str
    family: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def env_id(self) -> str:
        return f"{NAMESPACE}/{self.name}-v0"


ENVS: tuple[EnvEntry, ...] = (
    # puzzles
    EnvEntry(
        "Countdown",
        "envs.puzzles.countdown:CountdownEnv",
        "reach a target number with + - * / (TinyZero)",
        family="puzzles",
    ),
    EnvEntry(
        "KnightsKnaves",
        "envs.puzzles.knights_knaves:KnightsKnavesEnv",
        "who is a knight, who is a knave (Logic-RL)",
        family="puzzles",
    ),
    EnvEntry(
        "Sudoku",
        "envs.puzzles.sudoku:SudokuEnv",
        "fill a 4x4, 6x6 or 9x9 Sudoku with a unique solution",
        family="puzzles",
    ),
    EnvEntry(
        "Zebra",
        "envs.puzzles.zebra:ZebraEnv",
        "Einstein puzzle: houses x attributes from clues, unique solution",
        family="puzzles",
    ),
    EnvEntry(
        "Maze", "envs.puzzles.maze:MazeEnv", "shortest path from S to G through a maze", family="puzzles"
    ),
    EnvEntry("NQueens", "envs.puzzles.n_queens:NQueensEnv", "complete an N-Queens board", family="puzzles"),
    EnvEntry(
        "GraphColoring",
        "envs.puzzles.graph_coloring:GraphColoringEnv",
        "color a graph's vertices with k colors",
        family="puzzles",
    ),
    EnvEntry(
        "Cryptarithm",
        "envs.puzzles.cryptarithm:CryptarithmEnv",
        "letters to digits in an addition, unique solution",
        family="puzzles",
    ),
    EnvEntry(
        "Game24", "envs.puzzles.game24:Game24Env", "make 24 from four numbers with + - * /", family="puzzles"
    ),
    EnvEntry(
        "Futoshiki",
        "envs.puzzles.futoshiki:FutoshikiEnv",
        "Latin square with inequalities, unique solution",
        family="puzzles",
    ),
    EnvEntry(
        "Mastermind",
        "envs.puzzles.mastermind:MastermindEnv",
        "interactive: guess the hidden code from peg feedback",
        family="puzzles",
    ),
    EnvEntry(
        "Sokoban",
        "envs.puzzles.sokoban:SokobanEnv",
        "interactive: push every box onto a target (RAGEN style)",
        family="puzzles",
    ),
    EnvEntry(
        "FrozenLake",
        "envs.puzzles.frozen_lake:FrozenLakeEnv",
        "interactive: cross the ice to the goal without a fall",
        family="puzzles",
    ),
    EnvEntry(
        "Wordle",
        "envs.puzzles.wordle:WordleEnv",
        "interactive: find the hidden five-letter word",
        family="puzzles",
    ),
    # code
    EnvEntry(
        "PythonTool",
        "envs.code.python_tool:PythonToolEnv",
        "math with a sandboxed python tool (START, ToRA)",
        family="code",
    ),
    EnvEntry(
        "HumanEval",
        "envs.code.humaneval:HumanEvalEnv",
        "HumanEval's 164 problems, hidden tests, reward = asserts passed",
        family="code",
    ),
    EnvEntry(
        "CodeTask",
        "envs.code.code_task:CodeTaskEnv",
        "your code tasks (JSONL/parquet): assert or stdin/stdout tests",
        family="code",
    ),
    # search
    EnvEntry(
        "SearchQA",
        "envs.search.search_qa:SearchQAEnv",
        "multi-hop QA with a search tool over a BM25 index (Search-R1)",
        family="search",
    ),
    EnvEntry(
        "QueryRewrite",
        "envs.search.query_rewrite:QueryRewriteEnv",
        "write the query; reward is recall@k of the gold passages (DeepRetrieval)",
        family="search",
    ),
)


def register_envs() -> None:
    """Register every env in ``ENVS`` with gymnasium (idempotent)."""
    for entry in ENVS:
        if entry.env_id not in gym.registry:
            gym.register(id=entry.env_id, entry_point=entry.entry_point, kwargs=dict(entry.kwargs))


def env_entry(env_id: str) -> EnvEntry:
    """The entry of a registered env id, with a clear error for an unknown one."""
    for entry in ENVS:
        if entry.env_id == env_id:
            return entry
    known = ", ".join(e.env_id for e in ENVS)
    raise KeyError(f"unknown env {env_id!r}; registered envs: {known}")
