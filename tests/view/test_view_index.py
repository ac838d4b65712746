"""The viewer's index: malformed lines, the cache, filters and sorting, and a summary that is the eval
table's own (``agents.metrics.summarize_by_env``)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from view_helpers import synthetic

from agents.metrics import summarize_by_env
from agents.trajectory import load_jsonl, save_jsonl
from agents.view.index import EpisodeIndex
from agents.view.query import Filter, Selector, rows
from agents.view.summary import summarize_index


def _nan_to_none(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def test_summary_is_the_eval_tables(tmp_path: Path, view_cache: Path):
    path = save_jsonl(synthetic(60, k=4), tmp_path / "t.jsonl")
    index = EpisodeIndex.open(path, background=False)
    got = index.summary()
    want = summarize_by_env(list(load_jsonl(path)), 4)
    assert got["k"] == 4 and got["episodes"] == 240
    assert got["rows"] == [_nan_to_none(s.to_dict()) for s in want]
    assert [r["env_id"] for r in got["rows"]] == ["toolgym/Countdown-v0", "toolgym/Sudoku-v0", "all"]


def test_a_filtered_summary_is_the_eval_tables_over_those_episodes(tmp_path: Path, view_cache: Path):
    trajs = synthetic(30, k=3)
    path = save_jsonl(trajs, tmp_path / "t.jsonl")
    index = EpisodeIndex.open(path, background=False)
    positions = Selector().select(index, Filter(env="Sudoku-v0", format_error=False))
    kept = [t for t in trajs if t.env_id == "toolgym/Sudoku-v0" and t.format_errors == 0]
    k = max(sum(1 for u in kept if (u.task_id, u.seed) == (t.task_id, t.seed)) for t in kept)
    assert summarize_index(index, positions)["rows"] == [
        _nan_to_none(s.to_dict()) for s in summarize_by_env(kept, k)
    ]


def test_malformed_lines_are_reported_by_number_and_skipped(tmp_path: Path, view_cache: Path):
    good = [json.dumps(t.to_dict()) for t in synthetic(2, k=2)]
    lines = [
        good[0],
        "not json at all",
        good[1],
        "[1, 2]",
        json.dumps({"env_id": "toolgym/Countdown-v0", "seed": 2**70}),
        "",
        json.dumps({"task_id": "x"}),
        good[2],
        good[3][:40],
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines))  # the last line is cut short and has no newline
    index = EpisodeIndex.open(path, background=False)
    assert len(index) == 3 and index.failure is None
    assert [b.line for b in index.bad_lines] == [2, 4, 5, 7, 9]
    assert "64-bit" in index.bad_lines[2].error
    assert "env_id is missing" in index.bad_lines[3].error
    assert "cut short" in index.bad_lines[4].error
    assert index.columns()["line"].tolist() == [1, 3, 8]
    assert index.read(2)["sample"] == 0 and index.read(2)["seed"] == 1


def test_the_index_is_cached_until_the_file_changes(tmp_path: Path, view_cache: Path):
    path = save_jsonl(synthetic(10), tmp_path / "t.jsonl")
    first = EpisodeIndex.open(path, background=False)
    assert not first.from_cache and len(list(view_cache.glob("*.npz"))) == 1
    second = EpisodeIndex.open(path)
    assert second.from_cache and second.done and len(second) == 40
    assert second.summary(timeout=0) == first.summary()
    for name, col in first.columns().items():
        assert np.array_equal(col, second.columns()[name]), name
    save_jsonl(synthetic(5), path, append=True)
    os.utime(path, ns=(1, 1))
    third = EpisodeIndex.open(path, background=False)
    assert not third.from_cache and len(third) == 60


def test_background_indexing_serves_rows_before_it_ends(tmp_path: Path, view_cache: Path):
    path = save_jsonl(synthetic(600, k=5), tmp_path / "t.jsonl")
    index = EpisodeIndex.open(path)
    assert index.wait(60) and len(index) == 3000
    assert index.generation > 2  # rows were published in several chunks
    assert index.summary(timeout=60)["episodes"] == 3000


def test_filters_and_sorting_match_the_records(tmp_path: Path, view_cache: Path):
    trajs = synthetic(50, k=2)
    path = save_jsonl(trajs, tmp_path / "t.jsonl")
    index = EpisodeIndex.open(path, background=False)
    sel = Selector()
    cases = {
        Filter(success=True): lambda t: t.is_success is True,
        Filter(success=False): lambda t: t.is_success is not True,
        Filter(error=True): lambda t: t.error is not None,
        Filter(format_error=True): lambda t: t.format_errors > 0,
        Filter(truncated=False): lambda t: not t.truncated,
        Filter(env="toolgym/Sudoku-v0"): lambda t: t.env_id == "toolgym/Sudoku-v0",
        Filter(task="DOWN/1"): lambda t: "down/1" in t.task_id,
        Filter(reward_min=0.5, reward_max=1.0): lambda t: 0.5 <= t.reward <= 1.0,
        Filter(turns_min=2, turns_max=3, tools_min=1): lambda t: (
            2 <= t.num_turns <= 3 and t.num_tool_calls >= 1
        ),
    }
    for flt, pred in cases.items():
        assert sel.select(index, flt).tolist() == [i for i, t in enumerate(trajs) if pred(t)], flt
    by_reward = sel.select(index, Filter(), "reward", desc=True)
    rewards = [trajs[i].reward for i in by_reward.tolist()]
    assert rewards == sorted(rewards, reverse=True)
    by_task = [r["task"] for r in rows(index, sel.select(index, Filter(), "task"))]
    assert by_task == sorted(by_task)
    with pytest.raises(ValueError, match="sort must be one of"):
        sel.select(index, Filter(), "nope")


def test_fields_read_without_parsing_the_rest_mean_what_the_whole_record_says(
    tmp_path: Path, view_cache: Path
):
    """The index decodes only the fields it needs (token ids as raw JSON): whether an episode has token
    ids is Python's truthiness of ``prompt_ids`` or of any turn's ``completion_ids``, whatever their JSON."""
    cases = [[], None, [0], "x", "", 0, 0.0, 2, {}, {"a": 1}, True, False]
    records = [{"env_id": "e", "prompt_ids": v} for v in cases]
    records += [{"env_id": "e", "turns": [{"completion_ids": v}]} for v in cases]
    records += [
        {"env_id": "e"},
        {"env_id": "e", "turns": [{"completion_ids": None}, {"completion_ids": [7]}]},
    ]
    lines = [json.dumps(r) for r in records] + [
        '{"env_id": "e", "prompt_ids": [ ] }',
        '{"env_id": "e", "turns": [3]}',
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    index = EpisodeIndex.open(path, background=False)
    want = [bool(v) for v in cases] * 2 + [False, True, False]
    assert index.columns()["tokens"].tolist() == want
    assert [(b.line, b.error.split(" (")[0]) for b in index.bad_lines] == [
        (len(lines), "turns is not a list of objects")
    ]
