"""A few GRPO steps on CPU with the tiny model over puzzle envs, through ``toolgym train``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agents.cli import app
from agents.trajectory import load_jsonl

runner = CliRunner()


@pytest.mark.slow
def test_grpo_steps_mask_env_tokens_and_plot_rewards(tiny_model_dir, tmp_path, monkeypatch):
    from trl import GRPOTrainer

    captured = []
    original = GRPOTrainer._generate_and_score_completions

    def capture(self, inputs):
        output = original(self, inputs)
        captured.append({k: output[k].tolist() for k in ("completion_ids", "completion_mask", "tool_mask")})
        return output

    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", capture)
    out = tmp_path / "run"
    args = [
        "train",
        "--env",
        "toolgym/Countdown-v0",
        "--env",
        "toolgym/KnightsKnaves-v0",
        "--model",
        str(tiny_model_dir),
        "--steps",
        "2",
        "--prompts-per-step",
        "1",
        "--num-generations",
        "2",
        "--max-turns",
        "2",
        "--max-tokens",
        "12",
        "--kwarg",
        "check_tool=true",
        "--kwarg",
        "protocol=json",
        "--output-dir",
        str(out),
        "--report-to",
        "tensorboard",
        "--loss-type",
        "dr_grpo",
        "--save-steps",
        "2",
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "reward: first" in result.output and "plot:" in result.output
    assert "step 1/2  reward " in result.output and "groups with signal" in result.output
    assert (out / "reward.png").stat().st_size > 1000
    assert (out / "final" / "model.safetensors").exists() and (out / "checkpoint-2").is_dir()
    assert list(out.rglob("events.out.tfevents*")), "TensorBoard logs are missing"
    history = json.loads((out / "log_history.json").read_text())
    assert [h["step"] for h in history if "reward" in h] == [1, 2]
    # TRL's raw log dicts go to the run's log file, not to the terminal
    raw = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in raw if "reward" in r] == [1, 2] and "train_runtime" in raw[-1]
    assert "{'loss'" not in result.output and "'reward'" not in result.output
    assert "entropy " in result.output and "train_log.jsonl" in result.output

    trajs = list(load_jsonl(out / "trajectories.jsonl"))
    assert len(trajs) == 4 and len(captured) == 2
    # TRL's tool_mask is our env mask: every env/tool-output token is out of the loss, model tokens in
    rows = [row for step in captured for row in zip(step["completion_ids"], step["tool_mask"], strict=True)]
    assert len(rows) == len(trajs)
    for traj, (ids, tool_mask) in zip(trajs, rows, strict=True):
        n = len(traj.completion_ids)
        assert ids[:n] == traj.completion_ids
        assert tool_mask[:n] == traj.env_mask
        assert 0 in traj.env_mask  # the env answered at least once (an error message for a random model)
        env_tokens = [i for t in traj.turns for i in t.env_ids]
        masked = [i for i, m in zip(traj.completion_ids, traj.env_mask, strict=True) if m == 0]
        assert masked == env_tokens
    # a GRPO group is one task sampled num_generations times
    assert trajs[0].task_id == trajs[1].task_id and [trajs[0].sample, trajs[1].sample] == [0, 1]


def test_train_rejects_bad_settings(tiny_model_dir, tmp_path):
    args = [
        "train",
        "--env",
        "toolgym/Countdown-v0",
        "--model",
        str(tiny_model_dir),
        "--output-dir",
        str(tmp_path),
    ]
    result = runner.invoke(app, [*args, "--loss-type", "ppo"])
    assert result.exit_code != 0 and "--loss-type must be one of" in result.output
    result = runner.invoke(app, [*args, "--num-generations", "1"])
    assert result.exit_code != 0 and "--num-generations must be in" in result.output
    result = runner.invoke(app, [*args, "--env-weight", "1", "--env-weight", "2"])
    assert result.exit_code != 0 and "--env-weight: 2 weights" in result.output
    result = runner.invoke(app, [*args, "--iterations", "0"])
    assert result.exit_code != 0 and "--iterations must be in" in result.output


def test_iterations_reach_trl(tiny_model_dir, tmp_path):
    from agents.train import TrainConfig, grpo_config

    cfg = TrainConfig(env_ids=("toolgym/Countdown-v0",), model=str(tiny_model_dir), num_iterations=3,
                      output_dir=str(tmp_path), report_to="none")  # fmt: skip
    assert grpo_config(cfg).num_iterations == 3


@pytest.mark.parametrize("reward", [-0.4, -0.3, -0.2, -0.1, 0.0, 0.9, 1.0, 0.123456, -15.7])
@pytest.mark.parametrize("group", [2, 4, 8, 16, 64, 256])
def test_a_group_of_equal_rewards_gets_no_advantage(reward, group):
    """TRL's group normalization, on what ``env_reward`` hands it: equal rewards are zero std and zero
    advantage, not a std of ~3e-8 that division by std + 1e-4 turns into an advantage of ~3e-4."""
    import torch
    from trl.trainer.utils import nanstd

    from agents.train import env_reward

    rewards = torch.tensor(env_reward([], [], [reward] * group), dtype=torch.float32).view(-1, group)
    mean, std = torch.nanmean(rewards, dim=1), nanstd(rewards, dim=1)
    advantages = (rewards - mean.unsqueeze(1)) / (std.unsqueeze(1) + 1e-4)
    assert std.item() == 0.0 and bool((advantages == 0).all())
    assert abs(env_reward([], [], [reward])[0] - reward) <= 2**-13


def test_unrounded_equal_rewards_did_get_an_advantage():
    """The bug ``exact_reward`` fixes, as TRL computes it: eight rewards of -0.3 (three format errors)."""
    import torch
    from trl.trainer.utils import nanstd

    rewards = torch.tensor([-0.3] * 8, dtype=torch.float32).view(1, 8)
    std = nanstd(rewards, dim=1)
    advantage = (rewards[0, 0] - torch.nanmean(rewards)) / (std + 1e-4)
    assert std.item() > 1e-8 and abs(advantage.item()) > 1e-4
