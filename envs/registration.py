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
    # code
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
