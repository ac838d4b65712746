"""Config dataclasses: validated at construction, errors name the field and the allowed range."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


def check_range(name: str, value: Any, lo: float | None = None, hi: float | None = None) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``lo <= value <= hi`` (either bound may be open)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else lo
        hi_s = "inf" if hi is None else hi
        raise ValueError(f"{name} must be in [{lo_s}, {hi_s}], got {value!r}")


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


@dataclass
class Config:
    """Base of config dataclasses: ``validate()`` runs after construction."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` for a bad field value."""

    @classmethod
    def split_kwargs(cls, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split ``kwargs`` into this config's fields and the rest."""
        names = {f.name for f in fields(cls)}
        mine = {k: v for k, v in kwargs.items() if k in names}
        return mine, {k: v for k, v in kwargs.items() if k not in names}


@dataclass
class EpisodeConfig(Config):
    """What every env shares: the protocol, the turn budget and the format rules."""

    protocol: str = "xml"
    max_turns: int = 4
    format_penalty: float = 0.1
    tool_cost: float = 0.0
    max_calls_per_turn: int = 4
    max_action_chars: int = 32_000
    check_tool: bool = False
    tools_in_prompt: bool = True

    def validate(self) -> None:
        from envs.core.protocol import PROTOCOLS

        check_choice("protocol", self.protocol, tuple(PROTOCOLS))
        check_range("max_turns", self.max_turns, 1, 1000)
        check_range("format_penalty", self.format_penalty, 0, 10)
        check_range("tool_cost", self.tool_cost, 0, 10)
        check_range("max_calls_per_turn", self.max_calls_per_turn, 1, 64)
        check_range("max_action_chars", self.max_action_chars, 16, 10_000_000)
