"""Episodes per second with a slow tool: toolgym's rollout engine against TRL's own tool loop.

Both sides play the same episodes: ``--turns`` turns that each call one tool taking ``--tool-ms``
milliseconds, then a final answer. Both generate in batches with the same scripted policy (the tool
call as text, tokenized with the tiny model's tokenizer) and the same simulated generation time per
batch (``--gen-ms``), so the difference is how the tool calls run: TRL's ``GRPOTrainer`` tool loop
(``tools=[...]``, its ``_generate`` with our generation stubbed in) calls them one after another; our
engine steps the envs concurrently, up to ``--concurrency`` at once.

    python -m benchmarks.agents_tool_concurrency [--episodes 32] [--tool-ms 50] [--turns 1 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.backends.base import Generation, GenerationRequest, SamplingConfig
from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine
from envs.core import Config, Task, ToolEnv, Verdict, tool

FINAL = "done"


@dataclass
class SlowToolConfig(Config):
    tool_ms: float = 50.0

    def validate(self) -> None:
        if not 0 <= self.tool_ms <= 60_000:
            raise ValueError(f"tool_ms must be in [0, 60000], got {self.tool_ms}")


class SlowToolEnv(ToolEnv):
    """Call ``lookup`` (it takes ``tool_ms``) as often as you like, then answer "done"."""

    config_cls = SlowToolConfig

    def instructions(self) -> str:
        return "Look things up, then answer."

    @tool
    def lookup(self, key: str) -> str:
        """Look a key up (slowly).

        Args:
            key: What to look up.
        """
        time.sleep(self.config.tool_ms / 1000)
        return f"value of {key}"

    def tools(self):
        return [self.lookup]

    def _make_task(self, rng: np.random.Generator) -> Task:
        return Task(
            id=f"slow/{int(rng.integers(1_000_000))}", prompt="Look up 'a', then answer.", answer=FINAL
        )

    def verify(self, task: Task, answer: str) -> Verdict:
        return Verdict.right() if answer.strip() == FINAL else Verdict.wrong("no")


CALL = '<tool_call>\n{"name": "lookup", "arguments": {"key": "a"}}\n</tool_call>'
ANSWER = '<tool_call>\n{"name": "answer", "arguments": {"answer": "done"}}\n</tool_call>'


class ScriptedPolicy:
    """Tool call for the first ``turns`` turns, then the answer; ``gen_ms`` of simulated time per batch."""

    def __init__(self, tokenizer: Any, turns: int, gen_ms: float):
        self.tokenizer, self.turns, self.gen_ms = tokenizer, turns, gen_ms
        self.calls = 0

    def ids(self, done_turns: int) -> list[int]:
        text = CALL if done_turns < self.turns else ANSWER
        return self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id]

    def batch_wait(self) -> None:
        self.calls += 1
        time.sleep(self.gen_ms / 1000)


class ScriptedBackend:
    """Our engine's backend over the scripted policy."""

    def __init__(self, policy: ScriptedPolicy):
        self.policy = policy
        self.tokenizer = policy.tokenizer

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        self.policy.batch_wait()
        out = []
        for r in requests:
            ids = self.policy.ids(sum(m["role"] == "assistant" for m in r.messages))
            out.append(Generation(self.tokenizer.decode(ids[:-1]), ids, [0.0] * len(ids)))
        return out

    def close(self) -> None:
        pass


def run_ours(policy: ScriptedPolicy, episodes: int, turns: int, tool_ms: float, concurrency: int) -> float:
    kwargs = {"protocol": "json", "max_turns": turns + 1, "tool_ms": tool_ms}
    cfg = RolloutConfig(max_turns=turns + 1, max_concurrency=concurrency)
    engine = RolloutEngine(ScriptedBackend(policy), cfg, make_env=lambda spec: SlowToolEnv(**spec.env_kwargs))
    specs = [EpisodeSpec("slow", seed=i, env_kwargs=kwargs) for i in range(episodes)]
    start = time.perf_counter()
    trajs = engine.run(specs)
    elapsed = time.perf_counter() - start
    engine.close()
    assert all(t.is_success and t.num_tool_calls == turns for t in trajs), "our episodes did not finish"
    return episodes / elapsed


