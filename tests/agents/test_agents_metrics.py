"""Eval metrics: pass@k, maj@k, best-of-k, errors kept out of the scores."""

from __future__ import annotations

import pytest

from agents.metrics import pass_at_k, summarize, summarize_by_env
from agents.trajectory import Trajectory, Turn


def _traj(task: str, success: bool | None, answer: str | None, reward: float, env: str = "e", error=None):
    t = Trajectory(env_id=env, task_id=task, seed=0, sample=0, messages=[], tools=[])
    t.is_success, t.answer, t.reward, t.error = success, answer, reward, error
    t.turns = [Turn("x", tool_calls=1, format_error=False), Turn("y", format_error=True)]
    return t


def test_pass_at_k_matches_the_unbiased_estimator():
    assert pass_at_k(4, 0, 2) == 0.0
    assert pass_at_k(4, 4, 1) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)
    with pytest.raises(ValueError, match="pass_at_k"):
        pass_at_k(2, 3, 1)


def test_majority_vote_best_of_k_and_errors():
    trajs = [
        _traj("a", False, "12", 0.0),
        _traj("a", False, " 12 ", 0.0),
        _traj("a", True, "7", 1.0),  # pass@3 yes, maj@3 no
        _traj("b", True, "X", 1.0),
        _traj("b", True, "x", 1.0),
        _traj("b", None, None, 0.0, error="InfraError: down"),  # not scored
    ]
    s = summarize(trajs, k=3)
    assert s.tasks == 2 and s.episodes == 6 and s.errors == 1
    assert s.pass_at_k == pytest.approx(1.0)
    assert s.maj_at_k == pytest.approx(0.5)
    assert s.best_of_k_reward == pytest.approx(1.0)
    assert s.mean_reward == pytest.approx(3 / 5)
    assert s.turns == pytest.approx(2.0) and s.tool_calls == pytest.approx(1.0)
    assert s.format_error_rate == pytest.approx(0.5)


def test_summaries_per_env_and_overall():
    rows = summarize_by_env(
        [_traj("a", True, "1", 1.0, env="e1"), _traj("a", False, "2", 0.0, env="e2")], k=1
    )
    assert [r.env_id for r in rows] == ["e1", "e2", "all"]
    assert [r.success_rate for r in rows] == [1.0, 0.0, 0.5]
