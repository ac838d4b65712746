"""The toolgym CLI: envs, sample and play."""

import json

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
    args = ["sample", "toolgym/Countdown-v0", "-n", "3", "--seed", "5", "--json", "-k", "difficulty=1.0"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0 and first.stdout == second.stdout
    records = [json.loads(line) for line in first.stdout.splitlines()]
    assert [r["seed"] for r in records] == [5, 6, 7]
    assert all(len(r["metadata"]["numbers"]) == 6 for r in records)


def test_unknown_env_and_bad_kwargs_are_clear_errors():
    result = runner.invoke(app, ["sample", "toolgym/Nope-v0"])
    assert result.exit_code != 0 and "unknown env" in result.output
    result = runner.invoke(app, ["sample", "toolgym/Countdown-v0", "-k", "difficulty=7"])
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
