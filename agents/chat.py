"""Chat-template rendering to token ids: prompts, and the tokens of env replies appended after a turn."""

from __future__ import annotations

from typing import Any

_PROBE_USER = {"role": "user", "content": "probe"}
_PROBE_REPLY = "PROBE_REPLY_7f3a"


class ChatRenderer:
    """Renders conversations with a tokenizer's chat template, token-in/token-out.

    The tokens of env messages appended after a model turn are found by rendering a fixed probe
    conversation with and without them, so earlier tokens are never re-tokenized.
    """

    def __init__(self, tokenizer: Any):
        if getattr(tokenizer, "chat_template", None) is None:
            raise ValueError("the tokenizer has no chat template; multi-turn rollouts need one")
        self.tokenizer = tokenizer
        self.eos_text = tokenizer.eos_token or ""
        self.eos_id = tokenizer.eos_token_id
        self._turn_end = self._assistant_turn_end()

    def render(
        self, messages: list[dict[str, Any]], tools: list[dict] | None, generation_prompt: bool
    ) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tools=tools or None, tokenize=False, add_generation_prompt=generation_prompt
        )

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def prompt_ids(self, messages: list[dict[str, Any]], tools: list[dict] | None) -> list[int]:
        """Token ids of a conversation followed by the assistant header."""
        return self.encode(self.render(messages, tools, generation_prompt=True))

    def _assistant_turn_end(self) -> str:
        """What the template writes after an assistant message's content (e.g. ``<|im_end|>\\n``)."""
        text = self.render([_PROBE_USER, {"role": "assistant", "content": _PROBE_REPLY}], None, False)
        return text[text.rindex(_PROBE_REPLY) + len(_PROBE_REPLY) :]

    def env_reply_ids(self, env_messages: list[dict[str, Any]], turn_ids: list[int]) -> list[int]:
        """Tokens after a model turn ``turn_ids``: the rest of its end of turn, the env messages and the
        next assistant header."""
        base = [_PROBE_USER, {"role": "assistant", "content": _PROBE_REPLY}]
        before = self.render(base, None, False)
        after = self.render(base + list(env_messages), None, True)
        if not after.startswith(before):
            raise ValueError(
                "the chat template re-renders earlier turns when env messages follow; cannot append"
            )
        closing = self._turn_end
        if turn_ids and turn_ids[-1] == self.eos_id and closing.startswith(self.eos_text):
            closing = closing[len(self.eos_text) :]
        return self.encode(closing + after[len(before) :])
