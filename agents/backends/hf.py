"""HF transformers backend: batched sampling on CPU or GPU, token ids and logprobs included."""

from __future__ import annotations

from typing import Any

from agents.backends.base import Generation, GenerationRequest, SamplingConfig
from agents.backends.hf_decode import DEFAULT_MICRO_BATCH, decode


def set_threads(threads: int | None) -> None:
    """Set torch's intra-op thread count (None: leave torch's default, one per core)."""
    if threads is None:
        return
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    import torch

    torch.set_num_threads(threads)


class HFBackend:
    """Generates with a transformers causal LM. Pass a model path, or a loaded model and tokenizer.

    Requests are decoded ``micro_batch`` rows at a time (bounded memory whatever the batch); rows
    with the same prompt share one prefill, and a micro-batch's common prefix is computed once.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        device: str | None = None,
        dtype: str = "auto",
        micro_batch: int = DEFAULT_MICRO_BATCH,
        threads: int | None = None,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if micro_batch < 1:
            raise ValueError(f"micro_batch must be >= 1, got {micro_batch}")
        set_threads(threads)
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
        self.micro_batch = micro_batch
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        eos = model.generation_config.eos_token_id if model.generation_config else None
        eos = eos if eos is not None else tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self._generator: Any = None
        self._generator_seed: int | None = None

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:

        if not requests:
            return []
        prompts = [r.prompt_ids for r in requests]
        if any(not p for p in prompts):
            raise ValueError("HFBackend needs non-empty prompt_ids in every request")
        generator = self._generator_for(sampling.seed)
        stop_check = self._stop_check(sampling.stop) if sampling.stop else None
        order = sorted(range(len(prompts)), key=lambda i: prompts[i])  # equal prompts side by side
        out: list[Generation | None] = [None] * len(prompts)
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, len(order), self.micro_batch):
                chunk = order[start : start + self.micro_batch]
                rows = decode(
                    self.model,
                    [list(prompts[i]) for i in chunk],
                    max_tokens=sampling.max_tokens,
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    eos_ids=self.eos_ids,
                    pad_id=self.pad_id,
                    stop_check=stop_check,
                    generator=generator,
                )
                for i, row in zip(chunk, rows, strict=True):
                    out[i] = self._generation(row.token_ids, row.logprobs, row.finish_reason)
        finally:
            if was_training:
                self.model.train()
        return [g for g in out if g is not None]

    def _generator_for(self, seed: int | None) -> Any:
        """One random stream per seed, seeded once and carried across calls: each turn and each
        training step draws fresh numbers (reseeding per call would replay the same draws every
        turn), and a run from the same seed making the same calls is still reproducible."""
        import torch

        if seed is None:
            return None
        if self._generator is None or self._generator_seed != seed:
            self._generator = torch.Generator(device=next(self.model.parameters()).device)
            self._generator.manual_seed(seed)
            self._generator_seed = seed
        return self._generator

    def _stop_check(self, stops: tuple[str, ...]) -> Any:
        longest = max(len(s) for s in stops)

        def ends_with_stop(ids: list[int]) -> bool:
            window = ids[-(longest + 2) :]
            tail = self.tokenizer.decode(window, skip_special_tokens=False)
            before = self.tokenizer.decode(window[:-1], skip_special_tokens=False)
            return any(s in tail and s not in before for s in stops)

        return ends_with_stop

    def _generation(self, ids: list[int], logprobs: list[float], finish: str) -> Generation:
        ended = bool(ids) and ids[-1] in self.eos_ids
        text = self.tokenizer.decode(ids[:-1] if ended else ids, skip_special_tokens=False)
        return Generation(text=text, token_ids=ids, logprobs=logprobs, finish_reason=finish)

    def close(self) -> None:
        self.model = None
