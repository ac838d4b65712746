"""CodeTask-v0: tasks from JSONL or parquet with assert, stdin/stdout or function-call tests."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import envs  # noqa: F401  (registers the envs)
from envs.code.code_task import EXAMPLE_TASKS, read_rows

ROWS = [
    {
        "id": "sq",
        "prompt": "Write square(x).",
        "tests": "assert square(3) == 9\nassert square(-2) == 4\n",
        "solution": "def square(x):\n    return x * x",
    },
    {
        "id": "echo",
        "prompt": "Print the input reversed.",
        "tests": [{"input": "abc\n", "output": "cba\n"}, {"input": "xy\n", "output": "yx"}],
        "solution": "print(input()[::-1])",
    },
    {
        "task_id": "apps",
        "prompt": "Write double(x).",
        "input_output": json.dumps({"fn_name": "double", "inputs": [[1], [2.5]], "outputs": [[2], [5.0]]}),
        "solution": "def double(x):\n    return 2 * x",
    },
]


def _run(env, task_id: str, answer: str) -> tuple[float, dict]:
    env.reset(options={"task_id": task_id})
    _, reward, terminated, _, info = env.step(env.unwrapped.answer_turn(answer))
    assert terminated
    return reward, info


def test_jsonl_and_parquet_files(tmp_path, sandbox):
    import pyarrow as pa  # the data extra
    import pyarrow.parquet as pq

    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    parquet = tmp_path / "tasks.parquet"
    # Parquet columns hold one type: tests as text (JSON for the case lists), ids in one column.
    columns = [
        {
            "id": r.get("id", r.get("task_id")),
            "prompt": r["prompt"],
            "solution": r["solution"],
            "tests": r["tests"]
            if isinstance(r.get("tests"), str)
            else json.dumps(r["tests"])
            if "tests" in r
            else None,
            "input_output": r.get("input_output"),
        }
        for r in ROWS
    ]
    pq.write_table(pa.Table.from_pylist(columns), parquet)
    assert len(read_rows(parquet)) == 3
    for path in (jsonl, parquet):
        env = gym.make("toolgym/CodeTask-v0", path=str(path))
        assert env.unwrapped.task_ids() == ["sq", "echo", "apps"]
        for row in ROWS:
            tid = row.get("id", row.get("task_id"))
            reward, info = _run(env, tid, f"```python\n{row['solution']}\n```")
            assert reward == 1.0, (path.suffix, tid, info)
        reward, _ = _run(env, "sq", "```python\ndef square(x):\n    return 9\n```")
        assert reward == 0.5
        reward, _ = _run(env, "echo", "```python\nprint('cba')\n```")
        assert reward == 0.5
        env.close()


def test_the_bundled_examples_are_solved_by_their_solutions(sandbox):
    env = gym.make("toolgym/CodeTask-v0")
    assert len(env.unwrapped.task_ids()) == len(read_rows(EXAMPLE_TASKS))
    for tid in env.unwrapped.task_ids():
        reward, info = _run(env, tid, _solution(tid))
        assert reward == 1.0, (tid, info)
        reward, _ = _run(env, tid, "```python\nimport sys\nprint('passed')\nsys.exit(0)\n```")
        assert reward == 0.0, tid


def _solution(task_id: str) -> str:
    for row in read_rows(EXAMPLE_TASKS):
        if row["id"] == task_id:
            return f"```python\n{row['solution']}\n```"
    raise KeyError(task_id)


def test_prompts_say_what_to_write():
    env = gym.make("toolgym/CodeTask-v0", tasks=ROWS)
    obs, _ = env.reset(options={"task_id": "echo"})
    assert "standard input" in obs
    obs, _ = env.reset(options={"task_id": "apps"})
    assert "`double`" in obs


def test_bad_rows_are_reported_together_with_their_numbers(tmp_path):
    rows = [
        ROWS[0],
        {"prompt": "", "tests": "assert 1"},
        {"prompt": "p", "tests": 5},
        {"prompt": "p", "tests": "print()"},
        {"id": "sq", "prompt": "dup", "tests": "assert f() == 1"},
    ]
    with pytest.raises(ValueError) as e:
        gym.make("toolgym/CodeTask-v0", tasks=rows)
    msg = str(e.value)
    assert (
        "4 bad task row(s)" in msg
        and "row 1" in msg
        and "row 2" in msg
        and "row 3" in msg
        and "duplicate id 'sq'" in msg
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ROWS[0]) + "\n{not json\n")
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        gym.make("toolgym/CodeTask-v0", path=str(bad))
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        gym.make("toolgym/CodeTask-v0", path=str(tmp_path / "missing.jsonl"))
    with pytest.raises(KeyError, match="unknown task id"):
        gym.make("toolgym/CodeTask-v0", tasks=ROWS).reset(options={"task_id": "nope"})
