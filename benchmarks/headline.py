"""The machine-readable output of a benchmark's headline figures (``--json PATH``), read by
``python -m benchmarks.figures`` to write docs/figures.md and the README's table."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def figure(
    name: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    baseline_name: str = "",
    ratio: float | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One headline figure. ``ratio`` reads "times better than the baseline": ours / baseline for a
    rate, baseline / ours for a time or a size; ``None`` where a ratio says nothing (a count, a gap)."""
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": ratio,
        "note": note,
    }


def command(argv: list[str] | None = None) -> str:
    """The command that ran this benchmark, as ``python -m benchmarks.NAME ARGS`` without ``--json``."""
    argv = list(sys.argv if argv is None else argv)
    module = "benchmarks." + Path(argv[0]).stem
    args, skip = [], False
    for i, a in enumerate(argv[1:], 1):
        if skip:
            skip = False
        elif a == "--json":
            skip = i + 1 < len(argv) and not argv[i + 1].startswith("--")
        elif not a.startswith("--json="):
            args.append(a)
    return " ".join(["python", "-m", module, *args])


def write(path: str | None, figures: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
    """Write ``figures`` (and ``extra`` fields) to ``path`` as JSON, each figure with the command and the
    load average; ``None`` or ``-``: print it as one line instead."""
    cmd, load = command(), [round(x, 2) for x in os.getloadavg()]
    data = {
        **(extra or {}),
        "command": cmd,
        "load": load,
        "cores": os.cpu_count(),
        "figures": [{**f, "command": cmd, "load": load} for f in figures],
    }
    if path in (None, "-"):
        print(json.dumps(data))
    else:
        Path(path).write_text(json.dumps(data, indent=1) + "\n")
