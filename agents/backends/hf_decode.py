"""A sampling loop for transformers causal LMs on CPU: shared prompt prefixes, bounded memory.

``model.generate`` prefills every row's whole prompt and keeps the full-vocabulary scores of every
step when asked for logprobs. Rollouts repeat one long prefix many times (every task of an env shares
its system prompt; a GRPO group is one prompt ``num_generations`` times), so this loop prefills the
common prefix of a micro-batch once, each distinct prompt's remainder once, then copies the KV cache
to the rows. It keeps only the sampled token's logprob, and drops finished rows from the batch. Its
KV cache grows in place (room for the whole decode is reserved at the prefill), where transformers'
dynamic cache concatenates every layer's keys and values at every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Rows decoded together; bounds the KV cache and the activations whatever the batch is.
DEFAULT_MICRO_BATCH = 32


@dataclass
class Decoded:
    """One row's new tokens, their logprobs and why it ended ("stop" or "length")."""

    token_ids: list[int]
    logprobs: list[float]
    finish_reason: str


def common_prefix_len(prompts: list[list[int]]) -> int:
    """Length of the longest token prefix every prompt shares."""
    first = prompts[0]
    n = min(len(p) for p in prompts)
    for p in prompts[1:]:
        i = 0
        while i < n and p[i] == first[i]:
            i += 1
        n = i
    return n


def decode(
    model: Any,
    prompts: list[list[int]],
    *,
    max_tokens: int,
    temperature: float,
    top_p: float,
    eos_ids: set[int],
    pad_id: int,
    stop_check: Any = None,
    generator: Any = None,
) -> list[Decoded]:
    """Sample up to ``max_tokens`` tokens after each prompt (one micro-batch). ``stop_check(ids)``
    says whether a row's text so far ends with a stop string."""
    import torch

    device = next(model.parameters()).device
    cache_kw = cache_kwarg(model)
    uniq: dict[tuple[int, ...], int] = {}
    row_of = [uniq.setdefault(tuple(p), len(uniq)) for p in prompts]
    distinct = [list(p) for p in uniq]
    shared = max(0, min(common_prefix_len(distinct), min(len(p) for p in distinct) - 1))
    cache = _new_cache(model, reserve=max_tokens + 1)
    mask_prefix = torch.ones((1, shared), dtype=torch.long, device=device)
    with torch.no_grad():
        if shared > 0:
            model(
                input_ids=torch.tensor([distinct[0][:shared]], device=device),
                attention_mask=mask_prefix,
                **{cache_kw: cache},
                use_cache=True,
                logits_to_keep=1,
            )
            cache.reorder_cache(torch.zeros(len(distinct), dtype=torch.long, device=device))
        rests = [p[shared:] for p in distinct]
        width = max(len(r) for r in rests)
        ids = torch.full((len(rests), width), pad_id, dtype=torch.long)
        rest_mask = torch.zeros((len(rests), width), dtype=torch.long)
        for i, r in enumerate(rests):
            ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
            rest_mask[i, width - len(r) :] = 1
        attention = torch.cat([mask_prefix.expand(len(rests), -1).cpu(), rest_mask], dim=1).to(device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)[:, shared:]
        out = model(
            input_ids=ids.to(device),
            attention_mask=attention,
            position_ids=positions,
            **{cache_kw: cache},
            use_cache=True,
            logits_to_keep=1,
        )
        rows = torch.tensor(row_of, dtype=torch.long, device=device)
        cache.reorder_cache(rows)
        logits = out.logits[:, -1, :].float().index_select(0, rows)
        attention = attention.index_select(0, rows)
        next_pos = attention.sum(-1, keepdim=True)
        return _sample_loop(
            model, cache, cache_kw, logits, attention, next_pos, len(prompts),
            max_tokens=max_tokens, temperature=temperature, top_p=top_p, eos_ids=eos_ids,
            stop_check=stop_check, generator=generator,
        )  # fmt: skip


