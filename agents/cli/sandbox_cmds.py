"""CLI: ``toolgym sandbox serve`` (the sandbox service), ``toolgym sandbox run`` (one snippet) and
``toolgym sandbox python-setup`` (the interpreter for runs, with numpy and the scientific stack)."""

import dataclasses
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from sandbox.config import MAX_BODY_BYTES, SandboxConfig

DEFAULT = {f.name: f.default for f in dataclasses.fields(SandboxConfig)}

sandbox_app = typer.Typer(
    help="Isolated code execution: run the sandbox service or one snippet; provision the runs' interpreter.",
    no_args_is_help=True,
    rich_markup_mode=None,
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
    timeout_s: float = typer.Option(DEFAULT["timeout_s"], help="A run's timeout when it names none."),
    memory_mb: int = typer.Option(DEFAULT["memory_mb"], help="A run's memory (MiB) when it names none."),
    max_output_bytes: int = typer.Option(
        DEFAULT["max_output_bytes"], help="Stdout and stderr of a run, each."
    ),
    max_timeout_s: float = typer.Option(DEFAULT["max_timeout_s"], help="Cap on a request's timeout_s."),
    max_memory_mb: int = typer.Option(DEFAULT["max_memory_mb"], help="Cap on a request's memory_mb."),
    max_code_bytes: int = typer.Option(DEFAULT["max_code_bytes"], help="Cap on a request's code (413)."),
    max_stdin_bytes: int = typer.Option(DEFAULT["max_stdin_bytes"], help="Cap on a request's stdin (413)."),
    max_files: int = typer.Option(DEFAULT["max_files"], help="Cap on the number of a request's files."),
    max_files_bytes: int = typer.Option(
        DEFAULT["max_files_bytes"], help="Cap on a request's files, all together (413)."
    ),
    max_batch: int = typer.Option(DEFAULT["max_batch"], help="Cap on the runs of one run_batch."),
    max_batch_output_bytes: int = typer.Option(
        DEFAULT["max_batch_output_bytes"], help="Output one run_batch answer holds, all runs together."
    ),
    max_body_bytes: int = typer.Option(
        MAX_BODY_BYTES, min=1024, max=1024**3, help="Cap on any request body (413)."
    ),
) -> None:
    """Serve POST /run, /run_batch, /sessions, GET /health and /metrics. Requests past a cap get 422
    (a limit or count) or 413 (a size) naming the field and the cap; see docs/sandbox.md."""
    from sandbox import service

    config = dict(
        workers=workers,
        backend=backend,
        max_sessions=max_sessions,
        allow_unsafe=allow_unsafe,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        max_output_bytes=max_output_bytes,
        max_timeout_s=max_timeout_s,
        max_memory_mb=max_memory_mb,
        max_code_bytes=max_code_bytes,
        max_stdin_bytes=max_stdin_bytes,
        max_files=max_files,
        max_files_bytes=max_files_bytes,
        max_batch=max_batch,
        max_batch_output_bytes=max_batch_output_bytes,
    )
    try:
        SandboxConfig(**config)  # a bad flag is said here, before any worker starts
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if backend != "docker":
        _check_interpreter(backend)
    typer.echo(f"toolgym sandbox service on http://{host}:{port} (backend {backend})", err=True)
    service.serve(host, port, max_pending=max_pending, max_body_bytes=max_body_bytes, **config)


@sandbox_app.command("run")
def run(
    path: Annotated[Path, typer.Argument(help="File with the code; '-' reads standard input.")],
    language: str = typer.Option("python", help="python or bash."),
    timeout_s: float = typer.Option(10.0, help="Wall-clock limit in seconds."),
    memory_mb: int = typer.Option(512, help="Address-space limit in MiB."),
    url: str = typer.Option(None, help="Sandbox service URL (default $TOOLGYM_SANDBOX_URL, else embedded)."),
) -> None:
    """Run one file in the sandbox and print its output; exits with the code's status."""
    from agents.cli.flags import in_flags
    from sandbox import get_sandbox

    if str(path) == "-":
        code = sys.stdin.read()
    elif not path.is_file():
        problem = "is a directory" if path.is_dir() else "no such file"
        raise typer.BadParameter(f"{problem}: {path}", param_hint="PATH")
    else:
        code = path.read_text()
    if not (url or os.environ.get("TOOLGYM_SANDBOX_URL")):
        _check_interpreter("bwrap")
    try:  # a bad --language, --timeout-s or --memory-mb, or one past the sandbox's caps
        result = get_sandbox(url).run(code, language=language, timeout_s=timeout_s, memory_mb=memory_mb)
    except ValueError as exc:
        raise typer.BadParameter(in_flags(str(exc), ["language", "timeout_s", "memory_mb"], {})) from None
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    typer.echo(f"[{result.status}] exit={result.exit_code} wall={result.wall_s:.3f}s", err=True)
    raise typer.Exit(0 if result.ok else 1)


@sandbox_app.command("python-setup")
def python_setup(
    folder: Annotated[
        Path | None,
        typer.Argument(help="Where to make the venv (default: $TOOLGYM_HOME/sandbox-python)."),
    ] = None,
    python: str = typer.Option(None, help="Interpreter to make it from (default: the system's python3)."),
    requirements: Annotated[
        Path | None,
        typer.Option(help="Requirements file to install instead of the shipped, pinned one."),
    ] = None,
) -> None:
    """Make a venv for sandboxed runs with numpy, scipy, sympy and mpmath (pinned) and print its
    interpreter's path: `export TOOLGYM_SANDBOX_PYTHON=$(toolgym sandbox python-setup)`. Packages come
    through pip's configured index; running it again does nothing."""
    from sandbox.provision import ProvisionError, setup_python

    try:
        path = setup_python(
            folder, base=python, requirements=requirements, log=lambda line: typer.echo(line, err=True)
        )
    except ProvisionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(path)


def _check_interpreter(backend: str) -> None:
    """A bad TOOLGYM_SANDBOX_PYTHON is one line and exit status 2, before anything starts."""
    from sandbox.launch import SandboxUnavailable, sandbox_python

    try:
        sandbox_python(None, backend)
    except SandboxUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the toolgym app."""
    app.add_typer(sandbox_app, name="sandbox")
