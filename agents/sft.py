"""Supervised fine-tuning (a cold start before GRPO) through TRL's ``SFTTrainer``.

The examples are token-in/token-out trajectories: demonstrations the envs generate themselves
(``agents.demos``) and/or the successful episodes of eval or train trajectory files (rejection
sampling: RFT, STaR). Each becomes a pre-tokenized row, ``input_ids`` = prompt + completion and
``completion_mask`` = 0 on the prompt, the env mask on the completion; with ``completion_only_loss``
TRL puts the loss on the model's own tokens only, the tokens GRPO trains on.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.trajectory import Trajectory, load_jsonl, save_jsonl

REPORT_TO = ("none", "tensorboard", "wandb")


class SFTDataError(ValueError):
    """The run has nothing to train on, or a trajectory file cannot be read."""


@dataclass(frozen=True)
class SFTConfig:
    """Everything ``toolgym sft`` needs; ``validate`` names the bad field.

    ``n_demos`` demonstrations per env of ``env_ids`` (task seeds from ``agents.demos.demo_seeds``) and
    the successful episodes of ``trajectory_files``. ``max_steps`` > 0 trains that many optimizer steps,
    else ``epochs`` passes. Examples longer than ``max_length`` tokens are left out (and counted).
    ``threads`` sets torch's CPU threads (None: one per core). ``model`` is a path, a name from
    ``agents.models`` or a hub name.
    """

    model: str
    env_ids: tuple[str, ...] = ()
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_demos: int = 64
    trajectory_files: tuple[str, ...] = ()
    output_dir: str = "runs/sft"
    max_steps: int = 0
    epochs: float = 1.0
    learning_rate: float = 1e-4
    batch_size: int = 8
    seed: int = 0
    max_length: int = 4096
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    threads: int | None = None
    max_concurrency: int = 16
    report_to: str = "none"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Fail with a message naming the bad field and the allowed range."""
        if not self.model:
            raise ValueError("model: give a model name or path")
        if not self.env_ids and not self.trajectory_files:
            raise ValueError(
                "env_ids, trajectory_files: give envs to demonstrate (--env) or trajectory files "
                "(--from-trajectories)"
            )
        checks = {
            "n_demos": (self.n_demos, 1, 1_000_000),
            "max_steps": (self.max_steps, 0, 10_000_000),
            "batch_size": (self.batch_size, 1, 4096),
            "seed": (self.seed, 0, 1_000_000),
            "max_length": (self.max_length, 16, 10_000_000),
            "lora_r": (self.lora_r, 1, 4096),
            "max_concurrency": (self.max_concurrency, 1, 4096),
        }
        for name, (value, lo, hi) in checks.items():
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
        if self.threads is not None and not 1 <= self.threads <= 4096:
            raise ValueError(f"threads must be in [1, 4096] or None, got {self.threads}")
        if not 0 < self.epochs <= 10_000:
            raise ValueError(f"epochs must be in (0, 10000], got {self.epochs}")
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1], got {self.learning_rate}")
        if self.report_to not in REPORT_TO:
            raise ValueError(f"report_to must be one of {REPORT_TO}, got {self.report_to!r}")


# ---- examples ------------------------------------------------------------------------------------


def sft_example(traj: Trajectory) -> dict[str, list[int]]:
    """A trajectory as a pre-tokenized row: ``input_ids`` and ``completion_mask`` (0 on the prompt, the
    env mask on the completion: 1 on the model's tokens, 0 on tool and env output)."""
    completion = traj.completion_ids
    return {
        "input_ids": list(traj.prompt_ids) + completion,
        "completion_mask": [0] * len(traj.prompt_ids) + traj.env_mask,
    }


def build_dataset(trajectories: Iterable[Trajectory], max_length: int) -> tuple[Any, int]:
    """A ``datasets.Dataset`` of ``sft_example`` rows, and how many were left out as longer than
    ``max_length``."""
    from datasets import Dataset

    rows = [sft_example(t) for t in trajectories]
    kept = [r for r in rows if len(r["input_ids"]) <= max_length]
    columns = {
        "input_ids": [r["input_ids"] for r in kept],
        "completion_mask": [r["completion_mask"] for r in kept],
    }
    return Dataset.from_dict(columns), len(rows) - len(kept)


def _prompt_messages(traj: Trajectory) -> list[dict[str, Any]]:
    """The messages before the first model turn: what the prompt ids render."""
    out = []
    for message in traj.messages:
        if message.get("role") == "assistant":
            break
        out.append(message)
    return out


def select_successful(
    trajectories: Iterable[Trajectory], renderer: Any | None = None
) -> tuple[list[Trajectory], Counter[str]]:
    """The episodes to train on (``is_success`` True, no error, token ids present and, given a
    ``ChatRenderer``, a prompt that renders to the stored prompt ids, i.e. the same tokenizer), and why
    the others were left out."""
    kept: list[Trajectory] = []
    dropped: Counter[str] = Counter()
    for traj in trajectories:
        if traj.error:
            dropped["error"] += 1
        elif traj.is_success is not True:
            dropped["not successful"] += 1
        elif not traj.prompt_ids or not traj.completion_ids:
            dropped["no token ids (a text-only backend)"] += 1
        elif (
            renderer is not None
            and renderer.prompt_ids(_prompt_messages(traj), traj.tools) != traj.prompt_ids
        ):
            dropped["tokenized with another tokenizer or chat template"] += 1
        else:
            kept.append(traj)
    return kept, dropped


