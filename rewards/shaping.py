"""Shaping rewards: tool-call cost and length."""

from __future__ import annotations

from rewards.base import reward


@reward
def tool_cost(completion: str, num_tool_calls: int = 0, cost_per_call: float = 0.02, **_: object) -> float:
    """``-cost_per_call`` for each tool call of the episode (a cost, so never positive)."""
    return -cost_per_call * max(0, int(num_tool_calls))


@reward
def length_penalty(completion: str, max_chars: int = 4000, **_: object) -> float:
    """0.0 up to ``max_chars`` characters, then falling linearly to -1.0 at twice that length."""
    over = len(completion) - max_chars
    return 0.0 if over <= 0 else -min(1.0, over / max_chars)
