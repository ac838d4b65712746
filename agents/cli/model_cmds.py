"""CLI: model tiny, model list, model get."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

model_app = typer.Typer(help="Models for tests and CPU runs.", no_args_is_help=True, rich_markup_mode=None)


@contextmanager
def model_errors() -> Iterator[None]:
    """Print a ``ModelError`` (missing package, unknown name) as one line and exit with status 2."""
    from agents import models

    try:
        yield
    except models.ModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@model_app.command("tiny")
def tiny_cmd(
    out_dir: Annotated[
        Path, typer.Argument(help="Folder to write the model, tokenizer and chat template to.")
    ],
    vocab_size: Annotated[int, typer.Option(help="Tokenizer vocabulary (BPE trained locally).")] = 1024,
    hidden_size: Annotated[
        int,
        typer.Option(
            help="Hidden size; 2 heads, so 128 gives the head size 64 that vLLM CPU kernels support."
        ),
    ] = 128,
    layers: Annotated[int, typer.Option(help="Transformer layers.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the weights and of the tokenizer's training text.")] = 0,
) -> None:
    """Create a tiny random tool-calling model (Qwen2 architecture): no download, a few seconds."""
    from agents.tiny_model import TinyModelConfig, build_tiny_model

    try:
        cfg = TinyModelConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_layers=layers, seed=seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    path = build_tiny_model(out_dir, cfg)
    typer.echo(f"tiny model written to {path}")


@model_app.command("list")
def list_cmd() -> None:
    """List the models shipped inside installed packages, usable as ``--model NAME``."""
    from rich.console import Console
    from rich.table import Table

    from agents import models

    table = Table(title="toolgym models (in Python packages)")
    for col in ("name", "package", "installed", "checkpoint"):
        table.add_column(col, style="bold" if col == "name" else None, overflow="fold")
    for name, entry in sorted(models.REGISTRY.items()):
        cached = models.cache_path(name)
        table.add_row(
            name,
            entry.distribution,
            "yes" if entry.installed() else f"no: {entry.install_hint}",
            str(cached) if models.is_checkpoint_of(cached, name) else "not yet written",
        )
    Console().print(table)


@model_app.command("get")
def get_cmd(
    name: Annotated[str, typer.Argument(help="A model name from `toolgym model list`.")],
    out_dir: Annotated[
        Path | None,
        typer.Argument(help="Folder to write the checkpoint to (default: $TOOLGYM_HOME/models/NAME)."),
    ] = None,
) -> None:
    """Write a ready Hugging Face checkpoint (float32, tokenizer, tool-calling chat template) of a model
    shipped in a package: once, in about a minute; later calls reuse it."""
    from agents import models

    with model_errors():
        entry = models.lookup(name)
        out = out_dir if out_dir is not None else models.cache_path(name)
        if models.is_checkpoint_of(out, name):
            typer.echo(f"{name} is already in {out}")
            return
        entry.source()
        typer.echo(f"converting {entry.filename} from {entry.distribution} (about a minute) ...", err=True)
        path = models.write_checkpoint(name, out)
    typer.echo(f"{name} written to {path}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the toolgym app."""
    app.add_typer(model_app, name="model")
