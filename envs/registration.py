"""Every toolgym env, registered with gymnasium as ``toolgym/<Name>-v0``.

One line per env. The entry point is a string, so nothing heavy is imported until ``gym.make``; nor is
gymnasium itself (and numpy under it): when it is not imported yet, the envs are registered the moment
it is, so listing the envs (``toolgym envs``) costs no numpy.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

NAMESPACE = "toolgym"
#: An env played over the OpenEnv protocol on an env server (``envs.server``).
REMOTE_ENV_ID = f"{NAMESPACE}/Remote-v0"


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


def _register_now() -> None:
    import gymnasium as gym

    for entry in ENVS:
        if entry.env_id not in gym.registry:
            gym.register(id=entry.env_id, entry_point=entry.entry_point, kwargs=dict(entry.kwargs))
    if REMOTE_ENV_ID not in gym.registry:  # not in ENVS: it plays the others, hosted by an env server
        gym.register(id=REMOTE_ENV_ID, entry_point="envs.server.client:RemoteEnv")


class _AfterImport(MetaPathFinder):
    """Runs ``callback`` right after the module ``name`` is first executed, then leaves ``sys.meta_path``.

    It finds the module through the other finders and wraps the loader's ``exec_module``; a
    ``find_spec`` that is not followed by an import leaves it in place.
    """

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name, self.callback = name, callback

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_callback(module: ModuleType) -> None:
            exec_module(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            self.callback()

        loader.exec_module = exec_then_callback  # type: ignore[method-assign]
        return spec


def register_envs() -> None:
    """Register every env in ``ENVS`` with gymnasium (idempotent): now if gymnasium is imported, else
    right after it is."""
    if "gymnasium" in sys.modules:
        _register_now()
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("gymnasium", _register_now))


def env_entry(env_id: str) -> EnvEntry:
    """The entry of a registered env id, with a clear error for an unknown one."""
    for entry in ENVS:
        if entry.env_id == env_id:
            return entry
    known = ", ".join(e.env_id for e in ENVS)
    raise KeyError(f"unknown env {env_id!r}; registered envs: {known}")
