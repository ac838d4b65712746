"""CLI: ``export``, single-turn prompt/answer datasets (JSONL or Parquet) that veRL, OpenRLHF or TRL
can train on directly, with the verifier's metadata beside each row."""

import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.cli.env_args import KwargOption, make_env, parse_kwargs


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    parquet = "parquet"


def export_records(
    env_id: str, n: int, seed: int = 0, kwargs: dict[str, Any] | None = None
) -> Iterator[dict]:
    """Row ``i`` is the task of ``reset(seed=seed + i)``, in the layout veRL reads (``data_source``,
    ``prompt`` as chat messages, ``ability``, ``reward_model.ground_truth``, ``extra_info``) plus the
    flat ``answer`` and ``task_id`` columns that TRL passes to reward functions. ``metadata`` is the
    verifier's metadata as a JSON string (one column type for every family)."""
    from envs.registration import env_entry

    kwargs = dict(kwargs or {})
    env = make_env(env_id, kwargs)
    family = env_entry(env_id).family
    try:
        for i in range(n):
            _, info = env.reset(seed=seed + i)
            task = env.unwrapped.task
            yield {
                "data_source": env_id,
                "prompt": info["messages"],
                "ability": family,
                "reward_model": {"style": "rule", "ground_truth": task.answer},
                "extra_info": {"index": i, "seed": seed + i, "env_kwargs": json.dumps(kwargs)},
                "task_id": task.id,
                "answer": task.answer,
                "metadata": json.dumps(task.metadata, ensure_ascii=False, default=str),
            }
    finally:
        env.close()


def write_jsonl(records: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_parquet(records: list[dict], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise typer.BadParameter("--format parquet needs pyarrow: pip install 'toolgym[data]'") from None
    pq.write_table(pa.Table.from_pylist(records), path)


def export_command(
    env_id: Annotated[str, typer.Argument(help="A registered env id, e.g. toolgym/Sudoku-v0.")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many rows.")] = 1000,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or parquet.")] = ExportFormat.jsonl,
    seed: Annotated[int, typer.Option(help="Seed of the first row; the next ones use seed+1, ...")] = 0,
    out: Annotated[Path | None, typer.Option(help="Output file (default: <Name>-<n>.<format>).")] = None,
    kwarg: KwargOption = None,
) -> None:
    """Write N single-turn tasks of ENV_ID (prompt, reference answer, verifier metadata)."""
    records = list(export_records(env_id, n, seed, parse_kwargs(kwarg)))
    name = env_id.split("/")[-1].removesuffix("-v0")
    path = out or Path(f"{name}-{n}.{fmt.value}")
    path.parent.mkdir(parents=True, exist_ok=True)
    (write_parquet if fmt is ExportFormat.parquet else write_jsonl)(records, path)
    typer.echo(f"wrote {len(records)} rows of {env_id} to {path}")


def register(app: typer.Typer) -> None:
    """Add ``export``."""
    app.command("export")(export_command)
