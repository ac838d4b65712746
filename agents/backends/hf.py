"""HF transformers backend: batched ``generate`` on CPU or GPU, token ids and logprobs included."""

from __future__ import annotations

from typing import Any

from agents.backends.base import Generation, GenerationRequest, SamplingConfig


class HFBackend:
    """Generates with a transformers causal LM. Pass a model path, or a loaded model and tokenizer."""

    def __init__(self, model: Any, tokenizer: Any = None, device: str | None = None, dtype: str = "auto"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if isinstance(model, str):
            tokenizer = tokenizer or AutoTokenizer.from_pretrained(model)
            torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
            model = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype)
            device = device or ("cuda" if torch.cuda.is_available() else "cpu")
            model.to(device)
            model.eval()
        if tokenizer is None:
            raise ValueError("HFBackend needs a tokenizer when given a loaded model")
        self.model = model
        self.tokenizer = tokenizer
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        eos = model.generation_config.eos_token_id if model.generation_config else None
        eos = eos if eos is not None else tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        import torch

        if not requests:
            return []
        prompts = [r.prompt_ids for r in requests]
        if any(p is None for p in prompts):
            raise ValueError("HFBackend needs prompt_ids in every request")
        width = max(len(p) for p in prompts)
        device = next(self.model.parameters()).device
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            input_ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            attention[i, width - len(p) :] = 1
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_tokens,
            "pad_token_id": self.pad_id,
            "eos_token_id": sorted(self.eos_ids),
            "output_scores": True,
            "return_dict_in_generate": True,
        }
        if sampling.temperature > 0:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                out = self.model.generate(
                    input_ids=input_ids.to(device), attention_mask=attention.to(device), **kwargs
                )
                scores = self.model.compute_transition_scores(
                    out.sequences, out.scores, normalize_logits=True
                )
        finally:
            if was_training:
                self.model.train()
        new = out.sequences[:, width:].tolist()
        scores = scores.float().cpu().tolist()
        return [self._trim(ids, lps, sampling) for ids, lps in zip(new, scores, strict=True)]

    def _trim(self, ids: list[int], logprobs: list[float], sampling: SamplingConfig) -> Generation:
        """Cut a row at its end of turn (kept) or the padding after it."""
        end, finish, ended = len(ids), "length", False
        for i, tok in enumerate(ids):
            if tok in self.eos_ids:
                end, finish, ended = i + 1, "stop", True
                break
        ids, logprobs = ids[:end], logprobs[:end]
        while finish == "length" and ids and ids[-1] == self.pad_id and self.pad_id not in self.eos_ids:
            ids, logprobs = ids[:-1], logprobs[:-1]
        text = self.tokenizer.decode(ids[:-1] if ended else ids, skip_special_tokens=False)
        if finish == "length" and len(ids) < sampling.max_tokens:
            finish = "stop"  # stopped by a stop string
        elif finish == "length" and sampling.stop and any(text.endswith(s) for s in sampling.stop):
            finish = "stop"
        return Generation(
            text=text, token_ids=ids, logprobs=[float(x) for x in logprobs], finish_reason=finish
        )

    def close(self) -> None:
        self.model = None
