"""A refused value is said in the words of the command line: the flag, never the config's field name."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agents.cli import app
from agents.cli.flags import EVAL_FLAGS, SFT_FLAGS, TRAIN_FLAGS, flag_of, in_flags

runner = CliRunner()
CD = ["--env", "toolgym/Countdown-v0"]


def _command_options(name: str) -> set[str]:
    command = typer.main.get_command(app).commands[name]
    return {
        opt for p in command.params if p.param_type_name == "option" for opt in (*p.opts, *p.secondary_opts)
    }


def _configs(name: str) -> tuple[dict[type, set[str]], dict[str, str]]:
    """The configs a command builds, each with the fields it sets without a flag; the renamed fields."""
    from agents.backends.base import SamplingConfig
    from agents.evaluate import EvalConfig
    from agents.rollout import RolloutConfig
    from agents.sft import SFTConfig
    from agents.train import TrainConfig

    return {
        "train": ({TrainConfig: {"lora_alpha", "save_trajectories"}}, TRAIN_FLAGS),
        "sft": ({SFTConfig: {"lora_alpha"}}, SFT_FLAGS),
        "eval": (
            {
                EvalConfig: {"rollout", "batch_episodes"},
                RolloutConfig: {"sampling"},
                SamplingConfig: {"stop", "seed"},
            },
            EVAL_FLAGS,
        ),
    }[name]


@pytest.mark.parametrize("name", ["train", "eval", "sft"])
def test_every_config_field_has_the_flag_its_errors_name(name):
    configs, renamed = _configs(name)
    options = _command_options(name)
    for cls, unexposed in configs.items():
        for field in dataclasses.fields(cls):
            if field.name not in unexposed:
                assert flag_of(field.name, renamed) in options, (name, cls.__name__, field.name)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["train", *CD, "--model", ".", "--steps", "-1"], "--steps must be in [1, "),
        (["train", *CD, "--model", ".", "--lr", "0"], "--lr must be in (0, 1]"),
        (["train", *CD, "--model", ".", "--max-tokens", "0"], "--max-tokens must be in"),
        (["train", *CD, "--model", ".", "--concurrency", "0"], "--concurrency must be in"),
        (["train", *CD, "--model", ".", "--env-weight", "1", "--env-weight", "2"], "--env-weight: 2 weights"),
        (["train", *CD, "--model", ".", "--num-generations", "1"], "--num-generations must be in"),
        (["eval", *CD, "--model", "x", "-n", "0"], "-n must be in"),
        (["eval", *CD, "--model", "x", "-k", "0"], "-k must be in"),
        (["eval", *CD, "--model", "x", "--wait", "2"], "--wait needs --think-budget"),
        (["eval", *CD, "--model", "x", "--top-p", "0"], "--top-p must be in"),
        (["eval", *CD, "--model", "x", "--concurrency", "0"], "--concurrency must be in"),
        (["eval", *CD, "--model", "x", "--ray-address", ""], "--ray-address must be auto, local or"),
        (["train", *CD, "--model", ".", "--ray-address", "a b"], "--ray-address must be auto, local or"),
        (["sft", *CD, "--model", ".", "-n", "0"], "-n must be in"),
        (["sft", *CD, "--model", ".", "--lr", "0"], "--lr must be in"),
        (["sft", *CD, "--model", ".", "--batch-size", "0"], "--batch-size must be in"),
        (["sft", "--model", "."], "--env, --from-trajectories: give envs"),
    ],
)
def test_a_refused_value_names_its_flag(args, says):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert says in result.output
    for internal in (
        "max_steps",
        "learning_rate",
        "max_tokens_per_turn",
        "max_concurrency",
        "env_ids",
        "n_demos",
    ):
        assert internal not in result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--language", "cobol"], "--language must be one of"),
        (["--timeout-s", "-1"], "--timeout-s must be a number in"),
        (["--memory-mb", "100000000"], "--memory-mb must be an integer in"),
    ],
)
def test_sandbox_run_names_the_flag(tmp_path, args, says):
    code = tmp_path / "one.py"
    code.write_text("print(1)\n")
    proc = subprocess.run(
        [sys.executable, "-m", "agents", "sandbox", "run", str(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], proc.stderr


def test_in_flags_leaves_prose_alone():
    fields = ["n", "k", "max_steps", "think_budget", "wait_rounds"]
    assert in_flags("n must be in [1, 9], got 0", fields, EVAL_FLAGS) == "-n must be in [1, 9], got 0"
    assert in_flags("wait_rounds needs think_budget (budget forcing)", fields, EVAL_FLAGS) == (
        "--wait needs --think-budget (budget forcing)"
    )
    assert in_flags("a k and an n", fields, EVAL_FLAGS) == "a k and an n"
