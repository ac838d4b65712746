"""A tiny random causal LM with a locally trained tokenizer and a tool-calling chat template.

It needs no download: the tokenizer is a byte-level BPE trained in a second on generated text, the
weights are random. It is what the tests, the benchmarks and the README's first command run on CPU.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
TAG_TOKENS = ("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>")

_WORDS = tuple(
    [
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "is",
        "you",
        "that",
        "it",
        "for",
        "on",
        "with",
        "as",
        "are",
        "be",
        "this",
        "was",
        "have",
        "or",
        "by",
        "not",
        "from",
        "at",
        "which",
        "can",
        "answer",
        "question",
        "number",
        "numbers",
        "target",
        "use",
        "each",
        "exactly",
        "once",
        "make",
        "equal",
        "puzzle",
        "knight",
        "knave",
        "liar",
        "truth",
        "says",
        "tells",
        "island",
        "person",
        "people",
        "is",
        "a",
        "are",
        "both",
        "neither",
        "either",
        "true",
        "false",
        "call",
        "tool",
        "function",
        "result",
        "output",
        "input",
        "solve",
        "reason",
        "think",
        "step",
        "check",
        "value",
        "list",
        "add",
        "subtract",
        "multiply",
        "divide",
        "plus",
        "minus",
        "times",
        "search",
        "python",
        "code",
        "run",
        "test",
        "error",
        "name",
        "arguments",
        "string",
        "integer",
        "object",
        "description",
        "required",
        "type",
        "properties",
        "parameters",
        "final",
        "give",
        "your",
        "inside",
        "tags",
        "expression",
        "evaluate",
        "the",
        "following",
        "and",
        "then",
    ]
)


@dataclass(frozen=True)
class TinyModelConfig:
    """Sizes of the tiny model. All small enough to build and run in seconds on one CPU core."""

    vocab_size: int = 1024
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 2
    num_kv_heads: int = 1
    intermediate_size: int = 256
    max_position_embeddings: int = 8192
    seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Fail with a message naming the bad field."""
        if not 300 <= self.vocab_size <= 65536:
            raise ValueError(f"vocab_size must be in [300, 65536], got {self.vocab_size}")
        for name in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of num_heads ({self.num_heads})"
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"num_heads ({self.num_heads}) must be a multiple of num_kv_heads ({self.num_kv_heads})"
            )
        if not 512 <= self.max_position_embeddings <= 131072:
            raise ValueError(
                f"max_position_embeddings must be in [512, 131072], got {self.max_position_embeddings}"
            )


def chat_template(default_system: str | None = None) -> str:
    """The tool-calling chat template (Hermes/Qwen ``<tool_call>``/``<tool_response>`` style); with
    ``default_system``, a copy whose system text, when a conversation has none, is that text."""
    text = resources.files("agents").joinpath("templates/tool_chat.jinja").read_text(encoding="utf-8")
    if default_system is None:
        return text
    literal = json.dumps(default_system, ensure_ascii=False)  # also a valid Jinja string literal
    return "{%- set default_system = " + literal + " -%}\n" + text


def _corpus(rng: np.random.Generator, n_lines: int = 3000) -> list[str]:
    """Generated training text: words, numbers, arithmetic, tags and JSON tool calls."""
    lines = []
    tags = ["answer", "python", "search", "output", "information", "calc", "result"]
    for _ in range(n_lines):
        words = " ".join(rng.choice(_WORDS, size=int(rng.integers(4, 16))))
        nums = [int(x) for x in rng.integers(0, 1000, size=4)]
        ops = rng.choice(list("+-*/"), size=3)
        expr = f"({nums[0]} {ops[0]} {nums[1]}) {ops[1]} {nums[2]} {ops[2]} {nums[3]}"
        tag = str(rng.choice(tags))
        call = json.dumps({"name": tag, "arguments": {"expression": expr}})
        lines.append(f"{words.capitalize()}. <{tag}>{expr}</{tag}> = {sum(nums)}")
        lines.append(f"<tool_call>\n{call}\n</tool_call>\n<tool_response>\n{sum(nums)}\n</tool_response>")
        lines.append(json.dumps({"type": "function", "function": {"name": tag, "description": words}}))
    return lines


def build_tokenizer(cfg: TinyModelConfig):
    """Train a byte-level BPE on generated text; return a ``PreTrainedTokenizerFast`` with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import AddedToken, PreTrainedTokenizerFast

    rng = np.random.default_rng(cfg.seed)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size - len(TAG_TOKENS),
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(rng), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=["<|im_start|>"],
        padding_side="left",
        model_max_length=cfg.max_position_embeddings,
    )
    fast.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAG_TOKENS])
    fast.chat_template = chat_template()
    return fast


def build_tiny_model(out_dir: str | Path, cfg: TinyModelConfig | None = None) -> Path:
    """Write a tiny random Qwen2-architecture model, its tokenizer and chat template to ``out_dir``."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    cfg = cfg or TinyModelConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(cfg)
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        torch_dtype="float32",
    )
    torch.manual_seed(cfg.seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id, do_sample=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
