"""CLI: model tiny."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

model_app = typer.Typer(help="Models for tests and CPU runs.", no_args_is_help=True)


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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the toolgym app."""
    app.add_typer(model_app, name="model")
