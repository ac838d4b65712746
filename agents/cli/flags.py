"""Config errors in the words of the command line: a message about ``max_steps`` says ``--steps``.

The configs (``TrainConfig``, ``SFTConfig``, ``EvalConfig`` and the rollout and sampling configs under
it) name their own fields when they refuse a value; a user typed flags. Each command maps the fields
whose flag is not simply ``--field-name``; the tests check that every mapped flag exists.
"""

import re

import typer

TRAIN_FLAGS = {
    "env_ids": "--env",
    "env_weights": "--env-weight",
    "env_kwargs": "--kwarg",
    "max_steps": "--steps",
    "num_iterations": "--iterations",
    "learning_rate": "--lr",
    "max_tokens_per_turn": "--max-tokens",
    "max_concurrency": "--concurrency",
}
EVAL_FLAGS = {
    "env_ids": "--env",
    "env_kwargs": "--kwarg",
    "n": "-n",
    "k": "-k",
    "max_concurrency": "--concurrency",
    "wait_rounds": "--wait",
}
SFT_FLAGS = {
    "env_ids": "--env",
    "env_kwargs": "--kwarg",
    "n_demos": "-n",
    "trajectory_files": "--from-trajectories",
    "max_steps": "--steps",
    "learning_rate": "--lr",
    "max_concurrency": "--concurrency",
}


def flag_of(field: str, renamed: dict[str, str]) -> str:
    """The flag that sets config field ``field``."""
    return renamed.get(field, "--" + field.replace("_", "-"))


def in_flags(message: str, fields: list[str], renamed: dict[str, str]) -> str:
    """``message`` with every config field name in it written as its flag.

    A field of one letter (``n``, ``k``) is replaced only where it starts the message, as the configs
    write it, so that the letter inside prose is left alone.
    """
    for field in sorted(fields, key=len, reverse=True):
        pattern = rf"^{field}\b" if len(field) == 1 else rf"(?<![\w-]){re.escape(field)}(?![\w-])"
        message = re.sub(pattern, flag_of(field, renamed), message)
    return message


def config_error(
    exc: ValueError, config_classes: tuple[type, ...], renamed: dict[str, str]
) -> typer.BadParameter:
    """A CLI usage error (one line, exit status 2) for a config's ``ValueError``, naming flags."""
    import dataclasses

    fields = [f.name for cls in config_classes for f in dataclasses.fields(cls)]
    return typer.BadParameter(in_flags(str(exc), fields, renamed))
