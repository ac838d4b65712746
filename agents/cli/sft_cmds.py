"""CLI: sft (a cold start on env demonstrations, or rejection sampling on successful episodes)."""

from pathlib import Path
from typing import Annotated

import typer

from agents.cli.env_args import KwargOption, parse_kwargs
from agents.cli.flags import SFT_FLAGS, config_error
from agents.cli.model_cmds import model_errors
from agents.cli.run_cmds import check_envs


def sft_cmd(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Local path (e.g. from `toolgym model tiny`), a name from `toolgym model list`, or a hub name.",
        ),
    ],
    env: Annotated[
        list[str] | None,
        typer.Option("--env", help="Env whose demonstrations to train on (repeat for several)."),
    ] = None,
    kwarg: KwargOption = None,
    n: Annotated[int, typer.Option("-n", help="Demonstrations per env.")] = 64,
    from_trajectories: Annotated[
        list[Path] | None,
        typer.Option(
            "--from-trajectories",
            help="Train on the successful episodes of an eval/train trajectories JSONL (repeatable).",
        ),
    ] = None,
    steps: Annotated[
        int | None, typer.Option(help="Optimizer steps (instead of --epochs).", show_default=False)
    ] = None,
    epochs: Annotated[
        float | None, typer.Option(help="Passes over the examples (default 1).", show_default=False)
    ] = None,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-4,
    batch_size: Annotated[int, typer.Option(help="Examples per optimizer step.")] = 8,
    max_length: Annotated[
        int, typer.Option(help="Longest example in tokens; longer ones are left out.")
    ] = 4096,
    output_dir: Annotated[Path, typer.Option(help="Final model, loss plot, log, demonstrations.")] = Path(
        "runs/sft"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the demonstrations' tasks and of training.")] = 0,
    lora: Annotated[bool, typer.Option(help="Train LoRA adapters (peft) instead of all weights.")] = False,
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for torch (default: one per core).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Env steps (tool calls) running at once.")] = 16,
    report_to: Annotated[str, typer.Option(help="none, tensorboard or wandb.")] = "none",
) -> None:
    """SFT through TRL on the envs' own demonstrations (reference solutions played with real tool calls)
    and/or successful episodes (rejection sampling); the loss is on the model's tokens only."""
    from agents.models import resolve_model
    from agents.sft import SFTConfig, SFTDataError, train_sft

    if steps is not None and epochs is not None:
        raise typer.BadParameter("give --steps or --epochs, not both")
    if steps is not None and steps < 1:
        raise typer.BadParameter(f"--steps must be >= 1, got {steps}")
    files = [str(p) for p in from_trajectories or []]
    for path in files:
        if not Path(path).is_file():
            raise typer.BadParameter(f"--from-trajectories: no file {path!r}")
    check_envs(env or [], parse_kwargs(kwarg))
    with model_errors():  # before TRL loads: a missing model fails fast, a packaged one is written now
        model = resolve_model(model)
    try:
        cfg = SFTConfig(
            model=model,
            env_ids=tuple(env or ()),
            env_kwargs=parse_kwargs(kwarg),
            n_demos=n,
            trajectory_files=tuple(files),
            output_dir=str(output_dir),
            max_steps=steps or 0,
            epochs=epochs if epochs is not None else 1.0,
            learning_rate=lr,
            batch_size=batch_size,
            seed=seed,
            max_length=max_length,
            lora=lora,
            lora_r=lora_r,
            lora_alpha=2 * lora_r,
            threads=threads,
            max_concurrency=concurrency,
            report_to=report_to,
        )
    except ValueError as exc:
        raise config_error(exc, (SFTConfig,), SFT_FLAGS) from None
    try:
        result = train_sft(cfg, log=typer.echo)
    except SFTDataError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if result.losses:
        first, last = result.losses[0], result.losses[-1]
        typer.echo(f"loss: first {first:.4f}, last {last:.4f}, {len(result.steps)} steps")
    typer.echo(f"model: {result.output_dir / 'final'}")
    if result.plot_path:
        typer.echo(f"plot: {result.plot_path}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the toolgym app."""
    app.command("sft")(sft_cmd)
