"""What a training run says per step, and when it had nothing to learn from."""

from __future__ import annotations

import json
from types import SimpleNamespace

from agents.train_report import NO_SIGNAL_ADVICE, step_line, step_printer, summary_warning


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


def test_step_line_shows_kl_and_entropy_when_logged():
    line = step_line({"step": 1, "reward": 0.5, "kl": 0.00123, "entropy": 2.5}, max_steps=1, seconds=1.0)
    assert line == "step 1/1  reward 0.500  kl 0.00123  entropy 2.5  1.0 s"


def test_step_printer_prints_a_line_and_keeps_the_raw_dicts_in_the_log(tmp_path):
    log = tmp_path / "run" / "train_log.jsonl"
    log.parent.mkdir()
    log.write_text("a previous run\n")
    printed: list[str] = []
    callback = step_printer(2, echo=printed.append, log_path=log)
    state = SimpleNamespace(is_world_process_zero=True, global_step=0)
    callback.on_train_begin(None, state, None)
    state.global_step = 1
    callback.on_log(None, state, None, logs={"loss": "0", "reward": 0.25, "entropy": 1.5})
    state.global_step = 2
    callback.on_log(None, state, None, logs={"train_runtime": 3.5})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == [
        {"step": 1, "loss": "0", "reward": 0.25, "entropy": 1.5},
        {"step": 2, "train_runtime": 3.5},
    ]
    assert len(printed) == 1 and printed[0].startswith("step 1/2  reward 0.250  entropy 1.5")
