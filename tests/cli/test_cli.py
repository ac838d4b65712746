"""The toolgym CLI: envs, sample and play."""

import json

import pytest
from typer.testing import CliRunner

from agents.cli import app

runner = CliRunner()


def test_envs_lists_every_registered_env():
    import envs

    result = runner.invoke(app, ["envs"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for entry in envs.ENVS:
        assert entry.env_id in result.stdout


def test_sample_is_deterministic_and_takes_kwargs():
    args = ["sample", "toolgym/Countdown-v0", "-n", "3", "--seed", "5", "--json", "--kwarg", "difficulty=1.0"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0 and first.stdout == second.stdout
    records = [json.loads(line) for line in first.stdout.splitlines()]
    assert [r["seed"] for r in records] == [5, 6, 7]
    assert all(len(r["metadata"]["numbers"]) == 6 for r in records)


def test_unknown_env_and_bad_kwargs_are_clear_errors():
    result = runner.invoke(app, ["sample", "toolgym/Nope-v0"])
    assert result.exit_code != 0 and "unknown env" in result.output
    result = runner.invoke(app, ["sample", "toolgym/Countdown-v0", "--kwarg", "difficulty=7"])
    assert result.exit_code != 0 and "difficulty must be in [0, 1]" in result.output


def test_play_reads_turns_until_the_episode_ends():
    sample = json.loads(
        runner.invoke(app, ["sample", "toolgym/KnightsKnaves-v0", "-n", "1", "--seed", "2", "--json"]).stdout
    )
    turns = f"I think...\n.\n<answer>{sample['answer']}</answer>\n.\n"
    result = runner.invoke(app, ["play", "toolgym/KnightsKnaves-v0", "--seed", "2"], input=turns)
    assert result.exit_code == 0, result.output
    assert "no tool call or answer found" in result.stdout
    assert "episode over: solved" in result.stdout
    quit_result = runner.invoke(app, ["play", "toolgym/Countdown-v0"], input=":q\n")
    assert quit_result.exit_code == 0 and "quit" in quit_result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["sandbox", "run", "/no/such/file.py"], "PATH: no such file: /no/such/file.py"),
        (["sandbox", "run", "/"], "PATH: is a directory: /"),
        (["train", "--env", "toolgym/Countdown-v0", "--model", ".", "--steps", "-1"], "--steps must be in"),
        (
            ["eval", "--env", "toolgym/CodeTask-v0", "--kwarg", "path=/nope.jsonl", "--model", "x"],
            "toolgym/CodeTask-v0: --kwarg path: code task file '/nope.jsonl' does not exist",
        ),
        (
            ["sample", "toolgym/CodeTask-v0", "--kwarg", "path=/nope.jsonl"],
            "--kwarg path: code task file '/nope.jsonl' does not exist",
        ),
        (["sample", "toolgym/Countdown-v0", "--kwarg", "nope=1"], "--kwarg: CountdownEnv got unknown"),
        (["nosuch"], "No such command 'nosuch'"),
    ],
)
def test_user_errors_are_one_line_on_stderr(args, says):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "agents", *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], proc.stderr


def _options(command, path=()):
    """(command path, option strings) of every command under ``command`` (typer's own click)."""
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _options(sub, (*path, name))
    else:
        for param in command.params:
            if param.param_type_name == "option":
                yield " ".join(path), tuple(param.opts) + tuple(param.secondary_opts)


def test_k_means_samples_per_task_and_kwarg_has_one_spelling():
    import typer

    options = list(_options(typer.main.get_command(app)))
    with_k = [cmd for cmd, opts in options if "-k" in opts]
    assert with_k == ["eval"]
    kwarg = {cmd: opts for cmd, opts in options if "--kwarg" in opts}
    assert set(kwarg) == {"sample", "play", "export", "eval", "train", "sft"}
    assert all(opts == ("--kwarg",) for opts in kwarg.values())


def test_k_outside_eval_points_to_kwarg():
    import subprocess
    import sys

    args = ["sample", "toolgym/Countdown-v0", "-k", "difficulty=1"]
    proc = subprocess.run(
        [sys.executable, "-m", "agents", *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "--kwarg NAME=VALUE" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
