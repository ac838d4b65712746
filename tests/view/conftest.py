"""Fixtures of the viewer tests: an eval file and a train run folder of real episodes (see
``view_helpers``), and a private index cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from view_helpers import PNG, checker, play

from agents.trajectory import save_jsonl


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer, tiny_model_dir: Path) -> dict[str, Path]:
    """``eval``: a JSONL of Countdown (JSON protocol) and Knights and Knaves (XML) episodes, some solved,
    with tool calls, a format error and token ids; ``train``: a run folder with held-out episodes before
    and after (XML protocol, same seeds: 2, 3, 4 fixed, 0 broke), a log history, a plot and the tokenizer."""
    root = tmp_path_factory.mktemp("view-runs")
    cd = {"check_tool": True, "protocol": "json"}
    kk = {"check_tool": True, "protocol": "xml"}
    trajs = play(
        tiny_tokenizer,
        "toolgym/Countdown-v0",
        cd,
        list(range(6)),
        checker(lambda s: s % 2 == 0, lambda s: s == 5),
    )
    trajs += play(tiny_tokenizer, "toolgym/KnightsKnaves-v0", kk, [0, 1, 2], checker(lambda s: s != 1))
    save_jsonl(trajs, root / "eval.jsonl")
    train = root / "train"
    xml = {"check_tool": True, "protocol": "xml"}
    seeds = list(range(6))
    save_jsonl(
        play(tiny_tokenizer, "toolgym/Countdown-v0", xml, seeds, checker(lambda s: s in (0, 1))),
        train / "held_out_before.jsonl",
    )
    save_jsonl(
        play(tiny_tokenizer, "toolgym/Countdown-v0", xml, seeds, checker(lambda s: 1 <= s <= 4)),
        train / "held_out_after.jsonl",
    )
    save_jsonl(trajs[:4], train / "trajectories.jsonl")
    history = [
        {
            "step": s,
            "reward": 0.1 * s,
            "env_success": 0.05 * s,
            "kl": 0.01 * s,
            "frac_reward_zero_std": 1 - 0.1 * s,
            "loss": 0.5,
        }
        for s in range(1, 6)
    ] + [{"step": 5, "train_runtime": 12.0}]
    (train / "log_history.json").write_text(json.dumps(history))
    (train / "reward.png").write_bytes(PNG)
    (train / "final").mkdir()
    shutil.copy(tiny_model_dir / "tokenizer.json", train / "final" / "tokenizer.json")
    return {"eval": root / "eval.jsonl", "train": train}


@pytest.fixture()
def view_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private index cache (``TOOLGYM_CACHE``) for one test."""
    monkeypatch.setenv("TOOLGYM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "view"
