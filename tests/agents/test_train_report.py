"""What a training run says per step, and when it had nothing to learn from."""

from __future__ import annotations

from agents.train_report import NO_SIGNAL_ADVICE, step_line, summary_warning


def test_step_line_reads_well_and_flags_a_step_without_signal():
    line = step_line(
        {"step": 3, "reward": 0.25, "env_success": 0.25, "frac_reward_zero_std": 0.5, "loss": 0.0123},
        max_steps=20,
        seconds=4.25,
    )
    assert line == "step  3/20  reward 0.250  success 0.250  groups with signal 50%  loss 0.0123  4.2 s"
    dead = step_line({"step": 4, "reward": 0.0, "frac_reward_zero_std": 1.0}, max_steps=20, seconds=1.0)
    assert "groups with signal 0%" in dead and "no learning signal" in dead


def test_a_run_mostly_without_signal_ends_with_advice():
    dead = [{"step": i, "reward": 0.0, "frac_reward_zero_std": 1.0} for i in range(1, 4)]
    alive = [{"step": 4, "reward": 0.5, "frac_reward_zero_std": 0.0}]
    warning = summary_warning(dead + alive)
    assert warning is not None and warning.startswith("3 of 4 steps had no learning signal")
    assert NO_SIGNAL_ADVICE in warning and "toolgym sft" in warning
    assert summary_warning(dead[:1] + alive * 3) is None
    assert summary_warning([]) is None
