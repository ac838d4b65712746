"""Verifiable reward functions: plain functions, combined by weights, each usable as a TRL reward.

``exact_match(completion, answer=...)`` scores one completion; ``exact_match(completions=[...],
answer=[...])`` scores a TRL batch. ``combine({exact_match: 1.0, tool_cost: 1.0})`` weights them
and reports each part. A function that cannot score (a verifier that timed out) raises ``InfraError``:
that sample gets ``None``, never 0.
"""

from rewards.answer import completion_text, extract_answer, last_boxed, normalize_answer
from rewards.base import Combined, RewardFunction, combine, reward
from rewards.errors import InfraError
from rewards.math import math_equiv, numeric_match, parse_number
from rewards.shaping import length_penalty, tool_cost
from rewards.text import answer_exact_match, answer_f1, exact_match, f1_score

__all__ = [
    "answer_exact_match",
    "answer_f1",
    "Combined",
    "RewardFunction",
    "combine",
    "completion_text",
    "exact_match",
    "extract_answer",
    "f1_score",
    "InfraError",
    "last_boxed",
    "length_penalty",
    "math_equiv",
    "normalize_answer",
    "numeric_match",
    "parse_number",
    "reward",
    "tool_cost",
]