def _sample_loop(
    model: Any,
    cache: Any,
    cache_kw: str,
    logits: Any,
    attention: Any,
    next_pos: Any,
    n: int,
    *,
    max_tokens: int,
    temperature: float,
    top_p: float,
    eos_ids: set[int],
    stop_check: Any,
    generator: Any,
) -> list[Decoded]:
    import torch

    device = logits.device
    results: list[Decoded | None] = [None] * n
    tokens: list[list[int]] = [[] for _ in range(n)]
    lps: list[list[float]] = [[] for _ in range(n)]
    alive = list(range(n))  # row -> original index
    for step in range(max_tokens):
        chosen, chosen_lp = _pick(logits, temperature, top_p, generator)
        still = []
        for j, i in enumerate(alive):
            tok = int(chosen[j])
            tokens[i].append(tok)
            lps[i].append(float(chosen_lp[j]))
            if tok in eos_ids or (stop_check is not None and stop_check(tokens[i])):
                results[i] = Decoded(tokens[i], lps[i], "stop")
            elif step + 1 == max_tokens:
                results[i] = Decoded(tokens[i], lps[i], "length")
            else:
                still.append(j)
        if len(still) == 0:
            break
        keep = torch.tensor(still, dtype=torch.long, device=device)
        if len(still) < len(alive):
            cache.batch_select_indices(keep)
            attention, next_pos = attention.index_select(0, keep), next_pos.index_select(0, keep)
            chosen = chosen.index_select(0, keep)
            alive = [alive[j] for j in still]
        attention = torch.cat([attention, torch.ones_like(next_pos)], dim=1)
        out = model(
            input_ids=chosen.unsqueeze(1),
            attention_mask=attention,
            position_ids=next_pos,
            **{cache_kw: cache},
            use_cache=True,
        )
        next_pos = next_pos + 1
        logits = out.logits[:, -1, :].float()
    return [r if r is not None else Decoded(tokens[i], lps[i], "length") for i, r in enumerate(results)]


def _pick(logits: Any, temperature: float, top_p: float, generator: Any) -> tuple[Any, Any]:
    """Sample (or take the argmax at temperature 0) and return the tokens and their logprobs under the
    distribution sampled from (after temperature and top-p)."""
    import torch

    if temperature <= 0:
        logp = torch.log_softmax(logits, dim=-1)
        chosen = logp.argmax(dim=-1)
        return chosen, logp.gather(1, chosen.unsqueeze(1)).squeeze(1)
    scaled = logits / temperature
    if top_p < 1.0:
        sorted_logits, order = scaled.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        drop = probs.cumsum(dim=-1) - probs > top_p  # keep the smallest head reaching top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        scaled = torch.full_like(scaled, float("-inf")).scatter(1, order, sorted_logits)
    logp = torch.log_softmax(scaled, dim=-1)
    chosen = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
    return chosen, logp.gather(1, chosen.unsqueeze(1)).squeeze(1)


def cache_kwarg(model: Any) -> str:
    """The forward argument that takes the KV cache (``cache`` in newer transformers), read from the
    model's class (through a PEFT wrapper, whose own forward takes anything)."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    params = inspect.signature(type(base).forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _new_cache(model: Any, reserve: int = 0) -> Any:
    """A dynamic KV cache; its plain full-attention layers grow in place with ``reserve`` tokens of room."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    try:
        cache = DynamicCache(config=model.config)
    except TypeError:  # older transformers
        return DynamicCache()
    layers = getattr(cache, "layers", None)
    if reserve and layers and all(type(layer) is DynamicLayer for layer in layers):
        growing = _growing_layer_class()
        cache.layers = [growing(reserve) for _ in layers]
    return cache


_GROWING: Any = None


def _growing_layer_class() -> Any:
    """transformers' ``DynamicLayer`` whose keys and values are views into a buffer with room to grow:
    a decode step writes one position instead of copying the whole cache (the parent's ``torch.cat``).
    Anything that replaces the tensors (row selection, reordering) is noticed and copied into a new
    buffer at the next update."""
    global _GROWING
    if _GROWING is not None:
        return _GROWING
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        def __init__(self, reserve: int) -> None:
            super().__init__()
            self.reserve = reserve
            self._buffers: Any = None  # (keys, values) buffers that self.keys/self.values are views of
            self._view: Any = None

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            n = self.get_seq_length()
            end = n + key_states.shape[-2]
            bufs = self._buffers
            if bufs is None or self._view is not self.keys or end > bufs[0].shape[-2]:
                bufs = tuple(
                    new.new_empty((*new.shape[:2], end + self.reserve, new.shape[-1]))
                    for new in (key_states, value_states)
                )
                if n:
                    bufs[0][:, :, :n].copy_(self.keys)
                    bufs[1][:, :, :n].copy_(self.values)
                self._buffers = bufs
            bufs[0][:, :, n:end].copy_(key_states)
            bufs[1][:, :, n:end].copy_(value_states)
            self.keys, self.values = bufs[0][:, :, :end], bufs[1][:, :, :end]
            self._view = self.keys
            return self.keys, self.values

    _GROWING = GrowingLayer
    return GrowingLayer
