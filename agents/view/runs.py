"""The runs named on the command line: each trajectories JSONL is a source of episodes; a train run's
folder adds its per-step curves (``log_history.json``), its plot and the tokenizer of its final model."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The order a train run's JSONL files are listed in (before training, during, after).
_ORDER = {"held_out_before.jsonl": 0, "trajectories.jsonl": 1, "held_out_after.jsonl": 2}
#: A train run's files the page may fetch, by name.
SERVED_FILES = ("reward.png", "loss.png")


@dataclass
class Source:
    """One trajectories JSONL file."""

    id: str
    label: str
    path: Path
    run: str | None = None


@dataclass
class Run:
    """A folder given on the command line (a train or eval run)."""

    id: str
    label: str
    path: Path
    history: Path | None = None
    tokenizer: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)


def _label(path: Path, given: str) -> str:
    return given.rstrip("/") or str(path)


def discover(paths: list[str | Path]) -> tuple[list[Source], list[Run]]:
    """Sources and runs of the paths given; ``FileNotFoundError`` for a path that is not there or a
    folder with nothing to show."""
    if not paths:
        raise FileNotFoundError("give at least one trajectories JSONL file or run folder")
    sources: list[Source] = []
    runs: list[Run] = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            sources.append(Source(str(len(sources)), _label(path, str(given)), path.resolve()))
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"no such file or folder: {given}")
        run = Run(str(len(runs)), _label(path, str(given)), path.resolve())
        if (path / "log_history.json").is_file():
            run.history = (path / "log_history.json").resolve()
        if (path / "final" / "tokenizer.json").is_file():
            run.tokenizer = (path / "final").resolve()
        run.files = {name: (path / name).resolve() for name in SERVED_FILES if (path / name).is_file()}
        files = sorted(path.glob("*.jsonl"), key=lambda p: (_ORDER.get(p.name, 1), p.name))
        if not files and run.history is None:
            raise FileNotFoundError(f"{given}: no trajectories (*.jsonl) and no log_history.json in it")
        for f in files:
            sources.append(Source(str(len(sources)), f"{run.label}: {f.stem}", f.resolve(), run.id))
        runs.append(run)
    return sources, runs


def curves(history_path: Path) -> dict[str, Any]:
    """Per-step series of a train run: every number logged at the steps that logged a reward (TRL's
    reward, KL, ``frac_reward_zero_std`` (groups with no reward variance), loss, toolgym's
    ``env_success``, ...), ``None`` where a step lacks one."""
    try:
        history = json.loads(history_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{history_path}: not a log history: {exc}") from exc
    if not isinstance(history, list):
        raise ValueError(f"{history_path}: not a log history (a JSON list)")
    entries = [e for e in history if isinstance(e, dict) and "reward" in e and "step" in e]
    names: list[str] = []
    for e in entries:
        for key, value in e.items():
            if (
                key != "step"
                and key not in names
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            ):
                names.append(key)

    def num(value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(value) else None

    return {
        "steps": [int(e["step"]) for e in entries],
        "series": {name: [num(e.get(name)) for e in entries] for name in names},
    }
