"""GRPO training through TRL's ``GRPOTrainer`` with toolgym's multi-turn rollouts.

TRL calls ``rollout_func`` with the batch's prompts; each prompt here is an episode spec (env id and
task seed, as JSON), repeated ``num_generations`` times by TRL's sampler so that a GRPO group is one
task. The rollout engine plays the episodes with the policy being trained and returns token ids, the
env mask (tool and env output excluded from the loss) and the env reward, which the reward function
hands back to TRL.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.backends.base import Generation, GenerationRequest, SamplingConfig
from agents.env_pool import EnvPool
from agents.env_runner import EnvHost
from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine, check_ray_address
from agents.trajectory import Trajectory, save_jsonl

LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo")
#: Training draws task seeds at or above this; held-out evaluation uses seeds below it.
TRAIN_SEED_BASE = 1_000_000
REPORT_TO = ("none", "tensorboard", "wandb")
VLLM_MODES = ("colocate", "server")


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``toolgym train`` needs; ``validate`` names the bad field."""

    env_ids: tuple[str, ...]
    model: str
    output_dir: str = "runs/train"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    env_weights: tuple[float, ...] | None = None
    max_steps: int = 10
    prompts_per_step: int = 2
    num_generations: int = 4
    num_iterations: int = 1
    learning_rate: float = 1e-5
    beta: float = 0.0
    loss_type: str = "dapo"
    temperature: float = 1.0
    max_turns: int = 4
    max_tokens_per_turn: int = 128
    max_total_tokens: int = 4096
    max_concurrency: int = 16
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    vllm_server_url: str | None = None
    report_to: str = "tensorboard"
    save_steps: int = 0
    seed: int = 0
    save_trajectories: bool = True
    threads: int | None = None
    eval_tasks: int = 0
    eval_seed: int = 0
    ray_address: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Fail with a message naming the bad field and the allowed range."""
        if not self.env_ids:
            raise ValueError("env_ids: give at least one env id")
        if self.env_weights is not None:
            if len(self.env_weights) != len(self.env_ids):
                raise ValueError(f"env_weights: {len(self.env_weights)} weights for {len(self.env_ids)} envs")
            if any(w < 0 for w in self.env_weights) or sum(self.env_weights) <= 0:
                raise ValueError("env_weights must be >= 0 with a positive sum")
        checks = {
            "max_steps": (self.max_steps, 1, 10_000_000),
            "prompts_per_step": (self.prompts_per_step, 1, 100_000),
            "num_generations": (self.num_generations, 2, 1024),
            "num_iterations": (self.num_iterations, 1, 64),
            "max_turns": (self.max_turns, 1, 1000),
            "max_tokens_per_turn": (self.max_tokens_per_turn, 1, 1_000_000),
            "max_total_tokens": (self.max_total_tokens, 16, 10_000_000),
            "max_concurrency": (self.max_concurrency, 1, 4096),
            "lora_r": (self.lora_r, 1, 4096),
            "save_steps": (self.save_steps, 0, 10_000_000),
        }
        for name, (value, lo, hi) in checks.items():
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
        if not 0 <= self.eval_tasks <= 100_000:
            raise ValueError(f"eval_tasks must be in [0, 100000], got {self.eval_tasks}")
        if self.eval_tasks and not 0 <= self.eval_seed <= TRAIN_SEED_BASE - self.eval_tasks:
            raise ValueError(
                f"eval_seed must keep the held-out seeds below {TRAIN_SEED_BASE} (training draws above)"
            )
        if self.threads is not None and not 1 <= self.threads <= 4096:
            raise ValueError(f"threads must be in [1, 4096] or None, got {self.threads}")
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1], got {self.learning_rate}")
        if not 0 <= self.beta <= 100:
            raise ValueError(f"beta must be in [0, 100], got {self.beta}")
        if not 0 < self.temperature <= 10:
            raise ValueError(f"temperature must be in (0, 10], got {self.temperature}")
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {self.loss_type!r}")
        if self.report_to not in REPORT_TO:
            raise ValueError(f"report_to must be one of {REPORT_TO}, got {self.report_to!r}")
        if self.vllm_mode not in VLLM_MODES:
            raise ValueError(f"vllm_mode must be one of {VLLM_MODES}, got {self.vllm_mode!r}")
        check_ray_address(self.ray_address)


def episode_prompt(env_id: str, seed: int) -> str:
    """The dataset prompt of one task: a JSON episode spec that ``rollout_func`` decodes."""
    return json.dumps({"env_id": env_id, "seed": seed})


def build_dataset(cfg: TrainConfig):
    """A ``datasets.Dataset`` of episode specs: envs mixed by ``env_weights``, task seeds from ``seed``."""
    from datasets import Dataset

    rng = np.random.default_rng(cfg.seed)
    n = cfg.max_steps * cfg.prompts_per_step + cfg.prompts_per_step
    weights = np.asarray(cfg.env_weights or [1.0] * len(cfg.env_ids), dtype=float)
    picks = rng.choice(len(cfg.env_ids), size=n, p=weights / weights.sum())
    seeds = rng.integers(TRAIN_SEED_BASE, 2**31 - 1, size=n)
    rows = [episode_prompt(cfg.env_ids[int(i)], int(s)) for i, s in zip(picks, seeds, strict=True)]
    return Dataset.from_dict({"prompt": rows})


def specs_from_prompts(prompts: list[Any], env_kwargs: dict[str, Any]) -> list[EpisodeSpec]:
    """Episode specs from TRL's (repeated) prompts; repeats of one task get sample numbers 0, 1, ..."""
    seen: Counter[str] = Counter()
    specs = []
    for prompt in prompts:
        key = prompt if isinstance(prompt, str) else json.dumps(prompt)
        try:
            spec = json.loads(key)
            env_id, seed = spec["env_id"], int(spec["seed"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"a training prompt must be an episode spec from episode_prompt(), got {key!r}"
            ) from exc
        specs.append(EpisodeSpec(env_id, seed=seed, sample=seen[key], env_kwargs=dict(env_kwargs)))
        seen[key] += 1
    return specs


#: How many times a training batch's episodes whose env host was lost are played again.
LOST_REPLAYS = 3


def run_replaying_lost(
    engine: RolloutEngine, specs: list[EpisodeSpec], trajectories_path: Path | None = None
) -> list[Trajectory]:
    """Run the episodes; play again (up to ``LOST_REPLAYS`` times) those whose env's host was lost (a
    Ray actor or node: ``meta["env_lost"]``), the same task with the same policy, elsewhere. Every
    trajectory played, the lost ones too, goes to ``trajectories_path``; any other error stays."""
    trajectories = engine.run(specs)
    if trajectories_path is not None:
        save_jsonl(trajectories, trajectories_path, append=True)
    for _ in range(LOST_REPLAYS):
        lost = [i for i, t in enumerate(trajectories) if t.error is not None and t.meta.get("env_lost")]
        if not lost:
            break
        again = engine.run([specs[i] for i in lost])
        if trajectories_path is not None:
            save_jsonl(again, trajectories_path, append=True)
        for i, t in zip(lost, again, strict=True):
            trajectories[i] = t
    return trajectories


def rollout_output(trajectories: list[Trajectory]) -> dict[str, Any]:
    """What TRL's ``rollout_func`` returns: ids, logprobs, the env mask and the reward parts."""
    have_logprobs = all(t.completion_logprobs is not None for t in trajectories)
    for t in trajectories:
        if t.error:
            raise RuntimeError(f"episode of {t.env_id} task {t.task_id} failed: {t.error}")
    return {
        "prompt_ids": [t.prompt_ids for t in trajectories],
        "completion_ids": [t.completion_ids or [] for t in trajectories],
        "logprobs": [t.completion_logprobs for t in trajectories] if have_logprobs else None,
        "env_mask": [t.env_mask for t in trajectories],
        "env_reward": [t.reward for t in trajectories],
        "env_success": [float(bool(t.is_success)) for t in trajectories],
        "env_turns": [float(t.num_turns) for t in trajectories],
        "env_tool_calls": [float(t.num_tool_calls) for t in trajectories],
    }


#: Rewards handed to TRL are rounded to multiples of 2**-REWARD_BITS (see ``exact_reward``).
REWARD_BITS = 12


def exact_reward(reward: float) -> float:
    """``reward`` rounded to a multiple of 2**-12, so that TRL's float32 mean of a group whose rewards
    are all equal is exactly that reward (for |reward| < 16 and groups of up to 256). Unrounded, a
    group of eight -0.3 or 0.9 rewards gets a float32 mean one ulp off, a std of about 3e-8 (not
    "zero" to TRL), and every sample the same advantage of about -3e-4 after division by std + 1e-4:
    a gradient from a group with nothing to learn, which Adam scales up to full-size steps when every
    group of a step is like that, and which the step line counted as "signal"."""
    scale = float(2**REWARD_BITS)
    return round(float(reward) * scale) / scale


def env_reward(
    prompts: list[Any], completions: list[Any], env_reward: list[float], **kwargs: Any
) -> list[float]:
    """TRL reward function: the env's episode return, computed during the rollout (``exact_reward``)."""
    log_metric = kwargs.get("log_metric")
    if log_metric is not None:
        for key in ("env_success", "env_turns", "env_tool_calls"):
            if key in kwargs:
                log_metric(key, float(np.mean(kwargs[key])))
    return [exact_reward(r) for r in env_reward]


class TRLServerBackend:
    """Generation through TRL's vLLM server client (``trl vllm-serve``), token ids in and out."""

    def __init__(self, client: Any, tokenizer: Any):
        self.client = client
        self.tokenizer = tokenizer

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        out = self.client.generate(
            prompts=[r.prompt_ids for r in requests],
            n=1,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            logprobs=0,
        )
        gens = []
        eos = self.tokenizer.eos_token_id
        for ids, lps in zip(
            out["completion_ids"], out.get("logprobs") or [None] * len(requests), strict=True
        ):
            flat = [float(x[0] if isinstance(x, list) else x) for x in lps] if lps is not None else None
            ended = bool(ids) and ids[-1] == eos
            text = self.tokenizer.decode(ids[:-1] if ended else ids, skip_special_tokens=False)
            finish = "stop" if ended or len(ids) < sampling.max_tokens else "length"
            gens.append(Generation(text=text, token_ids=list(ids), logprobs=flat, finish_reason=finish))
        return gens

    def close(self) -> None:
        pass


def policy_backend(trainer: Any) -> Any:
    """The backend that samples from the policy being trained: TRL's vLLM (colocated or server) when
    ``use_vllm``, else the model itself through transformers."""
    tokenizer = trainer.processing_class
    if getattr(trainer, "use_vllm", False):
        from agents.backends.vllm_engine import VLLMBackend

        gen = trainer.vllm_generation
        if getattr(gen, "llm", None) is not None:
            return VLLMBackend(gen.llm, tokenizer=tokenizer)
        return TRLServerBackend(gen.vllm_client, tokenizer)
    from agents.backends.hf import HFBackend

    return HFBackend(trainer.accelerator.unwrap_model(trainer.model), tokenizer=tokenizer)


def make_rollout_func(
    cfg: TrainConfig, trajectories_path: Path | None = None, env_pool: EnvPool | EnvHost | None = None
):
    """TRL's ``rollout_func``: play the batch's episodes with the current policy. Its envs stay in
    ``env_pool`` (one of its own if none is given; a ``RayEnvs`` keeps them in Ray actors) from step
    to step: each step resets them."""
    rollout_cfg = RolloutConfig(
        sampling=SamplingConfig(max_tokens=cfg.max_tokens_per_turn, temperature=cfg.temperature),
        max_turns=cfg.max_turns,
        max_concurrency=cfg.max_concurrency,
        max_total_tokens=cfg.max_total_tokens,
    )

    envs = env_pool if env_pool is not None else EnvPool()

    def rollout_func(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        specs = specs_from_prompts(prompts, cfg.env_kwargs)
        with RolloutEngine(policy_backend(trainer), rollout_cfg, env_pool=envs) as engine:
            trajectories = run_replaying_lost(engine, specs, trajectories_path)
        return rollout_output(trajectories)

    return rollout_func


def grpo_config(cfg: TrainConfig):
    """TRL's ``GRPOConfig`` for this run (gradient checkpointing off: generation happens inside
    ``rollout_func``)."""
    import torch
    from trl import GRPOConfig

    on_gpu = torch.cuda.is_available()
    kwargs: dict[str, Any] = dict(
        output_dir=cfg.output_dir,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.prompts_per_step * cfg.num_generations,
        gradient_accumulation_steps=1,
        num_generations=cfg.num_generations,
        num_iterations=cfg.num_iterations,
        max_completion_length=cfg.max_total_tokens,
        learning_rate=cfg.learning_rate,
        beta=cfg.beta,
        loss_type=cfg.loss_type,
        temperature=cfg.temperature,
        logging_steps=1,
        save_strategy="steps" if cfg.save_steps else "no",
        save_steps=cfg.save_steps or 500,
        report_to=[] if cfg.report_to == "none" else [cfg.report_to],
        seed=cfg.seed,
        use_cpu=not on_gpu,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        use_vllm=cfg.use_vllm,
        vllm_mode=cfg.vllm_mode,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    names = {f.name for f in dataclasses.fields(GRPOConfig)}
    kwargs[
        "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    ] = False
    if cfg.use_vllm and cfg.vllm_mode == "server" and cfg.vllm_server_url:
        kwargs["vllm_server_base_url"] = cfg.vllm_server_url
    return GRPOConfig(**kwargs)


@dataclass
class TrainResult:
    """What a run left: per-step mean rewards, where the model, plot and trajectories are."""

    steps: list[int]
    rewards: list[float]
    output_dir: Path
    plot_path: Path | None
    trajectories_path: Path | None
    log_history: list[dict[str, Any]]
    held_out_before: list[Any] = field(default_factory=list)
    held_out_after: list[Any] = field(default_factory=list)


def held_out_eval(
    cfg: TrainConfig, model: Any, tokenizer: Any, out_path: Path, env_pool: EnvHost | None = None
) -> list[Any]:
    """Success on ``eval_tasks`` held-out tasks per env (seeds ``eval_seed ..``), sampled as in training;
    on the run's Ray actors when ``env_pool`` is its ``RayEnvs``."""
    from agents.backends.hf import HFBackend
    from agents.evaluate import EvalConfig, evaluate

    eval_cfg = EvalConfig(
        env_ids=cfg.env_ids,
        n=cfg.eval_tasks,
        seed=cfg.eval_seed,
        env_kwargs=dict(cfg.env_kwargs),
        rollout=RolloutConfig(
            sampling=SamplingConfig(
                max_tokens=cfg.max_tokens_per_turn, temperature=cfg.temperature, seed=cfg.seed
            ),
            max_turns=cfg.max_turns,
            max_concurrency=cfg.max_concurrency,
            max_total_tokens=cfg.max_total_tokens,
        ),
    )
    backend = HFBackend(model, tokenizer=tokenizer)
    return evaluate(backend, eval_cfg, out_path=out_path, env_pool=env_pool).summaries


def train(cfg: TrainConfig) -> TrainResult:
    """Run GRPO on the envs of ``cfg``; save the final model, a reward plot and the trajectories."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from transformers import AutoModelForCausalLM
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl import GRPOTrainer

    from agents.backends import load_tokenizer
    from agents.backends.hf import set_threads
    from agents.models import resolve_model
    from agents.plot import plot_rewards
    from agents.prefix_sharing import install_prefix_sharing
    from agents.train_report import LOG_FILE, step_printer

    set_threads(cfg.threads)

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    rank = int(os.environ.get("RANK", "0"))
    name = (
        "trajectories.jsonl" if int(os.environ.get("WORLD_SIZE", "1")) == 1 else f"trajectories.{rank}.jsonl"
    )
    traj_path = out / name if cfg.save_trajectories else None
    if traj_path is not None and traj_path.exists():
        traj_path.unlink()
    model_path = resolve_model(cfg.model)
    tokenizer = load_tokenizer(model_path)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype="auto")
    peft_config = None
    if cfg.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules="all-linear", task_type="CAUSAL_LM"
        )
    # the rollout envs, kept from step to step: here, or in Ray actors across a cluster
    env_pool: EnvPool | EnvHost
    if cfg.ray_address is not None:
        from agents.ray_envs import RayEnvs

        env_pool = RayEnvs(cfg.ray_address, max_concurrency=cfg.max_concurrency)
    else:
        env_pool = EnvPool()
    ray_envs = None if isinstance(env_pool, EnvPool) else env_pool
    try:
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[env_reward],
            args=grpo_config(cfg),
            train_dataset=build_dataset(cfg),
            processing_class=tokenizer,
            peft_config=peft_config,
            rollout_func=make_rollout_func(cfg, traj_path, env_pool),
            callbacks=[step_printer(cfg.max_steps, log_path=out / LOG_FILE)],
        )
        install_prefix_sharing(model)  # the policy's forward, patched by TRL with its fused LM head
        for noisy in (PrinterCallback, ProgressCallback):  # the step printer says it in one line
            trainer.remove_callback(noisy)
        before = []
        if cfg.eval_tasks:
            before = held_out_eval(cfg, model, tokenizer, out / "held_out_before.jsonl", ray_envs)
        trainer.train()
        trainer.save_model(str(out / "final"))
        after = []
        if cfg.eval_tasks:
            final = trainer.accelerator.unwrap_model(trainer.model)
            after = held_out_eval(cfg, final, tokenizer, out / "held_out_after.jsonl", ray_envs)
    finally:
        env_pool.close()
    history = list(trainer.state.log_history)
    steps, rewards = reward_curve(history)
    plot_path = None
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(str(out / "final"))
        success = [float(e["env_success"]) for e in history if "reward" in e and "env_success" in e]
        plot_path = plot_rewards(steps, rewards, out / "reward.png", success=success) if steps else None
        (out / "log_history.json").write_text(json.dumps(history, indent=1))
    return TrainResult(steps, rewards, out, plot_path, traj_path, history, before, after)


def reward_curve(history: list[dict[str, Any]]) -> tuple[list[int], list[float]]:
    """(step, mean reward) pairs from TRL's log history."""
    steps, rewards = [], []
    for entry in history:
        if "reward" in entry and "step" in entry and not math.isnan(float(entry["reward"])):
            steps.append(int(entry["step"]))
            rewards.append(float(entry["reward"]))
    return steps, rewards
