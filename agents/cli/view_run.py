"""What ``toolgym view`` and ``toolgym play --web`` run, without typer: ``view_cmds`` declares the
options, and ``main`` calls ``run_view`` directly for the usual ``view PATH... [--port N]`` (typer's
import and parsing cost 0.08-0.16 s of CPU, a tenth of the time to the viewer's first page)."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path
from typing import Any

#: ``--port``'s default.
DEFAULT_PORT = 8765


class ViewUsageError(ValueError):
    """A bad value on the command line or a missing package: one line, exit status 2."""


def need_server() -> None:
    """A ``ViewUsageError`` when a package the server needs is missing (looked up, not imported: msgspec
    is imported only to index a file that has no cached index)."""
    from importlib.util import find_spec

    for name in ("fastapi", "uvicorn", "msgspec"):
        if find_spec(name) is None:
            raise ViewUsageError(
                f"the viewer needs FastAPI, uvicorn and msgspec ({name} is missing): pip install 'toolgym[view]'"
            )


def free_port(port: int) -> int:
    """``port`` if it can be bound on 127.0.0.1 (any free one for 0), else a ``ViewUsageError``."""
    if not 0 <= port <= 65535:
        raise ViewUsageError(f"--port must be in [0, 65535], got {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise ViewUsageError(
                f"port {port} is in use on 127.0.0.1; pass another --port (0: any free one)"
            ) from None
        return s.getsockname()[1]


def serve(viewer: Any, port: int, what: str) -> None:
    """Serve the page on 127.0.0.1 until interrupted. Files not indexed yet start indexing as the
    server starts up (after the imports, so the first page comes sooner)."""
    import uvicorn

    from agents.view.app import create_app

    port = free_port(port)
    print(f"toolgym view: {what} at http://127.0.0.1:{port}/ (Ctrl+C stops)", flush=True)
    try:
        uvicorn.run(
            create_app(viewer), host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
        )
    finally:
        if viewer.playground is not None:
            viewer.playground.close_all()


def run_view(
    paths: list[Path],
    port: int = DEFAULT_PORT,
    html: Path | None = None,
    max_episodes: int = 1000,
    tokenizer: Path | None = None,
) -> None:
    """``toolgym view``: serve the runs of ``paths``, or write them to ``html``."""
    need_server()
    from agents.view.app import make_viewer

    viewer = make_viewer(list(paths), tokenizer=tokenizer, start=html is not None)
    if html is not None:
        from agents.view.export import write_html

        out = write_html(viewer, html, max_episodes)
        report_bad_lines(viewer)
        total = sum(len(i) for i in viewer.indexes.values())
        print(
            f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {total} episodes in {len(viewer.sources)} file(s))",
            flush=True,
        )
        return
    threading.Thread(target=report_bad_lines, args=(viewer,), daemon=True).start()
    serve(viewer, port, f"{len(viewer.sources)} trajectories file(s)")


def report_bad_lines(viewer: Any) -> None:
    """Once each file is indexed, one line on stderr for its malformed lines (the page lists them all)."""
    for source in viewer.sources:
        index = viewer.indexes[source.id]
        index.wait()
        if index.failure:
            print(f"{source.label}: {index.failure}", file=sys.stderr, flush=True)
        if index.bad_count:
            first = index.bad_lines[0]
            print(
                f"{source.label}: {index.bad_count} malformed line(s) skipped, the first at line {first.line}: "
                f"{first.error}",
                file=sys.stderr,
                flush=True,
            )


def plain_view_args(argv: list[str]) -> tuple[list[Path], int] | None:
    """``(paths, port)`` when ``argv`` is ``view PATH... [--port N]`` with nothing else (no other
    option, no ``--``, N a number), else None. That form, the usual one, needs no typer; anything else
    goes through typer as every command does."""
    if len(argv) < 2 or argv[0] != "view":
        return None
    paths: list[Path] = []
    port = DEFAULT_PORT
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
