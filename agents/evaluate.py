"""Evaluation: ``n`` tasks per env (from seeds), ``k`` samples per task, metrics and trajectories."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.backends import Backend
from agents.env_pool import EnvPool
from agents.env_runner import EnvHost
from agents.metrics import EvalSummary, summarize_by_env
from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine
from agents.trajectory import Trajectory, save_jsonl


@dataclass(frozen=True)
class EvalConfig:
    """Which tasks to run: ``n`` per env from seeds ``seed .. seed+n-1``, ``k`` samples of each."""

    env_ids: tuple[str, ...]
    n: int = 10
    k: int = 1
    seed: int = 0
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    batch_episodes: int = 256

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Fail with a message naming the bad field."""
        if not self.env_ids:
            raise ValueError("env_ids: give at least one env id")
        if not 1 <= self.n <= 10_000_000:
            raise ValueError(f"n must be in [1, 10000000], got {self.n}")
        if not 1 <= self.k <= 10_000:
            raise ValueError(f"k must be in [1, 10000], got {self.k}")
        if not 1 <= self.batch_episodes <= 1_000_000:
            raise ValueError(f"batch_episodes must be in [1, 1000000], got {self.batch_episodes}")

    def specs(self) -> list[EpisodeSpec]:
        """Every episode: each env, each task seed, each sample."""
        return [
            EpisodeSpec(env_id, seed=self.seed + i, sample=j, env_kwargs=dict(self.env_kwargs))
            for env_id in self.env_ids
            for i in range(self.n)
            for j in range(self.k)
        ]


@dataclass
class EvalResult:
    trajectories: list[Trajectory]
    summaries: list[EvalSummary]


def evaluate(
    backend: Backend,
    cfg: EvalConfig,
    out_path: str | Path | None = None,
    on_episode_end: Callable[[Trajectory], None] | None = None,
    env_pool: EnvPool | EnvHost | None = None,
) -> EvalResult:
    """Run the eval in chunks of ``batch_episodes``; append each chunk's trajectories to ``out_path``.
    The envs come from ``env_pool`` when given (kept open), else from the engine's own (by
    ``cfg.rollout``: here, or on Ray actors with ``ray_address``)."""
    specs = cfg.specs()
    trajectories: list[Trajectory] = []
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_text("")
    with RolloutEngine(backend, cfg.rollout, env_pool=env_pool) as engine:
        for start in range(0, len(specs), cfg.batch_episodes):
            chunk = engine.run(specs[start : start + cfg.batch_episodes], on_episode_end=on_episode_end)
            if out_path is not None:
                save_jsonl(chunk, out_path, append=True)
            trajectories.extend(chunk)
    return EvalResult(trajectories, summarize_by_env(trajectories, cfg.k))
