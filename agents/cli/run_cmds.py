"""CLI: eval and train (the agent loop)."""

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.cli.env_args import KwargOption, kwarg_message, parse_kwargs
from agents.cli.flags import EVAL_FLAGS, TRAIN_FLAGS, config_error
from agents.cli.model_cmds import model_errors


def check_envs(env_ids: list[str], env_kwargs: dict | None = None) -> None:
    """A one-line CLI error for an env id gymnasium does not know, or (with ``env_kwargs``) for
    keyword arguments an env refuses (an unknown name, a bad value, a missing task file)."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the toolgym envs)

    for env_id in env_ids:
        if env_id not in gym.registry:
            known = ", ".join(sorted(k for k in gym.registry if k.startswith("toolgym/")))
            raise typer.BadParameter(f"unknown env {env_id!r}; registered toolgym envs: {known}")
        if env_kwargs is not None:
            try:
                gym.make(env_id, **env_kwargs).close()
            except (TypeError, ValueError, FileNotFoundError) as exc:
                raise typer.BadParameter(f"{env_id}: {kwarg_message(exc, env_kwargs)}") from None


def check_ray(ray_address: str | None) -> None:
    """A one-line CLI error for ``--ray-address`` without Ray installed."""
    import importlib.util

    if ray_address is not None and importlib.util.find_spec("ray") is None:
        raise typer.BadParameter("--ray-address needs Ray: pip install 'toolgym[ray]'")


RAY_HELP = (
    "Run the envs in Ray actors across a cluster: auto (the running one), local (start one here) "
    "or its address (host:port)."
)


def _fmt(x: float) -> str:
    return "-" if isinstance(x, float) and math.isnan(x) else f"{x:.3f}"


def eval_cmd(
    env: Annotated[
        list[str], typer.Option("--env", help="Env id (repeat for several), e.g. toolgym/Countdown-v0.")
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Local path, a name from `toolgym model list`, or a hub name (the tokenizer, with --base-url).",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1."),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="hf, vllm or openai; auto: openai with --base-url, else hf.")
    ] = "auto",
    served_model: Annotated[
        str | None, typer.Option(help="Model name the server knows (default: --model).")
    ] = None,
    tokenizer: Annotated[
        str | None, typer.Option(help="Tokenizer for token-in/token-out against a server.")
    ] = None,
    n: Annotated[int, typer.Option("-n", help="Tasks per env (seeds --seed .. --seed+n-1).")] = 10,
    k: Annotated[int, typer.Option("-k", help="Samples per task (pass@k, maj@k, best-of-k).")] = 1,
    seed: Annotated[int, typer.Option(help="First task seed.")] = 0,
    kwarg: KwargOption = None,
    max_turns: Annotated[int, typer.Option(help="Turn cap per episode (the env has its own too).")] = 8,
    max_tokens: Annotated[int, typer.Option(help="Tokens per model turn.")] = 512,
    max_total_tokens: Annotated[int, typer.Option(help="Context cap per episode.")] = 8192,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling.")] = 1.0,
    concurrency: Annotated[int, typer.Option(help="Env steps (tool calls) running at once.")] = 16,
    think_budget: Annotated[
        int | None, typer.Option(help="Budget forcing: cap thinking at this many tokens per turn.")
    ] = None,
    wait: Annotated[
        int, typer.Option(help="Budget forcing: replace an early </think> by 'Wait' this many times.")
    ] = 0,
    out: Annotated[Path, typer.Option(help="Trajectories JSONL.")] = Path("runs/eval/trajectories.jsonl"),
    summary_json: Annotated[
        Path | None, typer.Option(help="Also write the summary table as JSON here.")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for torch (default: one per core).")
    ] = None,
    ray_address: Annotated[str | None, typer.Option(help=RAY_HELP)] = None,
) -> None:
    """Evaluate a model on envs: mean reward, pass@k, maj@k, best-of-k, turns, tool calls, format errors."""
    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from agents.backends import make_backend
    from agents.backends.base import SamplingConfig
    from agents.backends.openai_server import BackendError
    from agents.env_runner import EnvHostError
    from agents.evaluate import EvalConfig, evaluate
    from agents.rollout import RolloutConfig

    console = Console()
    if not model and not base_url:
        raise typer.BadParameter("give --model (local generation) or --base-url (a server)")
    kind = backend if backend != "auto" else ("openai" if base_url else "hf")
    if kind == "openai" and not (served_model or model):
        raise typer.BadParameter("--base-url needs --model or --served-model (the name the server knows)")
    check_envs(env, parse_kwargs(kwarg))
    try:
        cfg = EvalConfig(
            env_ids=tuple(env),
            n=n,
            k=k,
            seed=seed,
            env_kwargs=parse_kwargs(kwarg),
            rollout=RolloutConfig(
                sampling=SamplingConfig(max_tokens=max_tokens, temperature=temperature, top_p=top_p),
                max_turns=max_turns,
                max_concurrency=concurrency,
                max_total_tokens=max_total_tokens,
                think_budget=think_budget,
                wait_rounds=wait,
                ray_address=ray_address,
            ),
        )
    except ValueError as exc:
        raise config_error(exc, (EvalConfig, RolloutConfig, SamplingConfig), EVAL_FLAGS) from None
    check_ray(ray_address)
    hf_kwargs = {"threads": threads} if kind == "hf" else {}
    with model_errors():
        if kind == "openai":
            gen = make_backend(
                "openai",
                served_model or model,
                base_url=base_url,
                tokenizer=tokenizer or (model if served_model else None),
                max_concurrency=concurrency,
            )
        else:
            gen = make_backend(kind, model, tokenizer=tokenizer, **hf_kwargs)
    total = len(env) * n * k
    with Progress(
        TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        bar = progress.add_task("episodes", total=total)
        try:
            result = evaluate(gen, cfg, out_path=out, on_episode_end=lambda _t: progress.advance(bar))
        except BackendError as exc:
            console.print(f"[red]generation failed: {exc}[/red]")
            console.print(f"episodes finished before the failure are in {out}")
            raise typer.Exit(1) from exc
        except EnvHostError as exc:
            console.print(f"[red]{exc}[/red]", soft_wrap=True)
            raise typer.Exit(1) from exc
        finally:
            gen.close()
    table = Table(title=f"toolgym eval: {total} episodes, k={k}", box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1))
    columns: list[tuple[str, Any]] = [
        ("env", lambda s: s.env_id.removeprefix("toolgym/")),
        ("tasks", lambda s: str(s.tasks)),
        ("err", lambda s: str(s.errors)),
        ("reward", lambda s: _fmt(s.mean_reward)),
        ("success", lambda s: _fmt(s.success_rate)),
    ]
    if k > 1:  # with one sample per task these equal the success rate (pass@1 always does)
        columns += [
            (f"pass@{k}", lambda s: _fmt(s.pass_at_k)),
            (f"maj@{k}", lambda s: _fmt(s.maj_at_k)),
            (f"best@{k}", lambda s: _fmt(s.best_of_k_reward)),
        ]
    columns += [
        ("turns", lambda s: f"{s.turns:.2f}"),
        ("tools", lambda s: f"{s.tool_calls:.2f}"),
        ("fmt err", lambda s: _fmt(s.format_error_rate)),
    ]
    for name, _ in columns:
        table.add_column(name, justify="left" if name == "env" else "right", no_wrap=True)
    for s in result.summaries:
        table.add_row(*(cell(s) for _, cell in columns))
    if Measurement.get(console, console.options.update_width(10_000), table).maximum <= console.width:
        console.print(table)
    else:  # too narrow for the table: one line per env, nothing cut
        console.print(table.title)
        for s in result.summaries:
            console.print("  ".join(f"{name} {cell(s)}" for name, cell in columns))
    console.print(f"trajectories: {out}")
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps([s.to_dict() for s in result.summaries], indent=1))
    errors = sum(s.errors for s in result.summaries if s.env_id != "all" or len(result.summaries) == 1)
    if errors:
        console.print(f"[red]{errors} episode(s) failed on infrastructure; see 'error' in the JSONL[/red]")
        raise typer.Exit(1)


def train_cmd(
    env: Annotated[list[str], typer.Option("--env", help="Env id (repeat to mix envs).")],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Local path (e.g. from `toolgym model tiny`), a name from `toolgym model list`, or a hub name.",
        ),
    ],
    env_weight: Annotated[
        list[float] | None, typer.Option("--env-weight", help="Mixture weight per --env, in order.")
    ] = None,
    kwarg: KwargOption = None,
    output_dir: Annotated[Path, typer.Option(help="Checkpoints, logs, plot, trajectories.")] = Path(
        "runs/train"
    ),
    steps: Annotated[int, typer.Option(help="Optimizer steps.")] = 10,
    prompts_per_step: Annotated[
        int, typer.Option(help="Tasks per step (each sampled --num-generations times).")
    ] = 2,
    num_generations: Annotated[int, typer.Option(help="GRPO group size.")] = 4,
    iterations: Annotated[
        int, typer.Option(help="Optimizer steps per generated batch (GRPO's mu; clipped ratio beyond 1).")
    ] = 1,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-5,
    beta: Annotated[float, typer.Option(help="KL coefficient (0: no reference model).")] = 0.0,
    loss_type: Annotated[
        str, typer.Option(help="grpo, dr_grpo, dapo or bnpo (TRL's loss variants).")
    ] = "dapo",
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    max_turns: Annotated[int, typer.Option(help="Turn cap per episode.")] = 4,
    max_tokens: Annotated[int, typer.Option(help="Tokens per model turn.")] = 128,
    max_total_tokens: Annotated[int, typer.Option(help="Context cap per episode.")] = 4096,
    concurrency: Annotated[int, typer.Option(help="Env steps (tool calls) running at once.")] = 16,
    lora: Annotated[bool, typer.Option(help="Train LoRA adapters (peft) instead of all weights.")] = False,
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    use_vllm: Annotated[bool, typer.Option(help="Generate with vLLM through TRL (CUDA only).")] = False,
    vllm_mode: Annotated[str, typer.Option(help="colocate or server (with `trl vllm-serve`).")] = "colocate",
    vllm_server_url: Annotated[
        str | None, typer.Option(help="TRL vLLM server URL for --vllm-mode server.")
    ] = None,
    report_to: Annotated[str, typer.Option(help="none, tensorboard or wandb.")] = "tensorboard",
    save_steps: Annotated[int, typer.Option(help="Checkpoint every N steps (0: only the final model).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the task draw and of TRL.")] = 0,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for torch (default: one per core).")
    ] = None,
    eval_tasks: Annotated[
        int,
        typer.Option(help="Held-out tasks per env to score before and after training (0: none)."),
    ] = 0,
    eval_seed: Annotated[
        int, typer.Option(help="First held-out task seed (training draws seeds from 1,000,000 up).")
    ] = 0,
    ray_address: Annotated[str | None, typer.Option(help=RAY_HELP)] = None,
) -> None:
    """GRPO with multi-turn tool rollouts through TRL; ends with a reward summary and a PNG plot."""
    from rich.console import Console
    from rich.table import Table

    from agents.env_runner import EnvHostError
    from agents.models import resolve_model
    from agents.train import TrainConfig, train
    from agents.train_report import LOG_FILE, summary_warning

    console = Console()
    check_envs(env, parse_kwargs(kwarg))
    with model_errors():  # before TRL loads: a missing model fails fast, a packaged one is written now
        model = resolve_model(model)
    try:
        cfg = TrainConfig(
            env_ids=tuple(env),
            model=model,
            output_dir=str(output_dir),
            env_kwargs=parse_kwargs(kwarg),
            env_weights=tuple(env_weight) if env_weight else None,
            max_steps=steps,
            prompts_per_step=prompts_per_step,
            num_generations=num_generations,
            num_iterations=iterations,
            learning_rate=lr,
            beta=beta,
            loss_type=loss_type,
            temperature=temperature,
            max_turns=max_turns,
            max_tokens_per_turn=max_tokens,
            max_total_tokens=max_total_tokens,
            max_concurrency=concurrency,
            lora=lora,
            lora_r=lora_r,
            lora_alpha=2 * lora_r,
            use_vllm=use_vllm,
            vllm_mode=vllm_mode,
            vllm_server_url=vllm_server_url,
            report_to=report_to,
            save_steps=save_steps,
            seed=seed,
            threads=threads,
            eval_tasks=eval_tasks,
            eval_seed=eval_seed,
            ray_address=ray_address,
        )
    except ValueError as exc:
        raise config_error(exc, (TrainConfig,), TRAIN_FLAGS) from None
    check_ray(ray_address)
    try:
        result = train(cfg)
    except EnvHostError as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc
    table = Table(title="toolgym train: reward per step")
    for c in ("step", "reward", "success", "turns", "tool calls"):
        table.add_column(c, justify="right")
    for entry in result.log_history:
        if "reward" in entry:
            table.add_row(
                str(entry.get("step")),
                _fmt(float(entry["reward"])),
                _fmt(float(entry.get("env_success", float("nan")))),
                _fmt(float(entry.get("env_turns", float("nan")))),
                _fmt(float(entry.get("env_tool_calls", float("nan")))),
            )
    console.print(table)
    if result.rewards:
        first, last = result.rewards[0], result.rewards[-1]
        mean = sum(result.rewards) / len(result.rewards)
        console.print(
            f"reward: first {first:.3f}, last {last:.3f}, mean {mean:.3f}, best {max(result.rewards):.3f}"
        )
    for before, after in zip(result.held_out_before, result.held_out_after, strict=True):
        console.print(
            f"held-out success on {before.tasks} {before.env_id} tasks (seeds {eval_seed}.."
            f"{eval_seed + eval_tasks - 1}): before {_fmt(before.success_rate)}, "
            f"after {_fmt(after.success_rate)}"
        )
    warning = summary_warning(result.log_history)
    if warning:
        console.print(f"[yellow]{warning}[/yellow]")
    console.print(f"model: {result.output_dir / 'final'}")
    if result.plot_path:
        console.print(f"plot: {result.plot_path}")
    if result.trajectories_path:
        console.print(f"trajectories: {result.trajectories_path}")
    if (result.output_dir / LOG_FILE).is_file():
        console.print(f"raw logs (TRL's dicts, one per line): {result.output_dir / LOG_FILE}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the toolgym app."""
    app.command("eval")(eval_cmd)
    app.command("train")(train_cmd)
