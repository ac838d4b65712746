"""The ``toolgym`` command line. Each module here adds its commands through ``register(app)``."""

from __future__ import annotations

import typer

from agents.cli import envs_cmds, export_cmds, model_cmds, run_cmds, sandbox_cmds, search_cmds, sft_cmds

app = typer.Typer(
    name="toolgym",
    help="Tool-using RL environments for LLMs: list, play, sample, evaluate, fine-tune, train and serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (envs_cmds, run_cmds, sft_cmds, model_cmds, export_cmds, sandbox_cmds, search_cmds):
    _module.register(app)


def main() -> None:
    """Entry point of the ``toolgym`` console script."""
    app()
