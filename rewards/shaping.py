"""Shaping rewards: format, tool-call cost and length."""

from __future__ import annotations

import re

from envs.core.protocol import get_protocol, is_placeholder_answer
from rewards.base import reward


@reward
def format_reward(completion: str, protocol: str = "xml", **_: object) -> float:
    """1.0 when the completion gives exactly one well-formed final answer in ``protocol`` and no
    malformed call, else 0.0. An empty or placeholder answer (``<answer>...</answer>``) is not a
    well-formed answer."""
    proto = get_protocol(protocol)
    turn = proto.parse(completion, {})
    if turn.errors or turn.answer is None or is_placeholder_answer(turn.answer):
        return 0.0
    if protocol == "xml":
        return float(len(re.findall(r"<answer>", completion)) == 1)
    return float(completion.count('"answer"') >= 1)


@reward
def tool_cost(completion: str, num_tool_calls: int = 0, cost_per_call: float = 0.02, **_: object) -> float:
    """``-cost_per_call`` for each tool call of the episode (a cost, so never positive)."""
    return -cost_per_call * max(0, int(num_tool_calls))


@reward
def length_penalty(completion: str, max_chars: int = 4000, **_: object) -> float:
    """0.0 up to ``max_chars`` characters, then falling linearly to -1.0 at twice that length."""
    over = len(completion) - max_chars
    return 0.0 if over <= 0 else -min(1.0, over / max_chars)
