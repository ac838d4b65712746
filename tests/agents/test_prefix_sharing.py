"""Prefix sharing in training forwards: the same log-probs, entropies and gradients as the full
forward, in TRL's GRPO layout (left-padded prompts, right-padded completions) and SFT's (right-padded)."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM
from trl.trainer.utils import add_fused_lm_head

from agents.chat import ChatRenderer
from agents.prefix_sharing import install_prefix_sharing, plan

SYSTEM = "You solve Countdown puzzles: combine the numbers with + - * / to make the target. " * 2


def _model(path, share: bool):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    add_fused_lm_head(model, outputs=("log_probs", "entropy"))
    if share:
        install_prefix_sharing(model)
    return model


def _rows(tok) -> tuple[list[list[int]], list[list[int]]]:
    renderer = ChatRenderer(tok)
    users = ["Numbers 3 4 5, target 12.", "Numbers 9 2, target 11.", "Numbers 1 1 1 7, target 10, please."]
    prompts = [
        renderer.prompt_ids([{"role": "system", "content": SYSTEM}, {"role": "user", "content": u}], None)
        for u in users
    ]
    comps = [
        renderer.encode(c) + [tok.eos_token_id] for c in ("<answer>3*4</answer>", "9+2", "<answer>7+1+1+1")
    ]
    return prompts, comps


def _grpo_batch(tok):
    prompts, comps = _rows(tok)
    lp, lc = max(map(len, prompts)), max(map(len, comps))
    ids = torch.full((len(prompts), lp + lc), tok.pad_token_id)
    mask = torch.zeros_like(ids)
    for i, (p, c) in enumerate(zip(prompts, comps, strict=True)):
        ids[i, lp - len(p) : lp], mask[i, lp - len(p) : lp] = torch.tensor(p), 1
        ids[i, lp : lp + len(c)], mask[i, lp : lp + len(c)] = torch.tensor(c), 1
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :-lc] = -100
    return ids, mask, labels, lc


def _sft_batch(tok):
    prompts, comps = _rows(tok)
    width = max(len(p) + len(c) for p, c in zip(prompts, comps, strict=True))
    ids = torch.full((len(prompts), width), tok.pad_token_id)
    mask = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for i, (p, c) in enumerate(zip(prompts, comps, strict=True)):
        ids[i, : len(p) + len(c)], mask[i, : len(p) + len(c)] = torch.tensor(p + c), 1
        labels[i, len(p) : len(p) + len(c)] = torch.tensor(c)
    return ids, mask, labels


def _run(model, ids, mask, labels):
    out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
    out.loss.backward()
    grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    return out, grads


def test_grpo_layout_matches_the_full_forward(tiny_model_dir, tiny_tokenizer):
    ids, mask, labels, keep = _grpo_batch(tiny_tokenizer)
    found = plan(ids, mask, labels)
    assert found is not None and found[0] >= 30  # the system prompt is shared
    full, g_full = _run(_model(tiny_model_dir, False), ids, mask, labels)
    shared, g_shared = _run(_model(tiny_model_dir, True), ids, mask, labels)
    assert shared.log_probs.shape[1] < full.log_probs.shape[1]  # the prefix was not recomputed per row
    torch.testing.assert_close(shared.log_probs[:, -keep:], full.log_probs[:, -keep:], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(shared.entropy[:, -keep:], full.entropy[:, -keep:], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(shared.loss, full.loss, atol=1e-5, rtol=1e-5)
    assert float((g_shared - g_full).norm() / g_full.norm()) < 1e-4


def test_sft_layout_matches_the_full_forward(tiny_model_dir, tiny_tokenizer):
    ids, mask, labels = _sft_batch(tiny_tokenizer)
    assert plan(ids, mask, labels) is not None
    full, g_full = _run(_model(tiny_model_dir, False), ids, mask, labels)
    shared, g_shared = _run(_model(tiny_model_dir, True), ids, mask, labels)
    torch.testing.assert_close(shared.log_probs.sum(), full.log_probs.sum(), atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(shared.label_mask.sum(), full.label_mask.sum())
    assert float((g_shared - g_full).norm() / g_full.norm()) < 1e-4


@pytest.mark.parametrize("case", ["one row", "labels in the prefix", "different prompts"])
def test_no_sharing_when_it_would_change_the_result(tiny_tokenizer, case):
    ids, mask, labels, _ = _grpo_batch(tiny_tokenizer)
    if case == "one row":
        ids, mask, labels = ids[:1], mask[:1], labels[:1]
    elif case == "labels in the prefix":
        labels = ids.masked_fill(mask == 0, -100)
    else:
        start = int(mask[0].argmax())
        ids[0, start] = (ids[0, start] + 1) % 100
    assert plan(ids, mask, labels) is None


def test_other_calls_pass_through(tiny_model_dir, tiny_tokenizer):
    model = _model(tiny_model_dir, True)
    ids, mask, _, _ = _grpo_batch(tiny_tokenizer)
    logits = model(input_ids=ids, attention_mask=mask).logits
    assert logits.shape[:2] == ids.shape
