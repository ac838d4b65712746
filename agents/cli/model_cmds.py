"""CLI: model tiny."""

from __future__ import annotations

from pathlib import Path

import typer

model_app = typer.Typer(help="Models for tests and CPU runs.", no_args_is_help=True)


@model_app.command("tiny")
def tiny_cmd(
    out_dir: Path = typer.Argument(..., help="Folder to write the model, tokenizer and chat template to."),
    vocab_size: int = typer.Option(1024, help="Tokenizer vocabulary (BPE trained locally)."),
    hidden_size: int = typer.Option(64, help="Hidden size."),
    layers: int = typer.Option(2, help="Transformer layers."),
    seed: int = typer.Option(0, help="Seed of the weights and of the tokenizer's training text."),
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