def make_trl_trainer(model_dir: str, tool_ms: float, turns: int, episodes: int):
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer
    from trl.chat_template_utils import qwen3_template

    from agents.backends import load_tokenizer

    def lookup(key: str) -> str:
        """Look a key up (slowly).

        Args:
            key: What to look up.
        """
        time.sleep(tool_ms / 1000)
        return f"value of {key}"

    tokenizer = load_tokenizer(model_dir)
    tokenizer.response_template = qwen3_template  # the tiny template writes Qwen/Hermes tool calls
    args = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="trl-bench-"),
        per_device_train_batch_size=episodes,
        num_generations=2,
        max_completion_length=4096,
        max_tool_calling_iterations=turns,
        report_to=[],
        use_cpu=True,
        logging_steps=1,
        max_steps=1,
    )
    data = Dataset.from_dict(
        {"prompt": [[{"role": "user", "content": "Look up 'a', then answer."}]] * episodes}
    )
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[lambda completions, **kw: [0.0] * len(completions)],
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
        tools=[lookup],
    )
    return trainer, tokenizer


def run_trl(trainer: Any, policy: ScriptedPolicy, episodes: int, turns: int) -> float:
    tok = policy.tokenizer
    response_open = tok.convert_tokens_to_ids("<tool_response>")

    def generate_single_turn(prompt_ids, images, multimodal_fields, num_generations, **kwargs):
        policy.batch_wait()
        ids = [policy.ids(sum(1 for t in p if t == response_open)) for p in prompt_ids]
        return ids, [[0.0] * len(i) for i in ids]

    trainer._generate_single_turn = generate_single_turn
    prompts = [[{"role": "user", "content": "Look up 'a', then answer."}] for _ in range(episodes)]
    trainer._sync_tool_dicts = [{"lookup": trainer._standalone_tools[0]} for _ in range(episodes)]
    trainer._async_tool_dicts = [{} for _ in range(episodes)]
    start = time.perf_counter()
    _, completion_ids, tool_mask, completions, *_ = trainer._generate(prompts)
    elapsed = time.perf_counter() - start
    calls = [sum(m["role"] == "tool" for m in c) for c in completions]
    assert calls == [turns] * episodes, f"TRL's episodes made {set(calls)} tool calls, not {turns}"
    return episodes / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--tool-ms", type=float, default=50.0)
    parser.add_argument("--gen-ms", type=float, default=20.0)
    parser.add_argument("--turns", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="also write the figures here (no PATH: print them)",
    )
    args = parser.parse_args()

    from agents.backends import load_tokenizer
    from agents.tiny_model import build_tiny_model

    model_dir = build_tiny_model(tempfile.mkdtemp(prefix="tiny-"))
    tokenizer = load_tokenizer(str(model_dir))
    print(
        f"{args.episodes} episodes, tool {args.tool_ms:g} ms, generation {args.gen_ms:g} ms per batch, "
        f"our concurrency {args.concurrency}"
    )
    print(f"{'turns':>5} {'ours ep/s':>10} {'TRL ep/s':>10} {'ratio':>7}")
    results = []
    for turns in args.turns:
        ours = run_ours(
            ScriptedPolicy(tokenizer, turns, args.gen_ms),
            args.episodes,
            turns,
            args.tool_ms,
            args.concurrency,
        )
        trainer, _ = make_trl_trainer(str(model_dir), args.tool_ms, turns, args.episodes)
        trl = run_trl(trainer, ScriptedPolicy(tokenizer, turns, args.gen_ms), args.episodes, turns)
        results.append({"turns": turns, "ours_eps": ours, "trl_eps": trl, "ratio": ours / trl})
        print(f"{turns:>5} {ours:>10.2f} {trl:>10.2f} {ours / trl:>6.1f}x")
    if args.json:
        from benchmarks.headline import figure, write

        write(args.json, [
            figure(f"rollout engine, {args.tool_ms:g} ms tool, {r['turns']} tool turn{'s' * (r['turns'] > 1)}",
                   r["ours_eps"], "episodes/s", r["trl_eps"], "TRL's own tool loop", r["ratio"])
            for r in results
        ], {"results": results})  # fmt: skip


if __name__ == "__main__":
    main()
