"""Training forwards that compute a batch's shared prompt prefix once.

Every row of an RL or SFT batch on one env starts with the same system prompt, often most of the
sequence. TRL scores a batch with ``model(input_ids, attention_mask, labels, fused_lm_head=True)``;
``install_prefix_sharing`` wraps that call so that the common prefix runs once (batch 1), its KV cache
is copied to the rows, and only the rest of each row runs on top of it. Gradients flow through the
copy into the prefix, so loss and gradients are those of the full forward, for a fraction of the work.
"""

from __future__ import annotations

import functools
from typing import Any

from agents.backends.hf_decode import cache_kwarg

#: Shorter shared prefixes are not worth the extra forward call.
MIN_PREFIX = 16
_PLAIN_KEYS = {"input_ids", "attention_mask", "labels", "use_cache", "num_items_in_batch"}


def plan(input_ids: Any, attention_mask: Any, labels: Any) -> tuple[int, list[int]] | None:
    """(prefix length, each row's first real column), or None when no row may share a prefix: the
    prefix must be the same real tokens in every row and end before the first scored position."""
    import torch

    rows = input_ids.size(0)
    if rows < 2:
        return None
    starts = attention_mask.int().argmax(dim=1).tolist()
    limit = input_ids.size(1)
    for i in range(rows):
        scored = (labels[i] != -100).nonzero()
        first_label = int(scored[0]) if len(scored) else input_ids.size(1)
        ones = attention_mask[i, starts[i] :].int()
        run = int(ones.cumprod(0).sum())  # contiguous real tokens from the start
        limit = min(limit, first_label - 1 - starts[i], run)
    if limit < MIN_PREFIX:
        return None
    ref = input_ids[0, starts[0] : starts[0] + limit]
    same = torch.ones(limit, dtype=torch.bool, device=input_ids.device)
    for i in range(1, rows):
        same &= input_ids[i, starts[i] : starts[i] + limit] == ref
    length = int(same.int().cumprod(0).sum())
    return (length, starts) if length >= MIN_PREFIX else None


def install_prefix_sharing(model: Any) -> None:
    """Wrap ``model.forward`` (already patched by TRL's fused LM head) so fused calls share the prefix.
    Other calls (generation, a forward with other inputs) go through unchanged."""
    import torch

    inner = model.forward
    if getattr(inner, "_toolgym_prefix_sharing", False):
        return
    cache_name = cache_kwarg(model)

    @functools.wraps(inner)
    def forward(*args: Any, fused_lm_head: bool = False, **kwargs: Any) -> Any:
        plain = not args and set(kwargs) <= _PLAIN_KEYS
        if not (fused_lm_head and plain and kwargs.get("labels") is not None):
            return inner(*args, fused_lm_head=fused_lm_head, **kwargs)
        ids, labels = kwargs["input_ids"], kwargs["labels"]
        mask = kwargs.get("attention_mask")
        if mask is None:
            mask = torch.ones_like(ids)
        found = plan(ids, mask, labels)
        if found is None:
            return inner(*args, fused_lm_head=fused_lm_head, **kwargs)
        length, starts = found
        rows = ids.size(0)
        prefix = ids[:1, starts[0] : starts[0] + length]
        head = inner(
            input_ids=prefix, attention_mask=torch.ones_like(prefix), use_cache=True, logits_to_keep=1
        )
        cache = head.cache if "cache" in head else head.past_key_values
        cache.reorder_cache(torch.zeros(rows, dtype=torch.long, device=ids.device))
        width = max(ids.size(1) - s - length for s in starts)
        suffix = torch.zeros((rows, width), dtype=ids.dtype, device=ids.device)
        suffix_mask = torch.zeros((rows, width), dtype=mask.dtype, device=ids.device)
        suffix_labels = torch.full((rows, width), -100, dtype=labels.dtype, device=ids.device)
        for i, s in enumerate(starts):
            n = ids.size(1) - s - length
            suffix[i, width - n :] = ids[i, s + length :]
            suffix_mask[i, width - n :] = mask[i, s + length :]
            suffix_labels[i, width - n :] = labels[i, s + length :]
        full_mask = torch.cat(
            [torch.ones((rows, length), dtype=mask.dtype, device=ids.device), suffix_mask], 1
        )
        positions = (full_mask.long().cumsum(-1) - 1).clamp(min=0)[:, length:]
        extra = {k: v for k, v in kwargs.items() if k in ("num_items_in_batch", "use_cache")}
        return inner(
            input_ids=suffix,
            attention_mask=full_mask,
            position_ids=positions,
            labels=suffix_labels,
            fused_lm_head=True,
            **{cache_name: cache},
            **extra,
        )

    forward._toolgym_prefix_sharing = True  # type: ignore[attr-defined]
    model.forward = forward