def trajectories_from_files(
    paths: Sequence[str | Path], renderer: Any | None = None
) -> tuple[list[Trajectory], list[str]]:
    """The successful episodes of trajectory files, and a line per file saying how many were kept."""
    kept: list[Trajectory] = []
    lines = []
    for path in paths:
        try:
            trajectories = list(load_jsonl(path))
        except (OSError, ValueError) as exc:
            raise SFTDataError(f"cannot read trajectories from {path}: {exc}") from exc
        good, dropped = select_successful(trajectories, renderer)
        kept += good
        why = "".join(f", {n} {reason}" for reason, n in dropped.items())
        lines.append(f"trajectories: {path}: kept {len(good)} of {len(trajectories)}{why}")
    return kept, lines


# ---- training ------------------------------------------------------------------------------------


def trl_config(cfg: SFTConfig) -> Any:
    """TRL's ``SFTConfig`` for this run: loss on the completion mask, no packing, a log line per step."""
    import torch
    from trl import SFTConfig as TRLSFTConfig

    on_gpu = torch.cuda.is_available()
    kwargs: dict[str, Any] = dict(
        output_dir=cfg.output_dir,
        max_steps=cfg.max_steps or -1,
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=1,
        learning_rate=cfg.learning_rate,
        max_length=cfg.max_length,
        completion_only_loss=True,
        packing=False,
        logging_steps=1,
        save_strategy="no",
        report_to=[] if cfg.report_to == "none" else [cfg.report_to],
        seed=cfg.seed,
        use_cpu=not on_gpu,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    names = {f.name for f in dataclasses.fields(TRLSFTConfig)}
    kwargs[
        "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    ] = on_gpu
    return TRLSFTConfig(**kwargs)


@dataclass
class SFTResult:
    """What a run left: the loss per step, where the model and plot are, and what it trained on."""

    steps: list[int]
    losses: list[float]
    output_dir: Path
    plot_path: Path | None
    examples: int
    log_history: list[dict[str, Any]]


def loss_curve(history: list[dict[str, Any]]) -> tuple[list[int], list[float]]:
    """(step, training loss) pairs from the trainer's log history."""
    steps, losses = [], []
    for entry in history:
        if "loss" in entry and "step" in entry and not math.isnan(float(entry["loss"])):
            steps.append(int(entry["step"]))
            losses.append(float(entry["loss"]))
    return steps, losses


def _loss_printer(log: Callable[[str], None]) -> Any:
    """A ``TrainerCallback`` that logs a line per step: the loss and TRL's token accuracy."""
    from transformers import TrainerCallback

    class LossPrinter(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any):
            if state.is_world_process_zero and logs and "loss" in logs:
                acc = logs.get("mean_token_accuracy")
                extra = f" token accuracy {float(acc):.3f}" if acc is not None else ""
                log(f"step {state.global_step}/{state.max_steps} loss {float(logs['loss']):.4f}{extra}")

    return LossPrinter()


def collect_examples(cfg: SFTConfig, tokenizer: Any, log: Callable[[str], None]) -> list[Trajectory]:
    """The run's trajectories: the envs' demonstrations (saved to ``demonstrations.jsonl``) and the
    successful episodes of the trajectory files."""
    from agents.chat import ChatRenderer
    from agents.demos import demo_specs, play_demonstrations

    out: list[Trajectory] = []
    if cfg.env_ids:
        specs = demo_specs(cfg.env_ids, cfg.n_demos, cfg.seed, cfg.env_kwargs)
        report = play_demonstrations(specs, tokenizer, max_concurrency=cfg.max_concurrency)
        for line in report.lines():
            log(line)
        save_jsonl(report.kept, Path(cfg.output_dir) / "demonstrations.jsonl")
        out += report.kept
    if cfg.trajectory_files:
        kept, lines = trajectories_from_files(cfg.trajectory_files, ChatRenderer(tokenizer))
        for line in lines:
            log(line)
        out += kept
    return out


def train_sft(cfg: SFTConfig, log: Callable[[str], None] = print) -> SFTResult:
    """SFT on the run's examples; save the final model and tokenizer, a loss plot and the log."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from transformers import AutoModelForCausalLM, PrinterCallback
    from trl import SFTTrainer

    from agents.backends import load_tokenizer
    from agents.backends.hf import set_threads
    from agents.models import resolve_model
    from agents.plot import plot_loss
    from agents.prefix_sharing import install_prefix_sharing

    set_threads(cfg.threads)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = resolve_model(cfg.model)
    tokenizer = load_tokenizer(model_path)
    dataset, too_long = build_dataset(collect_examples(cfg, tokenizer, log), cfg.max_length)
    if too_long:
        log(f"left out {too_long} example(s) longer than max_length={cfg.max_length} tokens")
    if len(dataset) == 0:
        raise SFTDataError("no examples to train on: every demonstration or episode was left out (see above)")
    log(f"training on {len(dataset)} example(s)")
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype="auto")
    peft_config = None
    if cfg.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules="all-linear", task_type="CAUSAL_LM"
        )
    trainer = SFTTrainer(
        model=model,
        args=trl_config(cfg),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[_loss_printer(log)],
    )
    trainer.remove_callback(PrinterCallback)  # our line per step replaces its dict per step
    install_prefix_sharing(model)  # the forward TRL patched with its fused LM head
    trainer.train()
    trainer.save_model(str(out / "final"))
    history = list(trainer.state.log_history)
    steps, losses = loss_curve(history)
    plot_path = None
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(str(out / "final"))
        plot_path = plot_loss(steps, losses, out / "loss.png") if steps else None
        (out / "log_history.json").write_text(json.dumps(history, indent=1))
    return SFTResult(steps, losses, out, plot_path, len(dataset), history)
