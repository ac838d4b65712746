"""CLI: ``toolgym env serve`` (registered envs over the OpenEnv protocol)."""

from typing import Annotated

import typer

env_app = typer.Typer(
    help="Serve registered envs over the OpenEnv protocol (HTTP and WebSocket sessions).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@env_app.command("serve")
def serve(
    env_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Registered env ids to serve (default: all); the first is a reset's default."),
    ] = None,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8100, min=1, max=65535, help="Port to listen on."),
    max_sessions: int = typer.Option(256, min=1, max=100_000, help="Open sessions before new ones get 503."),
    idle_timeout_s: float = typer.Option(600.0, help="Close a session idle this long (seconds; 0: never)."),
) -> None:
    """Serve GET /health, /schema, /metadata, /state, /envs, POST /reset, /step, /mcp and WebSocket /ws
    sessions (each its own env) with OpenEnv's server; docs/env-server.md has the protocol."""
    from envs.registration import env_entry

    for env_id in env_ids or []:
        try:
            env_entry(env_id)
        except KeyError as exc:
            raise typer.BadParameter(str(exc.args[0]), param_hint="ENV_IDS") from None
    if idle_timeout_s < 0 or idle_timeout_s > 86_400:
        raise typer.BadParameter(
            f"must be in [0, 86400], got {idle_timeout_s}", param_hint="--idle-timeout-s"
        )
    try:
        from envs.server import service
    except ImportError as exc:
        raise typer.BadParameter(f"needs the openenv extra (pip install 'toolgym[openenv]'): {exc}") from None
    shown = ", ".join(env_ids) if env_ids else "every registered env"
    typer.echo(f"toolgym env server on http://{host}:{port} (ws://{host}:{port}/ws): {shown}", err=True)
    service.serve(
        tuple(env_ids or ()),
        host,
        port,
        max_sessions=max_sessions,
        idle_timeout_s=idle_timeout_s or None,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the toolgym app."""
    app.add_typer(env_app, name="env")
