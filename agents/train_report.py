"""What a training run tells its user as it goes: a line per step, and whether there was anything to
learn from (a GRPO group whose samples all got the same reward has no advantage, so no gradient).

The raw log dicts TRL and transformers produce (every metric, as logged) go to a JSONL file in the run
directory instead of the terminal.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG_FILE = "train_log.jsonl"

NO_SIGNAL_ADVICE = (
    "every GRPO group got the same reward for all its samples, so the policy had nothing to learn "
    "from; try an easier difficulty (--kwarg difficulty=0), more --num-generations, a higher "
    "--temperature, or a cold start with `toolgym sft` first"
)


def _num(entry: dict[str, Any], key: str) -> float:
    try:
        return float(entry[key])
    except (KeyError, TypeError, ValueError):
        return math.nan


def step_line(entry: dict[str, Any], max_steps: int, seconds: float) -> str:
    """One readable line for a step's log entry."""
    step = int(entry.get("step", 0))
    parts = [f"step {step:>{len(str(max_steps))}}/{max_steps}"]
    for label, key in (("reward", "reward"), ("success", "env_success")):
        value = _num(entry, key)
        if not math.isnan(value):
            parts.append(f"{label} {value:.3f}")
    zero = _num(entry, "frac_reward_zero_std")
    if not math.isnan(zero):
        parts.append(f"groups with signal {1 - zero:.0%}")
    for label, key in (("kl", "kl"), ("entropy", "entropy"), ("loss", "loss"), ("grad", "grad_norm")):
        value = _num(entry, key)
        if not math.isnan(value):
            parts.append(f"{label} {value:.4g}")
    parts.append(f"{seconds:.1f} s")
    line = "  ".join(parts)
    if zero == 1.0:
        line += "  (no learning signal: all groups had equal rewards)"
    return line


def no_signal_steps(history: list[dict[str, Any]]) -> tuple[int, int]:
    """(steps in which no group had reward variance, steps logged)."""
    steps = [e for e in history if "frac_reward_zero_std" in e]
    return sum(1 for e in steps if _num(e, "frac_reward_zero_std") == 1.0), len(steps)


def summary_warning(history: list[dict[str, Any]]) -> str | None:
    """A closing warning when most steps had nothing to learn from, with what to try."""
    dead, total = no_signal_steps(history)
    if total == 0 or dead * 2 < total:
        return None
    return f"{dead} of {total} steps had no learning signal: {NO_SIGNAL_ADVICE}"


def append_log(path: Path, step: int, logs: dict[str, Any]) -> None:
    """Add one raw log dict, with its step, as a line of ``path``."""
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"step": step, **logs}, default=str) + "\n")


def step_printer(
    max_steps: int, echo: Callable[[str], None] = print, log_path: str | Path | None = None
) -> Any:
    """A transformers ``TrainerCallback`` that prints ``step_line`` for every training log entry and,
    with ``log_path``, writes every raw log dict there (the file is emptied when training begins)."""
    from transformers import TrainerCallback

    path = Path(log_path) if log_path is not None else None

    class StepPrinter(TrainerCallback):
        def __init__(self) -> None:
            self.last = time.perf_counter()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if path is not None and state.is_world_process_zero:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("")
            self.last = time.perf_counter()

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if not logs or not state.is_world_process_zero:
                return
            if path is not None:
                append_log(path, state.global_step, logs)
            if "reward" not in logs:
                return
            now = time.perf_counter()
            echo(step_line({**logs, "step": state.global_step}, max_steps, now - self.last))
            self.last = now

    return StepPrinter()
