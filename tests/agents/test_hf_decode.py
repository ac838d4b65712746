"""The HF backend's sampling loop: the same tokens as ``model.generate``, shared prefixes, bounded
batches, logprobs of the sampled tokens, stop strings."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import AutoModelForCausalLM

from agents.backends.base import GenerationRequest, SamplingConfig
from agents.backends.hf import HFBackend
from agents.backends.hf_decode import common_prefix_len
from agents.chat import ChatRenderer


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()


def _prompts(tok) -> list[list[int]]:
    system = "You solve puzzles. Give the answer inside answer tags."
    users = ["Make 24 from 4 6 1 1", "Is the knight a liar?", "Add 3 and 4", "Make 24 from 4 6 1 1"]
    renderer = ChatRenderer(tok)
    return [
        renderer.prompt_ids([{"role": "system", "content": system}, {"role": "user", "content": u}], None)
        for u in users
    ]


def _reference(model, tok, prompt: list[int], max_tokens: int) -> list[int]:
    out = model.generate(
        torch.tensor([prompt]),
        attention_mask=torch.ones((1, len(prompt)), dtype=torch.long),
        max_new_tokens=max_tokens,
        do_sample=False,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    return out[0, len(prompt) :].tolist()


@pytest.mark.parametrize("micro_batch", [1, 3, 32])
def test_greedy_matches_generate_with_shared_prefixes(model, tiny_tokenizer, micro_batch):
    prompts = _prompts(tiny_tokenizer)
    assert common_prefix_len(prompts) > 10  # the system prompt is shared
    backend = HFBackend(model, tokenizer=tiny_tokenizer, micro_batch=micro_batch)
    gens = backend.generate(
        [GenerationRequest(messages=[], prompt_ids=p) for p in prompts],
        SamplingConfig(max_tokens=12, temperature=0),
    )
    for prompt, gen in zip(prompts, gens, strict=True):
        ref = _reference(model, tiny_tokenizer, prompt, 12)
        assert gen.token_ids == ref[: len(gen.token_ids)]
        assert len(gen.logprobs) == len(gen.token_ids)
        assert all(lp <= 0 for lp in gen.logprobs)
    assert gens[0].token_ids == gens[3].token_ids  # the same prompt twice


def test_sampled_logprobs_are_the_sampled_tokens(model, tiny_tokenizer):
    prompt = _prompts(tiny_tokenizer)[0]
    backend = HFBackend(model, tokenizer=tiny_tokenizer)
    gen = backend.generate(
        [GenerationRequest(messages=[], prompt_ids=prompt)], SamplingConfig(max_tokens=6, seed=3)
    )[0]
    ids = torch.tensor([prompt + gen.token_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
    for j, (tok, lp) in enumerate(zip(gen.token_ids, gen.logprobs, strict=True)):
        assert math.isclose(float(logp[len(prompt) + j - 1, tok]), lp, abs_tol=1e-3)


def test_seeded_sampling_repeats_per_run_and_moves_on_between_calls(model, tiny_tokenizer):
    prompt = _prompts(tiny_tokenizer)[0]
    reqs = [GenerationRequest(messages=[], prompt_ids=prompt) for _ in range(8)]
    sampling = SamplingConfig(max_tokens=8, temperature=1.0, seed=7)
    runs = []
    for _ in range(2):  # two runs from the same seed, two calls each
        backend = HFBackend(model, tokenizer=tiny_tokenizer, micro_batch=4)
        runs.append([[g.token_ids for g in backend.generate(reqs, sampling)] for _ in range(2)])
    assert runs[0] == runs[1]  # reproducible from the seed
    first, second = runs[0]
    assert len({tuple(t) for t in first}) > 1  # one prefill, eight different samples
    assert first != second  # the stream goes on: a later turn or step does not replay the same draws


def test_stop_string_ends_a_row(model, tiny_tokenizer):
    prompt = _prompts(tiny_tokenizer)[2]
    backend = HFBackend(model, tokenizer=tiny_tokenizer)
    free = backend.generate(
        [GenerationRequest(messages=[], prompt_ids=prompt)], SamplingConfig(max_tokens=20, temperature=0)
    )[0]
    stop = free.text[3:6]
    stopped = backend.generate(
        [GenerationRequest(messages=[], prompt_ids=prompt)],
        SamplingConfig(max_tokens=20, temperature=0, stop=(stop,)),
    )[0]
    assert stopped.finish_reason == "stop"
    assert free.text.startswith(stopped.text)  # the same greedy tokens, cut where the stop appeared
    assert stop in stopped.text and len(stopped.token_ids) < len(free.token_ids)


def test_empty_prompt_is_an_error(model, tiny_tokenizer):
    backend = HFBackend(model, tokenizer=tiny_tokenizer)
    with pytest.raises(ValueError, match="non-empty prompt_ids"):
        backend.generate([GenerationRequest(messages=[], prompt_ids=[])], SamplingConfig(max_tokens=2))
