"""CLI: ``envs`` (list), ``play`` (a person types the turns) and ``sample`` (tasks by seed)."""

import json
import sys
from typing import Annotated

import typer

from agents.cli.env_args import KwargOption, make_env, parse_kwargs
from agents.cli.output import console


def envs_table(width: int) -> str:
    """The registered envs as plain columns (id, family, description wrapped to ``width``)."""
    import textwrap

    import envs

    rows = [("id", "family", "description")] + [(e.env_id, e.family, e.description) for e in envs.ENVS]
    id_w, fam_w = (max(len(r[i]) for r in rows) for i in (0, 1))
    text_w = max(20, width - id_w - fam_w - 4)
    lines = []
    for env_id, family, description in rows:
        wrapped = textwrap.wrap(description, text_w) or [""]
        lines.append(f"{env_id:<{id_w}}  {family:<{fam_w}}  {wrapped[0]}".rstrip())
        lines += [f"{'':<{id_w + fam_w + 4}}{more}" for more in wrapped[1:]]
    return "\n".join(lines)


def envs_command() -> None:
    """List the registered envs."""
    import shutil

    sys.stdout.write(envs_table(shutil.get_terminal_size().columns) + "\n")


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
                console().rule(f"{env_id} seed={seed + i} task={task.id}")
                console().print(obs, markup=False)
                console().print(f"[green]reference answer:[/green] {task.answer}")
    finally:
        env.close()


def _read_turn() -> str | None:
    console().print("[dim]your turn (end with a line holding only '.', or ':q' to quit):[/dim]")
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
        console().rule("system")
        console().print(info["messages"][0]["content"], markup=False)
        console().rule(f"task {info['task_id']}")
        console().print(obs, markup=False)
        total = 0.0
        while True:
            turn = _read_turn()
            if turn is None:
                console().print("[yellow]quit[/yellow]")
                return
            obs, reward, terminated, truncated, info = env.step(turn)
            total += reward
            if obs:
                console().rule("observation")
                console().print(obs, markup=False)
            console().print(f"[dim]reward {reward:+.3f} parts {info['reward_components']}[/dim]")
            if terminated or truncated:
                status = {
                    True: "[green]solved[/green]",
                    False: "[red]not solved[/red]",
                    None: "[red]error[/red]",
                }
                console().print(f"episode over: {status[info.get('is_success')]}, return {total:+.3f}")
                if info.get("error"):
                    console().print(f"[red]{info['error']}[/red]")
                return
    finally:
        env.close()


def register(app: typer.Typer) -> None:
    """Add ``envs``, ``sample`` and ``play``."""
    app.command("envs")(envs_command)
    app.command("sample")(sample_command)
    app.command("play")(play_command)
