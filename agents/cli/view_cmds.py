"""CLI: ``view`` (eval and train runs in the browser) and what ``play --web`` serves: the options, over
``view_run`` (which ``main`` also calls directly for the plain ``view PATH... [--port N]``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.cli.view_run import DEFAULT_PORT, ViewUsageError, need_server, run_view, serve


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    """``ViewUsageError`` as typer's one-line usage error."""
    try:
        yield
    except ViewUsageError as exc:
        raise typer.BadParameter(str(exc)) from None


def view_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Trajectories JSONL files (eval's --out) and run folders (train's --output-dir)."
        ),
    ],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free one).")] = DEFAULT_PORT,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write one self-contained HTML file here instead of serving."),
    ] = None,
    max_episodes: Annotated[
        int,
        typer.Option(
            min=1, help="With --html: episodes of each run put in the file (the summary covers all)."
        ),
    ] = 1000,
    tokenizer: Annotated[
        Path | None,
        typer.Option(
            help="A model folder (or tokenizer.json) to show token texts; a train run's final/ is used by itself."
        ),
    ] = None,
) -> None:
    """Look at runs in the browser: episodes filtered and sorted, the eval summary, each episode's
    conversation, tool calls, rewards and env mask, two runs side by side, a train run's curves."""
    with _usage_errors():
        run_view(paths, port, html, max_episodes, tokenizer)


def serve_play(env_id: str, seed: int | None, kwargs: dict[str, Any], port: int) -> None:
    """``toolgym play ID --web``: the page's playground on one env."""
    from agents.cli.env_args import make_env

    make_env(env_id, kwargs).close()  # an unknown id or a bad kwarg is a CLI error before serving
    with _usage_errors():
        need_server()
        from agents.view.app import make_viewer

        viewer = make_viewer([], play=True, play_env={"env_id": env_id, "seed": seed, "kwargs": kwargs})
        serve(viewer, port, f"playground for {env_id}")


def register(app: typer.Typer) -> None:
    """Add ``view``."""
    app.command("view")(view_command)
