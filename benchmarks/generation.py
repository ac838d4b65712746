"""Rollout generation on CPU: toolgym's HF backend against plain ``model.generate``, same batch, same run.

The batch is what a GRPO step samples: ``--tasks`` Countdown prompts, each ``--group`` times,
``--max-tokens`` new tokens at temperature 1. Each method runs in its own process (so each peak
resident memory is its own), ``--repeats`` times alternating, and the best round counts.

    python -m benchmarks.generation --model smollm2-135m-instruct [--tasks 4 --group 8 --max-tokens 48]

Methods: ``generate`` is ``model.generate`` on the whole batch, left-padded; ``generate+scores`` adds
``output_scores`` and ``compute_transition_scores`` for per-token logprobs (what RL needs, and what the
backend used to do); ``toolgym`` is ``HFBackend.generate`` (logprobs included).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

METHODS = ("generate", "generate+scores", "toolgym")


def prompts(model_dir: str, tasks: int, group: int) -> tuple[object, list[list[int]]]:
    import gymnasium as gym

    import envs  # noqa: F401  (registers the envs)
    from agents.backends import load_tokenizer
    from agents.chat import ChatRenderer

    tok = load_tokenizer(model_dir)
    renderer = ChatRenderer(tok)
    out = []
    for seed in range(tasks):
        _, info = gym.make("toolgym/Countdown-v0").reset(seed=seed)
        out += [renderer.prompt_ids(info["messages"], None)] * group
    return tok, out


def run_one(method: str, model_dir: str, tasks: int, group: int, max_tokens: int, threads: int) -> dict:
    """Time one method in this process: new tokens per second and peak resident memory."""
    import torch
    from transformers import AutoModelForCausalLM

    from agents.backends.base import GenerationRequest, SamplingConfig
    from agents.backends.hf import HFBackend

    torch.set_num_threads(threads)
    tok, ids = prompts(model_dir, tasks, group)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    torch.manual_seed(0)
    start = time.perf_counter()
    if method == "toolgym":
        backend = HFBackend(model, tokenizer=tok)
        reqs = [GenerationRequest(messages=[], prompt_ids=p) for p in ids]
        gens = backend.generate(reqs, SamplingConfig(max_tokens=max_tokens, temperature=1.0, seed=0))
        new_tokens = sum(len(g.token_ids or []) for g in gens)
    else:
        width = max(len(p) for p in ids)
        pad = tok.pad_token_id
        input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
        mask = torch.zeros_like(input_ids)
        for i, p in enumerate(ids):
            input_ids[i, width - len(p) :] = torch.tensor(p)
            mask[i, width - len(p) :] = 1
        scores = method == "generate+scores"
        with torch.no_grad():
            out = model.generate(
                input_ids=input_ids, attention_mask=mask, max_new_tokens=max_tokens, do_sample=True,
                temperature=1.0, top_k=0, top_p=1.0, pad_token_id=pad, eos_token_id=tok.eos_token_id,
                output_scores=scores, return_dict_in_generate=True,
            )  # fmt: skip
            if scores:
                model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        new = out.sequences[:, width:]
        ended = (new == tok.eos_token_id).int().cumsum(-1)
        new_tokens = int(((ended == 0) | ((ended == 1) & (new == tok.eos_token_id))).sum())
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "seconds": seconds, "tokens": new_tokens, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="model name or folder")
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    parser.add_argument("--one", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(
            json.dumps(run_one(args.one, args.model, args.tasks, args.group, args.max_tokens, args.threads))
        )
        return
    from agents.models import resolve_model

    model_dir = resolve_model(args.model)
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for method in METHODS:
            cmd = [sys.executable, "-m", "benchmarks.generation", "--one", method, "--model", model_dir]
            cmd += ["--tasks", str(args.tasks), "--group", str(args.group)]
            cmd += ["--max-tokens", str(args.max_tokens), "--threads", str(args.threads)]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            rate = res["tokens"] / res["seconds"]
            if method not in best or rate > best[method]["rate"]:
                best[method] = {**res, "rate": rate}
    base = best["generate"]["rate"]
    rows = args.tasks * args.group
    print(f"batch {rows} rows ({args.tasks} prompts x {args.group}), {args.max_tokens} new tokens, "
          f"{args.threads} threads, best of {args.repeats}")  # fmt: skip
    print(f"{'method':<18}{'tokens/s':>10}{'peak MB':>10}{'vs generate':>13}")
    for method in METHODS:
        r = best[method]
        print(f"{method:<18}{r['rate']:>10.1f}{r['peak_mb']:>10.0f}{r['rate'] / base:>12.2f}x")
    if args.json:
        from benchmarks.headline import figure, write

        r = best["toolgym"]
        write(args.json, [
            figure(f"HF backend sampling, {args.model}, {rows} rows x {args.max_tokens} tokens, logprobs included",
                   r["rate"], "tokens/s", base, "plain model.generate, no logprobs", r["rate"] / base,
                   note=f"peak {r['peak_mb']:.0f} MB, model.generate {best['generate']['peak_mb']:.0f} MB"),
        ])  # fmt: skip


if __name__ == "__main__":
    main()
