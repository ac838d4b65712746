"""Demonstrations: each task's reference solution played through its env, with real tool calls and
their real results, and tokenized by the rollout engine exactly as GRPO's rollouts are.

The env says what to play (``ToolEnv.demonstration()``, the model turns for its current task); the
engine plays those turns with ``ReplayBackend`` in place of a model, so a demonstration has the same
prompt ids, completion ids and env mask (0 on tool results) as an episode the model had played itself.
Only demonstrations that end with ``is_success`` are kept; the others are reported with the reason.

Task seeds (``demo_seeds``) start at 2**31: GRPO (``agents.train.build_dataset``) draws its task seeds
in [1_000_000, 2**31) and eval (``toolgym eval --seed``, ``toolgym train --eval-seed``) uses small ones,
below 1_000_000, so a procedural env never poses a demonstrated task to GRPO or eval by its seed. An env
with a fixed task list (HumanEval, CodeTask, a QA file) has only its own tasks: its demonstrations are
tasks eval also draws.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.backends.replay import ReplayBackend
from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine
from agents.trajectory import Trajectory

SFT_SEED_BASE = 2**31
SEEDS_PER_RUN = 1_000_000


def demo_seeds(n: int, seed: int = 0) -> list[int]:
    """The task seeds of ``n`` demonstrations of a run with ``seed``: ``2**31 + seed * 1_000_000 + i``."""
    if not 0 <= n <= SEEDS_PER_RUN:
        raise ValueError(f"n must be in [0, {SEEDS_PER_RUN}], got {n}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return [SFT_SEED_BASE + seed * SEEDS_PER_RUN + i for i in range(n)]


def demo_specs(
    env_ids: Sequence[str], n: int, seed: int = 0, env_kwargs: dict[str, Any] | None = None
) -> list[EpisodeSpec]:
    """``n`` demonstration episodes per env, on the seeds of ``demo_seeds``."""
    return [
        EpisodeSpec(env_id, seed=s, env_kwargs=dict(env_kwargs or {}))
        for env_id in env_ids
        for s in demo_seeds(n, seed)
    ]


@dataclass
class DemoReport:
    """The demonstrations that succeeded, the ones that did not (with why), and the envs whose tasks
    come from a fixed list (env id -> its number of tasks)."""

    kept: list[Trajectory] = field(default_factory=list)
    failed: list[tuple[EpisodeSpec, str]] = field(default_factory=list)
    fixed_lists: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per env: (kept, played)."""
        kept = Counter(t.env_id for t in self.kept)
        failed = Counter(spec.env_id for spec, _ in self.failed)
        return {e: (kept[e], kept[e] + failed[e]) for e in dict.fromkeys([*kept, *failed])}

    def lines(self) -> list[str]:
        """A line per env, then a line per distinct failure reason."""
        out = [f"demonstrations: {env_id}: {k}/{n} succeeded" for env_id, (k, n) in self.counts().items()]
        for (env_id, why), count in Counter((s.env_id, why) for s, why in self.failed).items():
            out.append(f"  {env_id}: {count} failed: {why}")
        for env_id, size in self.fixed_lists.items():
            out.append(
                f"  {env_id} has a fixed list of {size} tasks: its demonstrations are tasks eval draws too"
            )
        return out


def _key(spec: EpisodeSpec) -> tuple[Any, ...]:
    return (spec.env_id, spec.seed, spec.sample, spec.task_id, json.dumps(spec.env_kwargs, sort_keys=True))


def _make_env(spec: EpisodeSpec) -> Any:
    import gymnasium as gym

    import envs  # noqa: F401  (registers the toolgym envs)

    return gym.make(spec.env_id, **spec.env_kwargs)


def demonstration(spec: EpisodeSpec) -> tuple[list[str], int | None]:
    """The turns the env demonstrates for the task of ``spec``, and the size of its fixed task list
    (None for a procedural env)."""
    env = _make_env(spec)
    try:
        options = {"task_id": spec.task_id} if spec.task_id is not None else None
        env.reset(seed=spec.seed, options=options)
        ids = env.unwrapped.task_ids()
        return list(env.unwrapped.demonstration()), (None if ids is None else len(ids))
    finally:
        env.close()


def play_demonstrations(
    specs: Sequence[EpisodeSpec], tokenizer: Any, max_concurrency: int = 16
) -> DemoReport:
    """Play each spec's demonstration through its env with the rollout engine; keep the successes."""
    report = DemoReport()
    scripts: dict[tuple[Any, ...], list[str]] = {}
    playable = []
    for spec in specs:
        key = _key(spec)
        if key in scripts:
            raise ValueError(f"episode {key[:4]} is listed twice; give each demonstration its own seed")
        try:
            scripts[key], size = demonstration(spec)
        except Exception as exc:  # a task the env cannot pose or demonstrate: reported, not fatal
            scripts[key] = []
            report.failed.append((spec, f"no demonstration: {type(exc).__name__}: {exc}"))
            continue
        if size is not None:
            report.fixed_lists[spec.env_id] = size
        if not scripts[key]:
            report.failed.append((spec, "the task has no reference answer"))
            continue
        playable.append(spec)
    if not playable:
        return report
    config = RolloutConfig(
        max_turns=max(len(scripts[_key(s)]) for s in playable),
        max_concurrency=max_concurrency,
        max_total_tokens=10_000_000,
    )
    backend = ReplayBackend(tokenizer, lambda episode: scripts[_key(episode)])
    with RolloutEngine(backend, config, make_env=_make_env) as engine:
        trajectories = engine.run(playable)
    for spec, traj in zip(playable, trajectories, strict=True):
        why = _failure(traj)
        if why is None:
            report.kept.append(traj)
        else:
            report.failed.append((spec, why))
    return report


def _failure(traj: Trajectory) -> str | None:
    """Why a played demonstration is not kept, or None when it succeeded."""
    if traj.error:
        return f"error: {traj.error}"
    if traj.is_success:
        return None
    if not traj.terminated:
        return "the episode did not end within the demonstration"
    return "the env did not accept the demonstration"
