"""The interface every generation backend implements: a batch of prompts in, one generation each out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol


@dataclass(frozen=True)
class SamplingConfig:
    """How to sample one model turn."""

    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Fail with a message naming the bad field."""
        if not 1 <= self.max_tokens <= 1_000_000:
            raise ValueError(f"max_tokens must be in [1, 1000000], got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 10.0:
            raise ValueError(f"temperature must be in [0, 10], got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    def with_(self, **changes: Any) -> SamplingConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass
class GenerationRequest:
    """One conversation to continue: its token ids (when the engine has a tokenizer) and its messages.
    ``episode`` is the rollout engine's spec of the episode it belongs to (backends that replay scripted
    turns look theirs up by it; generation ignores it)."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    prompt_ids: list[int] | None = None
    episode: Any = None


@dataclass
class Generation:
    """One generated turn. ``token_ids``/``logprobs`` are None when the backend cannot give them."""

    text: str
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    finish_reason: str = "stop"  # "stop" (end of turn or a stop string) or "length"


class Backend(Protocol):
    """A generation backend. ``tokenizer`` is the HF tokenizer for token-in/token-out, or None (text only)."""

    tokenizer: Any

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        """Generate one turn for every request, in one batch where the backend can."""
        ...

    def close(self) -> None:
        """Release what the backend holds."""
        ...
