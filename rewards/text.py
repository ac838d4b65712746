"""Rewards that compare text answers: normalized exact match and token F1.

``exact_match`` and ``f1_score`` take a completion and extract its final answer once;
``answer_exact_match`` and ``answer_f1`` score an answer that was already extracted (an env's
verifier gets the answer its protocol parsed, and must not extract again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rewards.answer import extract_answer, normalize_answer
from rewards.base import reward


def _golds(answer: str | Sequence[str]) -> list[str]:
    return [answer] if isinstance(answer, str) else [str(a) for a in answer]


def answer_exact_match(pred: str, answer: str | Sequence[str]) -> float:
    """1.0 when the answer ``pred`` (already extracted) equals a gold answer after normalization."""
    p = normalize_answer(pred)
    return float(any(p == normalize_answer(g) for g in _golds(answer)))


def _f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def answer_f1(pred: str, answer: str | Sequence[str]) -> float:
    """Token F1 of the answer ``pred`` (already extracted) against the best-matching gold answer."""
    return max(_f1(pred, g) for g in _golds(answer))


@reward
def exact_match(completion: str, answer: str | Sequence[str], **_: object) -> float:
    """1.0 when the final answer equals a gold answer after normalization, else 0.0."""
    return answer_exact_match(extract_answer(completion), answer)


@reward
def f1_score(completion: str, answer: str | Sequence[str], **_: object) -> float:
    """Token F1 of the final answer against the best-matching gold answer."""
    return answer_f1(extract_answer(completion), answer)
