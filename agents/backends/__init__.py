"""Generation backends: HF transformers (CPU), an OpenAI-compatible server, the vLLM offline engine."""

from __future__ import annotations

from typing import Any

from agents.backends.base import Backend, Generation, GenerationRequest, SamplingConfig

BACKENDS = ("hf", "openai", "vllm")


def load_tokenizer(name_or_path: str) -> Any:
    """The HF tokenizer of a model (a local path, a registered name from ``agents.models``, or a hub
    name already in the local cache)."""
    from transformers import AutoTokenizer

    from agents.models import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model(name_or_path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def make_backend(
    kind: str,
    model: str,
    base_url: str | None = None,
    tokenizer: str | None = None,
    max_concurrency: int = 32,
    **kwargs: Any,
) -> Backend:
    """Build a backend by name. ``model`` (and ``tokenizer``) may be a path, a registered name from
    ``agents.models`` or a hub name. ``openai`` uses ``tokenizer`` (default: ``model`` when it is a
    local folder) for token-in/token-out, else it sends chat messages."""
    from agents.models import resolve_model

    if kind == "hf":
        from agents.backends.hf import HFBackend

        path = resolve_model(model)
        return HFBackend(path, tokenizer=load_tokenizer(tokenizer or path), **kwargs)
    if kind == "vllm":
        from agents.backends.vllm_engine import VLLMBackend

        return VLLMBackend(resolve_model(model), **kwargs)
    if kind == "openai":
        from pathlib import Path

        from agents.backends.openai_server import OpenAIBackend

        if not base_url:
            raise ValueError("the openai backend needs base_url")
        tok_path = tokenizer or (model if Path(model).is_dir() else None)
        tok = load_tokenizer(tok_path) if tok_path else None
        return OpenAIBackend(base_url, model, tokenizer=tok, max_concurrency=max_concurrency, **kwargs)
    raise ValueError(f"unknown backend {kind!r}; choose one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "Backend",
    "Generation",
    "GenerationRequest",
    "SamplingConfig",
    "load_tokenizer",
    "make_backend",
]
