"""``Curriculum``: a wrapper that raises or lowers an env's ``difficulty`` from its online success rate.

After every finished episode the outcome joins a sliding window; once the window holds ``window``
outcomes at the current level, a success rate at or above ``raise_at`` moves the difficulty up by
``step`` and one at or below ``lower_at`` moves it down (the window is then cleared). Episodes that
end in an infrastructure error (``is_success`` is ``None``) are not counted. The state is a plain dict
(``state_dict`` / ``load_state_dict``) and a JSON file (``save`` / ``load``).
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from envs.core import Config, check_range


@dataclass
class CurriculumConfig(Config):
    """When and how far the difficulty moves, and its bounds."""

    start: float | None = None
    step: float = 0.1
    window: int = 20
    raise_at: float = 0.8
    lower_at: float = 0.3
    min_difficulty: float = 0.0
    max_difficulty: float = 1.0

    def validate(self) -> None:
        check_range("step", self.step, 1e-6, 1)
        check_range("window", self.window, 1, 100_000)
        check_range("raise_at", self.raise_at, 0, 1)
        check_range("lower_at", self.lower_at, 0, self.raise_at)
        check_range("min_difficulty", self.min_difficulty, 0, 1)
        check_range("max_difficulty", self.max_difficulty, self.min_difficulty, 1)
        if self.start is not None:
            check_range("start", self.start, self.min_difficulty, self.max_difficulty)


class Curriculum(gym.Wrapper):
    """Adapts ``env.unwrapped.config.difficulty``; the new level applies from the next ``reset``."""

    def __init__(self, env: gym.Env, **kwargs: Any):
        super().__init__(env)
        config = getattr(env.unwrapped, "config", None)
        if not dataclasses.is_dataclass(config) or "difficulty" not in {
            f.name for f in dataclasses.fields(config)
        }:
            raise ValueError(f"{type(env.unwrapped).__name__} has no difficulty to adapt")
        self.curriculum = CurriculumConfig(**kwargs)
        self.difficulty = float(config.difficulty if self.curriculum.start is None else self.curriculum.start)
        self.outcomes: deque[bool] = deque(maxlen=self.curriculum.window)
        self.episodes = 0
        self.changes: list[dict[str, float]] = []
        self._apply()

    @property
    def success_rate(self) -> float | None:
        """The success rate over the window at the current level (``None`` before any episode)."""
        return sum(self.outcomes) / len(self.outcomes) if self.outcomes else None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._apply()
        obs, info = self.env.reset(seed=seed, options=options)
        info["difficulty"] = self.difficulty
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if (terminated or truncated) and info.get("is_success") is not None:
            self.record(bool(info["is_success"]))
        info["difficulty"] = self.difficulty
        return obs, reward, terminated, truncated, info

    def record(self, success: bool) -> None:
        """Count one finished episode and move the difficulty when the window says so."""
        cfg = self.curriculum
        self.episodes += 1
        self.outcomes.append(success)
        if len(self.outcomes) < cfg.window:
            return
        rate = self.success_rate
        new = self.difficulty
        if rate >= cfg.raise_at:
            new = min(cfg.max_difficulty, self.difficulty + cfg.step)
        elif rate <= cfg.lower_at:
            new = max(cfg.min_difficulty, self.difficulty - cfg.step)
        if new != self.difficulty:
            self.changes.append({"episode": self.episodes, "from": self.difficulty, "to": new, "rate": rate})
            self.difficulty = round(new, 10)
            self.outcomes.clear()

    def _apply(self) -> None:
        unwrapped = self.env.unwrapped
        unwrapped.config = dataclasses.replace(unwrapped.config, difficulty=self.difficulty)

    # ---- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "config": dataclasses.asdict(self.curriculum),
            "difficulty": self.difficulty,
            "outcomes": list(self.outcomes),
            "episodes": self.episodes,
            "changes": list(self.changes),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.curriculum = CurriculumConfig(**state["config"])
        self.difficulty = float(state["difficulty"])
        self.outcomes = deque((bool(x) for x in state["outcomes"]), maxlen=self.curriculum.window)
        self.episodes = int(state["episodes"])
        self.changes = [dict(c) for c in state["changes"]]
        self._apply()

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.state_dict(), indent=2), encoding="utf-8")

    def load(self, path: str | Path) -> None:
        self.load_state_dict(json.loads(Path(path).read_text(encoding="utf-8")))
