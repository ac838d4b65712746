"""Token-in/token-out trajectories of multi-turn episodes, and their JSONL files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Turn:
    """One model turn and what the env answered.

    ``completion_ids`` are the turn's tokens (``completion_logprobs`` their logprobs where the backend gives
    them); ``forced`` marks tokens the engine inserted into the turn (budget forcing: "Wait", a closing
    think tag), and ``env_ids`` are the tokens of the env's reply messages (tool output) up to the next
    assistant header. Forced and env tokens are masked out of the loss.
    """

    completion_text: str
    completion_ids: list[int] = field(default_factory=list)
    completion_logprobs: list[float] | None = None
    forced: list[int] = field(default_factory=list)
    env_messages: list[dict[str, Any]] = field(default_factory=list)
    env_ids: list[int] = field(default_factory=list)
    reward: float = 0.0
    reward_components: dict[str, float] = field(default_factory=dict)
    tool_calls: int = 0
    format_error: bool = False
    finish_reason: str = "stop"


@dataclass
class Trajectory:
    """A whole episode: its prompt, its turns, its return and how it ended; ``reference`` is the task's
    reference answer (for reading episodes; never shown to the model); ``meta`` says where its env ran
    (``ray_node_id``, ``ray_actor_id`` on a Ray cluster; empty in the engine's own process), and
    ``env_lost`` when the episode's error is that its env's host (a Ray actor, a node) was lost."""

    env_id: str
    task_id: str
    seed: int | None
    sample: int
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    prompt_ids: list[int] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    reward: float = 0.0
    reward_components: dict[str, float] = field(default_factory=dict)
    is_success: bool | None = None
    answer: str | None = None
    error: str | None = None
    terminated: bool = False
    truncated: bool = False
    reference: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def completion_ids(self) -> list[int]:
        """Every token after the prompt: model turns, forced tokens and env replies, in order."""
        ids: list[int] = []
        for turn in self.turns:
            ids += turn.completion_ids + turn.env_ids
        return ids

    @property
    def env_mask(self) -> list[int]:
        """1 for model-generated tokens (trained on), 0 for env and tool-output tokens, aligned with
        ``completion_ids``."""
        mask: list[int] = []
        for turn in self.turns:
            forced = set(turn.forced)
            mask += [0 if i in forced else 1 for i in range(len(turn.completion_ids))]
            mask += [0] * len(turn.env_ids)
        return mask

    @property
    def completion_logprobs(self) -> list[float] | None:
        """Logprobs aligned with ``completion_ids`` (0.0 on env tokens), or None if the backend gave none."""
        if any(t.completion_logprobs is None for t in self.turns):
            return None
        out: list[float] = []
        for turn in self.turns:
            out += list(turn.completion_logprobs or []) + [0.0] * len(turn.env_ids)
        return out

    @property
    def num_turns(self) -> int:
        return len(self.turns)

    @property
    def num_tool_calls(self) -> int:
        return sum(t.tool_calls for t in self.turns)

    @property
    def format_errors(self) -> int:
        return sum(int(t.format_error) for t in self.turns)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trajectory:
        data = dict(data)
        data["turns"] = [Turn(**t) for t in data.get("turns", [])]
        return cls(**data)


def save_jsonl(trajectories: Iterable[Trajectory], path: str | Path, append: bool = False) -> Path:
    """Write one trajectory per line; create the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as f:
        for traj in trajectories:
            f.write(json.dumps(traj.to_dict(), ensure_ascii=False) + "\n")
    return path


def load_jsonl(path: str | Path) -> Iterator[Trajectory]:
    """Read trajectories written by ``save_jsonl``; a bad line raises with its line number."""
    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield Trajectory.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not a trajectory: {exc}") from exc
