"""Eval metrics over trajectories: mean reward, pass@k, maj@k, best-of-k by the verifier, turns, tool
calls and format errors. Episodes that failed on infrastructure are counted as errors, not scored."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

from agents.trajectory import Trajectory


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are correct (Chen et al., 2021)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def normalize_answer(answer: str) -> str:
    """The form answers are compared in for majority voting: lower case, single spaces."""
    return re.sub(r"\s+", " ", answer.strip().lower())


def majority_correct(group: list[Trajectory]) -> bool:
    """Whether the most common final answer among one task's samples is a correct one."""
    votes: Counter[str] = Counter()
    correct: dict[str, bool] = {}
    for t in group:
        if t.answer is None:
            continue
        key = normalize_answer(t.answer)
        votes[key] += 1
        correct[key] = correct.get(key, False) or bool(t.is_success)
    if not votes:
        return False
    top = max(votes.values())
    winners = sorted(a for a, v in votes.items() if v == top)  # ties: the first in sort order
    return correct[winners[0]]


@dataclass
class EvalSummary:
    """One env's (or all envs') figures."""

    env_id: str
    tasks: int
    episodes: int
    errors: int
    k: int
    mean_reward: float
    success_rate: float
    pass_at_1: float
    pass_at_k: float
    maj_at_k: float
    best_of_k_reward: float
    turns: float
    tool_calls: float
    format_error_rate: float

    def to_dict(self) -> dict:
        return asdict(self)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def summarize(trajectories: list[Trajectory], k: int, env_id: str = "all") -> EvalSummary:
    """Figures over trajectories grouped by (env, task): each group holds that task's samples."""
    ok = [t for t in trajectories if t.error is None]
    groups: dict[tuple[str, str, int | None], list[Trajectory]] = defaultdict(list)
    for t in ok:
        groups[(t.env_id, t.task_id, t.seed)].append(t)
    p1, pk, maj, best = [], [], [], []
    for group in groups.values():
        n, c = len(group), sum(bool(t.is_success) for t in group)
        p1.append(pass_at_k(n, c, 1))
        pk.append(pass_at_k(n, c, min(k, n)))
        maj.append(float(majority_correct(group)))
        best.append(max(t.reward for t in group))
    n_turns = sum(t.num_turns for t in ok)
    return EvalSummary(
        env_id=env_id,
        tasks=len(groups),
        episodes=len(trajectories),
        errors=len(trajectories) - len(ok),
        k=k,
        mean_reward=_mean([t.reward for t in ok]),
        success_rate=_mean([float(bool(t.is_success)) for t in ok]),
        pass_at_1=_mean(p1),
        pass_at_k=_mean(pk),
        maj_at_k=_mean(maj),
        best_of_k_reward=_mean(best),
        turns=_mean([float(t.num_turns) for t in ok]),
        tool_calls=_mean([float(t.num_tool_calls) for t in ok]),
        format_error_rate=sum(t.format_errors for t in ok) / n_turns if n_turns else float("nan"),
    )


def summarize_by_env(trajectories: list[Trajectory], k: int) -> list[EvalSummary]:
    """One summary per env, then one over all envs when there are several."""
    env_ids = sorted({t.env_id for t in trajectories})
    rows = [summarize([t for t in trajectories if t.env_id == e], k, e) for e in env_ids]
    if len(env_ids) > 1:
        rows.append(summarize(trajectories, k, "all"))
    return rows
