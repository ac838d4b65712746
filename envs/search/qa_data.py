"""Loaders for question-answering files: Search-R1's NQ, HotpotQA, TriviaQA ... as JSONL or parquet.

A record needs a question (``question``) and gold answers (``golden_answers``, ``answers``, ``answer``
or Search-R1's processed ``reward_model.ground_truth.target``); gold passage ids (``supporting_ids``,
``gold_ids`` or ``positive_ids``), when present, serve ``QueryRewrite``; ``choices``, the fixed options
of a multiple-choice question, make F1 score it as a closed set (no partial credit for a hedge).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ANSWER_KEYS = ("golden_answers", "answers", "answer", "target")
_GOLD_ID_KEYS = ("supporting_ids", "gold_ids", "positive_ids")


@dataclass(frozen=True)
class QAExample:
    """A question, its gold answers and (when known) the ids of the passages that answer it."""

    id: str
    question: str
    answers: tuple[str, ...]
    gold_ids: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if hasattr(value, "tolist"):  # numpy arrays from parquet
        value = value.tolist()
    return list(value) if isinstance(value, list | tuple) else [value]


def parse_record(record: dict[str, Any], index: int, where: str) -> QAExample:
    """One record as a ``QAExample``, with an error naming the record when a field is missing."""
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f'{where}: needs a non-empty "question" string')
    answers: list[Any] = []
    for key in _ANSWER_KEYS:
        if key in record:
            answers = _as_list(record[key])
            break
    else:
        truth = (record.get("reward_model") or {}).get("ground_truth") or {}
        answers = _as_list(truth.get("target")) if isinstance(truth, dict) else []
    answers = [str(a) for a in answers if str(a).strip()]
    if not answers:
        raise ValueError(
            f"{where}: needs gold answers in one of {list(_ANSWER_KEYS)} or reward_model.ground_truth"
        )
    gold_ids: list[Any] = []
    for key in _GOLD_ID_KEYS:
        if key in record:
            gold_ids = _as_list(record[key])
            break
    qid = str(record.get("id", index))
    extra = {k: v for k, v in record.items() if k in ("data_source", "hops", "split")}
    if choices := _as_list(record.get("choices")):
        extra["choices"] = [str(c) for c in choices]  # a closed answer set: F1 gives no partial credit
    return QAExample(qid, question.strip(), tuple(answers), tuple(str(g) for g in gold_ids), extra)


def _records(path: Path) -> Iterable[tuple[dict[str, Any], str]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for i, row in enumerate(pq.read_table(path).to_pylist()):
            yield row, f"{path} row {i}"
        return
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line), f"{path}:{lineno}"
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: not JSON ({exc.msg})") from None


def load_qa(path: str | Path, limit: int | None = None) -> list[QAExample]:
    """The examples of a ``.jsonl`` or ``.parquet`` QA file (the first ``limit`` when given)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"QA file not found: {path}")
    out: list[QAExample] = []
    for i, (record, where) in enumerate(_records(path)):
        if limit is not None and i >= limit:
            break
        out.append(parse_record(record, i, where))
    if not out:
        raise ValueError(f"{path}: no examples")
    return out
