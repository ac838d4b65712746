"""CLI: ``toolgym sandbox serve`` (the sandbox service) and ``toolgym sandbox run`` (one snippet)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

sandbox_app = typer.Typer(
    help="Isolated code execution: run the sandbox service or one snippet.", no_args_is_help=True
)


@sandbox_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(0, min=0, help="Warm workers (0: sized to the machine)."),
    backend: str = typer.Option("bwrap", help="bwrap, rlimits (unsafe, needs --allow-unsafe) or docker."),
    max_pending: int = typer.Option(1024, min=1, help="Runs waiting or running before requests get 429."),
    max_sessions: int = typer.Option(32, min=0, help="Open persistent sessions at most."),
    allow_unsafe: bool = typer.Option(False, help="Accept the rlimits-only backend (no isolation)."),
) -> None:
    """Serve POST /run, /run_batch, /sessions, GET /health and /metrics."""
    from sandbox.service import serve as run_service

    typer.echo(f"toolgym sandbox service on http://{host}:{port} (backend {backend})", err=True)
    run_service(
        host,
        port,
        max_pending=max_pending,
        workers=workers,
        backend=backend,
        max_sessions=max_sessions,
        allow_unsafe=allow_unsafe,
    )


@sandbox_app.command("run")
def run(
    path: Annotated[Path, typer.Argument(help="File with the code; '-' reads standard input.")],
    language: str = typer.Option("python", help="python or bash."),
    timeout_s: float = typer.Option(10.0, help="Wall-clock limit in seconds."),
    memory_mb: int = typer.Option(512, help="Address-space limit in MiB."),
    url: str = typer.Option(None, help="Sandbox service URL (default $TOOLGYM_SANDBOX_URL, else embedded)."),
) -> None:
    """Run one file in the sandbox and print its output; exits with the code's status."""
    from sandbox import get_sandbox

    code = sys.stdin.read() if str(path) == "-" else path.read_text()
    result = get_sandbox(url).run(code, language=language, timeout_s=timeout_s, memory_mb=memory_mb)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    typer.echo(f"[{result.status}] exit={result.exit_code} wall={result.wall_s:.3f}s", err=True)
    raise typer.Exit(0 if result.ok else 1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the toolgym app."""
    app.add_typer(sandbox_app, name="sandbox")
