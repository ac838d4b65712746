"""A scripted backend for tests: plays fixed turns per episode, tokenized with a real tokenizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.backends.base import Generation, GenerationRequest, SamplingConfig


class ScriptedBackend:
    """``script(messages) -> text`` decides each turn from the conversation so far."""

    def __init__(self, tokenizer: Any, script: Callable[[list[dict[str, Any]]], str]):
        self.tokenizer = tokenizer
        self.script = script
        self.batches: list[int] = []

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        self.batches.append(len(requests))
        out = []
        for r in requests:
            text = self.script(r.messages)
            ids = self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id]
            out.append(Generation(text=text, token_ids=ids, logprobs=[-1.0] * len(ids), finish_reason="stop"))
        return out

    def close(self) -> None:
        pass
