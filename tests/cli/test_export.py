"""``toolgym export``: single-turn datasets in JSONL and Parquet whose rows the envs verify."""

import json

import gymnasium as gym
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import envs  # noqa: F401
from agents.cli import app

runner = CliRunner()


@pytest.mark.parametrize("env_id", ["toolgym/Sudoku-v0", "toolgym/Zebra-v0", "toolgym/Sokoban-v0"])
def test_jsonl_rows_are_deterministic_and_their_answers_verify(env_id, tmp_path):
    args = ["export", env_id, "-n", "3", "--format", "jsonl", "--seed", "7", "--kwarg", "difficulty=0.2"]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a.jsonl")])
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "b.jsonl")])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    text = (tmp_path / "a.jsonl").read_text()
    assert text == (tmp_path / "b.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 3 and [r["extra_info"]["seed"] for r in rows] == [7, 8, 9]
    env = gym.make(env_id, **json.loads(rows[0]["extra_info"]["env_kwargs"]))
    for row in rows:
        assert row["prompt"][0]["role"] == "system" and row["prompt"][1]["role"] == "user"
        assert row["reward_model"] == {"style": "rule", "ground_truth": row["answer"]}
        assert isinstance(json.loads(row["metadata"]), dict)
        env.reset(options={"task_id": row["task_id"]})
        assert env.unwrapped.task.prompt == row["prompt"][1]["content"]
        _, reward, terminated, _, info = env.step(env.unwrapped.answer_turn(row["answer"]))
        assert terminated and info["is_success"] is True and reward == 1.0


def test_parquet_has_the_same_rows_as_jsonl(tmp_path):
    base = ["export", "toolgym/Game24-v0", "-n", "4", "--seed", "1"]
    assert (
        runner.invoke(app, [*base, "--format", "parquet", "--out", str(tmp_path / "d.parquet")]).exit_code
        == 0
    )
    assert runner.invoke(app, [*base, "--out", str(tmp_path / "d.jsonl")]).exit_code == 0
    table = pq.read_table(tmp_path / "d.parquet").to_pylist()
    rows = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert table == rows
    assert {
        "data_source",
        "prompt",
        "ability",
        "reward_model",
        "extra_info",
        "answer",
        "task_id",
        "metadata",
    } <= set(rows[0])


def test_export_errors_are_clear(tmp_path):
    result = runner.invoke(app, ["export", "toolgym/Nope-v0", "-n", "1", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code != 0 and "unknown env" in result.output
    result = runner.invoke(app, ["export", "toolgym/Maze-v0", "-n", "0"])
    assert result.exit_code != 0
    result = runner.invoke(app, ["export", "toolgym/Maze-v0", "-n", "1", "--format", "csv"])
    assert result.exit_code != 0
    assert not (tmp_path / "x.jsonl").exists()
