"""The ``toolgym`` command line. Each module here adds its commands through ``register(app)``. The
app is built on first use (``agents.cli.app`` builds it), so that ``main`` can start the plain
``toolgym view PATH... [--port N]`` without importing typer or the other commands."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer


@cache
def build_app() -> typer.Typer:
    """The ``toolgym`` typer app with every command registered."""
    import typer

    import agents.cli.view_cmds as view_cmds
    from agents.cli import (
        env_server_cmds,
        envs_cmds,
        export_cmds,
        model_cmds,
        run_cmds,
        sandbox_cmds,
        search_cmds,
        sft_cmds,
    )

    app = typer.Typer(
        name="toolgym",
        help="Tool-using RL environments for LLMs: list, play, sample, evaluate, fine-tune, train and serve.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # plain help: typer's rich help imports ~0.2 s of rich, markdown and pygments
    )
    for module in (
        envs_cmds,
        run_cmds,
        sft_cmds,
        model_cmds,
        export_cmds,
        sandbox_cmds,
        search_cmds,
        view_cmds,
        env_server_cmds,
    ):
        module.register(app)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point of the ``toolgym`` console script: a usage error or a missing file is one line on
    stderr (exit status 2), never a traceback or a box."""
    import sys

    from agents.cli.view_run import ViewUsageError, plain_view_args, run_view

    plain_view = plain_view_args(sys.argv[1:])
    if plain_view is not None:  # `view PATH... [--port N]`: the same call as typer's, without typer
        try:
            run_view(*plain_view)
        except ViewUsageError as exc:
            print(f"error: Invalid value: {exc} (see toolgym view --help)", file=sys.stderr)
            sys.exit(2)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        sys.exit(0)
    import typer

    from agents.cli import envs_cmds

    if sys.argv[1:] == ["envs"]:  # no options to parse: skip typer's parsing, which imports pydantic
        envs_cmds.envs_command()
        sys.exit(0)
    app = build_app()
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = 1
    except typer.TyperException as exc:  # typer's click usage errors (bad option, unknown command)
        if not hasattr(exc, "format_message"):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `toolgym` or a group alone: its help, no error
            typer.echo(exc.format_message())
            sys.exit(2)
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see {ctx.command_path} --help)"
        message = exc.format_message()
        if message.startswith("No such option: -k"):
            message += " (env keyword arguments are --kwarg NAME=VALUE; -k is eval's samples per task)"
        typer.echo(f"error: {message}{hint}", err=True)
        code = getattr(exc, "exit_code", 2)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        typer.echo(f"error: {exc}", err=True)
        code = 2
    sys.exit(code if isinstance(code, int) else 0)
