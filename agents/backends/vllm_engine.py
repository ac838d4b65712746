"""vLLM offline engine backend (GPU). ``vllm`` is imported only when this backend is built."""

from __future__ import annotations

from typing import Any

from agents.backends.base import Generation, GenerationRequest, SamplingConfig


class VLLMBackend:
    """Generates with ``vllm.LLM``. Pass a model path, or an existing ``LLM`` (e.g. TRL's colocated one)."""

    def __init__(self, model: Any, tokenizer: Any = None, **llm_kwargs: Any):
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ImportError("the vLLM backend needs vllm: pip install 'toolgym[vllm]'") from exc
        self.llm = LLM(model=model, **llm_kwargs) if isinstance(model, str) else model
        self.tokenizer = tokenizer or self.llm.get_tokenizer()

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        from vllm import SamplingParams

        if not requests:
            return []
        params = SamplingParams(
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            stop=list(sampling.stop) or None,
            include_stop_str_in_output=True,
            skip_special_tokens=False,
            seed=sampling.seed,
            logprobs=0,
        )
        prompts = [{"prompt_token_ids": r.prompt_ids} for r in requests]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        results = []
        eos_id = self.tokenizer.eos_token_id
        for out in outputs:
            o = out.outputs[0]
            ids = list(o.token_ids)
            logprobs = None
            if o.logprobs is not None:
                logprobs = [float(step[tok].logprob) for step, tok in zip(o.logprobs, ids, strict=True)]
            ended = bool(ids) and ids[-1] == eos_id
            text = self.tokenizer.decode(ids[:-1] if ended else ids, skip_special_tokens=False)
            finish = "length" if o.finish_reason == "length" else "stop"
            results.append(Generation(text=text, token_ids=ids, logprobs=logprobs, finish_reason=finish))
        return results

    def close(self) -> None:
        self.llm = None
