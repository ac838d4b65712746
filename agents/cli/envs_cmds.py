"""CLI: ``envs`` (list), ``play`` (a person types the turns) and ``sample`` (tasks by seed)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()

KwargOption = Annotated[
    list[str] | None,
    typer.Option(
        "--kwarg", "-k", help="An env keyword argument as NAME=VALUE (VALUE is parsed as JSON if it can be)."
    ),
]


def parse_kwargs(pairs: list[str] | None) -> dict[str, Any]:
    """``["difficulty=0.5", "protocol=json"]`` -> ``{"difficulty": 0.5, "protocol": "json"}``."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, got {pair!r}")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
    return out


def make_env(env_id: str, kwargs: dict[str, Any]) -> Any:
    """``gymnasium.make`` with a clear CLI error for an unknown id or a bad keyword argument."""
    import gymnasium as gym

    import envs

    ids = [e.env_id for e in envs.ENVS]
    if env_id not in ids:
        raise typer.BadParameter(
            f"unknown env {env_id!r}; run `toolgym envs` to list them ({', '.join(ids)})"
        )
    try:
        return gym.make(env_id, **kwargs)
    except (TypeError, ValueError) as e:
        raise typer.BadParameter(str(e)) from None


def envs_command() -> None:
    """List the registered envs."""
    import envs

    table = Table(title="toolgym envs")
    table.add_column("id", style="bold")
    table.add_column("family")
    table.add_column("description")
    for entry in envs.ENVS:
        table.add_row(entry.env_id, entry.family, entry.description)
    console.print(table)


def sample_command(
    env_id: Annotated[str, typer.Argument(help="A registered env id, e.g. toolgym/Countdown-v0.")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many tasks.")] = 3,
    seed: Annotated[
        int, typer.Option(help="Seed of the first task; the next ones use seed+1, seed+2, ...")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    kwarg: KwargOption = None,
) -> None:
    """Print the tasks that reset(seed=S), reset(seed=S+1), ... produce, with a reference answer."""
    env = make_env(env_id, parse_kwargs(kwarg))
    try:
        for i in range(n):
            obs, info = env.reset(seed=seed + i)
            task = env.unwrapped.task
            record = {
                "env_id": env_id,
                "seed": seed + i,
                "task_id": task.id,
                "prompt": obs,
                "answer": task.answer,
                "messages": info["messages"],
                "metadata": task.metadata,
            }
            if as_json:
                sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            else:
                console.rule(f"{env_id} seed={seed + i} task={task.id}")
                console.print(obs, markup=False)
                console.print(f"[green]reference answer:[/green] {task.answer}")
    finally:
        env.close()


def _read_turn() -> str | None:
    console.print("[dim]your turn (end with a line holding only '.', or ':q' to quit):[/dim]")
    lines: list[str] = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line == ":q" and not lines:
            return None
        if line == ".":
            return "\n".join(lines)
        lines.append(line)
    return "\n".join(lines) if lines else None


def play_command(
    env_id: Annotated[str, typer.Argument(help="A registered env id.")],
    seed: Annotated[int | None, typer.Option(help="Seed of the task.")] = None,
    kwarg: KwargOption = None,
    web: Annotated[bool, typer.Option("--web", help="Play in the browser (the view page).")] = False,
    port: Annotated[int, typer.Option(help="Port of --web on 127.0.0.1 (0: any free one).")] = 8765,
) -> None:
    """Play an episode in the terminal (or with --web in the browser): you type the model's turns."""
    if web:
        from agents.cli.view_cmds import serve_play

        return serve_play(env_id, seed, parse_kwargs(kwarg), port)
    env = make_env(env_id, parse_kwargs(kwarg))
    try:
        obs, info = env.reset(seed=seed)
        console.rule("system")
        console.print(info["messages"][0]["content"], markup=False)
        console.rule(f"task {info['task_id']}")
        console.print(obs, markup=False)
        total = 0.0
        while True:
            turn = _read_turn()
            if turn is None:
                console.print("[yellow]quit[/yellow]")
                return
            obs, reward, terminated, truncated, info = env.step(turn)
            total += reward
            if obs:
                console.rule("observation")
                console.print(obs, markup=False)
            console.print(f"[dim]reward {reward:+.3f} parts {info['reward_components']}[/dim]")
            if terminated or truncated:
                status = {
                    True: "[green]solved[/green]",
                    False: "[red]not solved[/red]",
                    None: "[red]error[/red]",
                }
                console.print(f"episode over: {status[info.get('is_success')]}, return {total:+.3f}")
                if info.get("error"):
                    console.print(f"[red]{info['error']}[/red]")
                return
    finally:
        env.close()


def register(app: typer.Typer) -> None:
    """Add ``envs``, ``sample`` and ``play``."""
    app.command("envs")(envs_command)
    app.command("sample")(sample_command)
    app.command("play")(play_command)
