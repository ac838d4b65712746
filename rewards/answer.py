"""Getting the final answer out of a completion, and normalizing answers for comparison."""

from __future__ import annotations

import re
import string
from typing import Any

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_ANSWER_CALL = re.compile(
    r'"name"\s*:\s*"answer"\s*,\s*"arguments"\s*:\s*\{\s*"answer"\s*:\s*("(?:[^"\\]|\\.)*")'
)


def completion_text(completion: Any) -> str:
    """The text of a completion: a string as is, or the last assistant message of a conversation."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        for message in reversed(completion):
            if isinstance(message, dict) and message.get("role", "assistant") == "assistant":
                return str(message.get("content") or "")
        return ""
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    return str(completion)


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` in ``text``, braces balanced."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    i, depth = start + len("\\boxed{"), 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
    return None


def extract_answer(text: str) -> str:
    """The final answer in a completion: the last ``<answer>``, the ``answer`` tool call, the last
    ``\\boxed{}``, else the whole text stripped."""
    import json

    if found := _ANSWER.findall(text):
        return found[-1].strip()
    if found := _ANSWER_CALL.findall(text):
        return str(json.loads(found[-1])).strip()
    if (boxed := last_boxed(text)) is not None:
        return boxed.strip()
    return text.strip()


def normalize_answer(text: str) -> str:
    """SQuAD-style normalization: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())
