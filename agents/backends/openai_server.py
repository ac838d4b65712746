"""OpenAI-compatible server backend (``vllm serve``, hosted APIs).

With a tokenizer, prompts go to ``/v1/completions`` as token ids and the server's token ids and logprobs
come back (vLLM's ``return_token_ids``); without one, conversations go to ``/v1/chat/completions`` and
only text comes back.
"""

from __future__ import annotations

import contextlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from agents.backends.base import Generation, GenerationRequest, SamplingConfig


class BackendError(RuntimeError):
    """The server failed or answered something unusable (an infrastructure failure, not a reward of 0)."""


class OpenAIBackend:
    """Talks to an OpenAI-compatible server at ``base_url`` (e.g. ``http://localhost:8000/v1``)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        tokenizer: Any = None,
        api_key: str | None = None,
        timeout_s: float = 300.0,
        max_concurrency: int = 32,
    ):
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model
        self.tokenizer = tokenizer
        key = api_key or os.environ.get("OPENAI_API_KEY", "EMPTY")
        self.client = httpx.Client(timeout=timeout_s, headers={"Authorization": f"Bearer {key}"})
        self.max_concurrency = max_concurrency

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = self.client.post(self.base_url + path, json=body)
        except httpx.HTTPError as exc:
            raise BackendError(f"{self.base_url}{path}: {exc}") from exc
        if resp.status_code != 200:
            raise BackendError(f"{self.base_url}{path}: HTTP {resp.status_code}: {resp.text[:500]}")
        return resp.json()

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        if not requests:
            return []
        if self.tokenizer is not None:
            return self._complete_tokens(requests, sampling)
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(requests))) as pool:
            return list(pool.map(lambda r: self._chat(r, sampling), requests))

    def _sampling_body(self, sampling: SamplingConfig) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        return body

    def _complete_tokens(
        self, requests: list[GenerationRequest], sampling: SamplingConfig
    ) -> list[Generation]:
        body = self._sampling_body(sampling)
        body.update(
            prompt=[r.prompt_ids for r in requests],
            logprobs=0,
            return_token_ids=True,
            return_tokens_as_token_ids=True,
            skip_special_tokens=False,
            include_stop_str_in_output=True,
        )
        data = self._post("/completions", body)
        choices = sorted(data.get("choices", []), key=lambda c: c["index"])
        if len(choices) != len(requests):
            raise BackendError(f"asked for {len(requests)} completions, got {len(choices)}")
        return [self._from_completion(c) for c in choices]

    def _from_completion(self, choice: dict[str, Any]) -> Generation:
        text = choice.get("text") or ""
        ids = choice.get("token_ids")
        lp = choice.get("logprobs") or {}
        tokens = lp.get("tokens") or []
        if ids is None and tokens and all(str(t).startswith("token_id:") for t in tokens):
            ids = [int(str(t).split(":", 1)[1]) for t in tokens]
        if ids is None:
            ids = self.tokenizer.encode(text, add_special_tokens=False)
        logprobs = lp.get("token_logprobs")
        if logprobs is not None and len(logprobs) != len(ids):
            logprobs = None
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        eos = self.tokenizer.eos_token
        if eos and text.endswith(eos):
            text = text[: -len(eos)]
        elif finish == "stop" and ids and ids[-1] == self.tokenizer.eos_token_id:
            text = self.tokenizer.decode(ids[:-1], skip_special_tokens=False)
        return Generation(text=text, token_ids=list(ids), logprobs=logprobs, finish_reason=finish)

    def _chat(self, request: GenerationRequest, sampling: SamplingConfig) -> Generation:
        body = self._sampling_body(sampling)
        body["messages"] = request.messages
        if request.tools:
            body["tools"] = request.tools
        data = self._post("/chat/completions", body)
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError) as exc:
            raise BackendError(f"malformed chat completion: {str(data)[:300]}") from exc
        text = message.get("content") or ""
        for call in message.get("tool_calls") or []:
            fn = call.get("function", {})
            args = fn.get("arguments", "{}")
            with contextlib.suppress(json.JSONDecodeError):
                args = json.loads(args) if isinstance(args, str) else args
            text += (
                "\n<tool_call>\n" + json.dumps({"name": fn.get("name"), "arguments": args}) + "\n</tool_call>"
            )
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        return Generation(text=text, finish_reason=finish)

    def close(self) -> None:
        self.client.close()
