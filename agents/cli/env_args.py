"""Env ids and keyword arguments as every command takes them: ``--kwarg NAME=VALUE`` and a checked
``gym.make`` whose refusals are CLI errors."""

import json
from typing import Annotated, Any

import typer

# One option for env keyword arguments in every command, with no short form: ``-k`` is eval's samples
# per task (pass@k), and only that.
KwargOption = Annotated[
    list[str] | None,
    typer.Option(
        "--kwarg",
        help="An env keyword argument as NAME=VALUE (VALUE is parsed as JSON if it can be); repeat.",
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
    except (TypeError, ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(kwarg_message(exc, kwargs)) from None


def kwarg_message(exc: Exception, kwargs: dict[str, Any]) -> str:
    """An env's refusal of its keyword arguments, said as a problem with ``--kwarg``: ``difficulty must
    be in [0, 1], got 7`` becomes ``--kwarg difficulty must be in [0, 1], got 7``."""
    message = str(exc).split(" was raised from the environment creator for ")[0]  # gymnasium's wrapping
    named = any(message.startswith((f"{name}:", f"{name} ")) for name in kwargs)
    return f"--kwarg {message}" if named else f"--kwarg: {message}"
