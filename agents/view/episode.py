"""One trajectory record shaped for the page: the conversation with each tool call split out of the
model's text, the rewards per turn, the answer against the reference, and the tokens with the env mask
(which ones the loss sees) where the record has token ids."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Decodes token ids to their texts, one text per id.
TokenTexts = Callable[[list[int]], list[str]]

_JSON_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
_TAG = re.compile(r"<([A-Za-z_][\w-]*)>(.*?)</\1>", re.DOTALL)
_XML_TOOL_LINE = re.compile(r"^- <([A-Za-z_][\w-]*)>", re.MULTILINE)


def tool_names(rec: dict[str, Any]) -> list[str]:
    """The episode's tool names: from its tool schemas (JSON protocol), else from the tag list the XML
    protocol writes into the system prompt."""
    names = []
    for schema in rec.get("tools") or []:
        fn = schema.get("function", schema) if isinstance(schema, dict) else {}
        if isinstance(fn, dict) and isinstance(fn.get("name"), str) and fn["name"] != "answer":
            names.append(fn["name"])
    if not names:
        for m in rec.get("messages") or []:
            if isinstance(m, dict) and m.get("role") == "system" and isinstance(m.get("content"), str):
                names = [n for n in _XML_TOOL_LINE.findall(m["content"]) if n != "answer"]
                break
    return names


def _json_call(body: str) -> dict[str, Any]:
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as exc:
        return {"kind": "call", "name": None, "raw": body, "problem": f"not valid JSON: {exc.msg}"}
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return {"kind": "call", "name": None, "raw": body, "problem": "not a {name, arguments} object"}
    args = obj.get("arguments", {})
    if obj["name"] == "answer":
        value = args.get("answer") if isinstance(args, dict) else args
        return {
            "kind": "answer",
            "value": value if isinstance(value, str) else json.dumps(value),
            "raw": body,
        }
    return {"kind": "call", "name": obj["name"], "arguments": args, "raw": body}


def segments(text: str, tools: list[str]) -> list[dict[str, Any]]:
    """The model's turn in pieces: plain text, thinking, tool calls (JSON ``<tool_call>`` blocks or XML
    tags of the episode's tools) with their arguments, and the final answer."""
    out: list[dict[str, Any]] = []
    pos = 0
    spans: list[tuple[int, int, dict[str, Any]]] = []
    for m in _JSON_CALL.finditer(text):
        spans.append((m.start(), m.end(), _json_call(m.group(1).strip())))
    for m in _TAG.finditer(text):
        if any(s <= m.start() < e for s, e, _ in spans):
            continue
        tag, body = m.group(1), m.group(2)
        if tag == "think":
            spans.append((m.start(), m.end(), {"kind": "think", "text": body}))
        elif tag == "answer":
            spans.append((m.start(), m.end(), {"kind": "answer", "value": body.strip(), "raw": m.group(0)}))
        elif tag in tools:
            spans.append(
                (m.start(), m.end(), {"kind": "call", "name": tag, "arguments": body, "raw": m.group(0)})
            )
    for start, end, seg in sorted(spans, key=lambda s: s[0]):
        if start < pos:
            continue
        if start > pos:
            out.append({"kind": "text", "text": text[pos:start]})
        out.append(seg)
        pos = end
    if pos < len(text):
        out.append({"kind": "text", "text": text[pos:]})
    return out


def _ints(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, list) else []


def token_view(rec: dict[str, Any], texts: TokenTexts | None) -> dict[str, Any]:
    """The episode's tokens in order, each with its kind: ``p`` prompt (never in the loss), ``m`` model
    (in the loss, mask 1), ``f`` forced by the engine and ``e`` env reply (both masked out, mask 0);
    the same mask as ``Trajectory.env_mask``. Token texts where a tokenizer was given."""
    turns = [t for t in rec.get("turns") or [] if isinstance(t, dict)]
    prompt = _ints(rec.get("prompt_ids"))
    if not prompt and not any(t.get("completion_ids") for t in turns):
        return {
            "available": False,
            "note": "this trajectory has no token ids (its backend gave text only), so there is no "
            "token-level env mask to show",
        }
    per_turn: list[list[tuple[int, str]]] = []
    for t in turns:
        ids = _ints(t.get("completion_ids"))
        forced = set(_ints(t.get("forced")))
        kinds = [(i, "f" if j in forced else "m") for j, i in enumerate(ids)]
        kinds += [(i, "e") for i in _ints(t.get("env_ids"))]
        per_turn.append(kinds)
    all_ids = prompt + [i for turn in per_turn for i, _ in turn]
    decoded = texts(all_ids) if texts is not None else None
    counter = iter(decoded) if decoded is not None else None

    def tok(i: int, kind: str) -> list[Any]:
        return [i, kind, next(counter)] if counter is not None else [i, kind]

    view_prompt = [tok(i, "p") for i in prompt]
    view_turns = [[tok(i, k) for i, k in turn] for turn in per_turn]
    counts = {"prompt": len(prompt), "model": 0, "forced": 0, "env": 0}
    for turn in per_turn:
        for _, k in turn:
            counts[{"m": "model", "f": "forced", "e": "env"}[k]] += 1
    note = "" if decoded is not None else "token ids only: give --tokenizer to see their text"
    return {
        "available": True,
        "text": decoded is not None,
        "note": note,
        "counts": counts,
        "prompt": view_prompt,
        "turns": view_turns,
    }


def episode_view(rec: dict[str, Any], texts: TokenTexts | None = None) -> dict[str, Any]:
    """Everything the episode panel shows."""
    messages = [m for m in rec.get("messages") or [] if isinstance(m, dict)]
    first_assistant = next((i for i, m in enumerate(messages) if m.get("role") == "assistant"), len(messages))
    tools = tool_names(rec)
    turns = []
    for n, t in enumerate(rec.get("turns") or [], 1):
        if not isinstance(t, dict):
            continue
        text = str(t.get("completion_text", ""))
        turns.append(
            {
                "n": n,
                "text": text,
                "segments": segments(text, tools),
                "reward": t.get("reward", 0.0),
                "reward_components": t.get("reward_components") or {},
                "tool_calls": t.get("tool_calls", 0),
                "format_error": bool(t.get("format_error")),
                "finish_reason": t.get("finish_reason"),
                "env": [m for m in t.get("env_messages") or [] if isinstance(m, dict)],
            }
        )
    keys = (
        "env_id",
        "task_id",
        "seed",
        "sample",
        "reward",
        "reward_components",
        "is_success",
        "answer",
        "error",
        "terminated",
        "truncated",
    )
    view = {k: rec.get(k) for k in keys}
    view.update(
        reference=rec.get("reference"),
        has_reference="reference" in rec,
        prompt=messages[:first_assistant],
        tools=tools,
        turns=turns,
        tokens=token_view(rec, texts),
    )
    return view


def load_token_texts(path: str | Path) -> TokenTexts:
    """A decoder for one token at a time from a ``tokenizer.json`` (or a model folder holding one),
    through the ``tokenizers`` package; ``FileNotFoundError`` / ``ImportError`` say what is missing."""
    path = Path(path)
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no tokenizer.json at {path}")
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ImportError("showing token texts needs the tokenizers package: pip install tokenizers") from exc
    tok = Tokenizer.from_file(str(file))

    def texts(ids: list[int]) -> list[str]:
        return tok.decode_batch([[i] for i in ids], skip_special_tokens=False)

    return texts
