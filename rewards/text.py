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

#: Answers from a closed set (HotpotQA's comparison questions): token overlap with them means nothing.
CLOSED_SET_ANSWERS = frozenset({"yes", "no", "noanswer"})


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


def _closed_set(choices: Sequence[str] | None) -> frozenset[str]:
    return CLOSED_SET_ANSWERS | {normalize_answer(str(c)) for c in choices or ()}


def _f1_closed(pred: str, gold: str, closed: frozenset[str]) -> float:
    # HotpotQA's official scorer: when the prediction or the gold is a closed-set answer (yes, no,
    # noanswer) and they differ, F1 is 0, so a hedge like "yes no" earns nothing.
    p, g = normalize_answer(pred), normalize_answer(gold)
    if (p in closed or g in closed) and p != g:
        return 0.0
    return _f1(pred, gold)


def answer_f1(pred: str, answer: str | Sequence[str], choices: Sequence[str] | None = None) -> float:
    """Token F1 of the answer ``pred`` (already extracted) against the best-matching gold answer.

    When the prediction or a gold answer is a closed-set answer (yes, no, noanswer, or one of
    ``choices``, the fixed options of a multiple-choice question) the two must match exactly: a
    hedge that names several options gets 0, as in HotpotQA's official scorer.
    """
    closed = _closed_set(choices)
    return max(_f1_closed(pred, g, closed) for g in _golds(answer))


@reward
def exact_match(completion: str, answer: str | Sequence[str], **_: object) -> float:
    """1.0 when the final answer equals a gold answer after normalization, else 0.0."""
    return answer_exact_match(extract_answer(completion), answer)


@reward
def f1_score(
    completion: str, answer: str | Sequence[str], choices: Sequence[str] | None = None, **_: object
) -> float:
    """Token F1 of the final answer against the best-matching gold answer (0 for a closed-set answer,
    yes/no/noanswer or one of ``choices``, that is not exactly the gold; see ``answer_f1``)."""
    return answer_f1(extract_answer(completion), answer, choices)
