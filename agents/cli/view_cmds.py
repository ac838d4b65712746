"""CLI: ``view`` (eval and train runs in the browser) and what ``play --web`` serves."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Annotated, Any

import typer


def _need_server() -> None:
    try:
        import msgspec  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise typer.BadParameter(
            f"the viewer needs Starlette, uvicorn and msgspec ({exc.name} is missing): pip install 'toolgym[view]'"
        ) from None


def free_port(port: int) -> int:
    """``port`` if it can be bound on 127.0.0.1 (any free one for 0), else a one-line CLI error."""
    if not 0 <= port <= 65535:
        raise typer.BadParameter(f"--port must be in [0, 65535], got {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise typer.BadParameter(
                f"port {port} is in use on 127.0.0.1; pass another --port (0: any free one)"
            ) from None
        return s.getsockname()[1]


def serve(viewer: Any, port: int, what: str) -> None:
    """Serve the page on 127.0.0.1 until interrupted. Files not indexed yet start indexing as the
    server starts up (after the imports, so the first page comes sooner)."""
    import uvicorn

    from agents.view.app import create_app

    port = free_port(port)
    typer.echo(f"toolgym view: {what} at http://127.0.0.1:{port}/ (Ctrl+C stops)")
    try:
        uvicorn.run(
            create_app(viewer), host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
        )
    finally:
        if viewer.playground is not None:
            viewer.playground.close_all()


def view_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Trajectories JSONL files (eval's --out) and run folders (train's --output-dir)."
        ),
    ],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free one).")] = 8765,
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
    _need_server()
    from agents.view.app import make_viewer

    viewer = make_viewer(list(paths), tokenizer=tokenizer, start=html is not None)
    if html is not None:
        from agents.view.export import write_html

        out = write_html(viewer, html, max_episodes)
        _report_bad_lines(viewer)
        total = sum(len(i) for i in viewer.indexes.values())
        typer.echo(
            f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {total} episodes in {len(viewer.sources)} file(s))"
        )
        return
    threading.Thread(target=_report_bad_lines, args=(viewer,), daemon=True).start()
    serve(viewer, port, f"{len(viewer.sources)} trajectories file(s)")


def plain_view_args(argv: list[str]) -> tuple[list[Path], int] | None:
    """``(paths, port)`` when ``argv`` is ``view PATH... [--port N]`` with nothing else (no other
    option, no ``--``, N a number), else None. That form, the usual one, skips typer's parsing: typer
    coerces values through pydantic, whose import is about a sixth of the CPU time to the first page.
    Anything else goes through typer as before."""
    if len(argv) < 2 or argv[0] != "view":
        return None
    paths: list[Path] = []
    port = 8765
    rest = iter(argv[1:])
    for arg in rest:
        if arg.startswith("--port="):
            value = arg.removeprefix("--port=")
        elif arg == "--port":
            value = next(rest, "")
        elif arg.startswith("-") or not arg:
            return None
        else:
            paths.append(Path(arg))
            continue
        if not value.isascii() or not value.isdigit():
            return None
        port = int(value)
    return (paths, port) if paths else None


def _report_bad_lines(viewer: Any) -> None:
    """Once each file is indexed, one line on stderr for its malformed lines (the page lists them all)."""
    for source in viewer.sources:
        index = viewer.indexes[source.id]
        index.wait()
        if index.failure:
            typer.echo(f"{source.label}: {index.failure}", err=True)
        if index.bad_count:
            first = index.bad_lines[0]
            typer.echo(
                f"{source.label}: {index.bad_count} malformed line(s) skipped, the first at line {first.line}: "
                f"{first.error}",
                err=True,
            )


def serve_play(env_id: str, seed: int | None, kwargs: dict[str, Any], port: int) -> None:
    """``toolgym play ID --web``: the page's playground on one env."""
    from agents.cli.env_args import make_env

    make_env(env_id, kwargs).close()  # an unknown id or a bad kwarg is a CLI error before serving
    _need_server()
    from agents.view.app import make_viewer

    viewer = make_viewer([], play=True, play_env={"env_id": env_id, "seed": seed, "kwargs": kwargs})
    serve(viewer, port, f"playground for {env_id}")


def register(app: typer.Typer) -> None:
    """Add ``view``."""
    app.command("view")(view_command)
