"""A backend that replays scripted turns instead of generating: each episode's next turn comes from its
script, tokenized the way a model that wrote it would have produced it (its text, then end of turn)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agents.backends.base import Generation, GenerationRequest, SamplingConfig


class ReplayBackend:
    """Plays ``script_of(request.episode)[k]`` as an episode's turn ``k`` (counted from the assistant
    messages so far). An episode past the end of its script gets an empty turn."""

    def __init__(self, tokenizer: Any, script_of: Callable[[Any], Sequence[str]]):
        self.tokenizer = tokenizer
        self.script_of = script_of

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        out = []
        for request in requests:
            script = self.script_of(request.episode)
            k = sum(1 for m in request.messages if m.get("role") == "assistant")
            if k >= len(script):
                out.append(Generation(text="", token_ids=[], finish_reason="length"))
                continue
            text = script[k]
            ids = self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id]
            out.append(Generation(text=text, token_ids=ids, finish_reason="stop"))
        return out

    def close(self) -> None:
        pass
