"""CodeTask-v0: code tasks from your own JSONL or parquet file, graded on hidden tests in the sandbox.

One task per row (Code-R1, DeepCoder, APPS, TACO style):

* ``prompt`` (required): the task statement.
* ``tests`` (required), one of
  - Python test code: top-level asserts calling the submission's functions by name, or a
    ``check(candidate)`` function (then ``entry_point`` names the candidate);
  - a list of stdin/stdout cases ``[{"input": "...", "output": "..."}]``;
  - an APPS-style object ``{"inputs": [...], "outputs": [...]}`` (stdin/stdout), or with
    ``"fn_name"``: function-call cases, ``inputs[i]`` the argument list of call ``i``
    (a JSON string of any of these is accepted too).
* ``entry_point`` (optional): the candidate, an expression such as ``add`` or ``Solution().add``.
* ``id`` or ``task_id`` (optional; else ``<row number>``), ``solution`` (optional reference).

The reward is the fraction of assertions or cases passed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from envs.code.base import GradedConfig, GradedEnv
from envs.code.grading import HiddenTests, IOCase, extract_code
from envs.core import Task, Verdict

EXAMPLE_TASKS = Path(__file__).with_name("data") / "example_tasks.jsonl"

_APPS_MATCH = (
    "def _matches(got, want):\n"
    "    if type(got) is tuple:\n"
    "        got = list(got)\n"
    "    # APPS wraps a function's expected return value in a one-element list\n"
    "    return got == want or (type(want) is list and len(want) == 1 and got == want[0])\n\n"
)


@dataclass(frozen=True)
class CodeTaskSpec:
    """A parsed row: what the agent sees and the hidden tests."""

    id: str
    prompt: str
    tests: HiddenTests | tuple[IOCase, ...]
    entry_point: str | None = None
    solution: str = ""


def _function_call_tests(fn_name: str, inputs: list[Any], outputs: list[Any]) -> HiddenTests:
    lines = [_APPS_MATCH, "def check(candidate):"]
    for args, want in zip(inputs, outputs, strict=True):
        args = args if isinstance(args, list) else [args]
        lines.append(f"    assert _matches(candidate(*{args!r}), {want!r})")
    return HiddenTests(tests="\n".join(lines) + "\n", entry_point=fn_name)


def parse_row(row: dict[str, Any], index: int) -> CodeTaskSpec:
    """One row as a task; ``ValueError`` naming the field for a bad row."""
    if not isinstance(row, dict):
        raise ValueError(f"a row must be an object, got {type(row).__name__}")
    prompt = row.get("prompt")
    tests = row.get("tests") if row.get("tests") is not None else row.get("input_output")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("'prompt' must be a non-empty string")
    entry = row.get("entry_point") or None
    if entry is not None and not isinstance(entry, str):
        raise ValueError("'entry_point' must be a string")
    if isinstance(tests, str) and tests.lstrip()[:1] in ("[", "{"):
        with contextlib.suppress(json.JSONDecodeError):  # else Python code starting with a bracket
            tests = json.loads(tests)
    if isinstance(tests, str):
        hidden: HiddenTests | tuple[IOCase, ...] = HiddenTests(tests=tests, entry_point=entry)
    elif isinstance(tests, dict) and "inputs" in tests and "outputs" in tests:
        inputs, outputs = tests["inputs"], tests["outputs"]
        if (
            not isinstance(inputs, list)
            or not isinstance(outputs, list)
            or len(inputs) != len(outputs)
            or not inputs
        ):
            raise ValueError("'tests' inputs and outputs must be non-empty lists of the same length")
        if tests.get("fn_name"):
            entry = str(tests["fn_name"])
            hidden = _function_call_tests(entry, inputs, outputs)
        else:
            hidden = tuple(IOCase(_text(i), _text(o)) for i, o in zip(inputs, outputs, strict=True))
    elif isinstance(tests, list) and tests:
        if not all(isinstance(c, dict) and "input" in c and "output" in c for c in tests):
            raise ValueError("'tests' as a list must hold {'input': ..., 'output': ...} cases")
        hidden = tuple(IOCase(_text(c["input"]), _text(c["output"])) for c in tests)
    else:
        raise ValueError(
            "'tests' must be Python assert code, a list of stdin/stdout cases or "
            "{'inputs': [...], 'outputs': [...]}"
        )
    task_id = str(row.get("id", row.get("task_id", index)))
    return CodeTaskSpec(task_id, prompt, hidden, entry, str(row.get("solution") or ""))


def _text(value: Any) -> str:
    if isinstance(value, list):  # some datasets store a case's lines as a list
        return "\n".join(map(str, value))
    return str(value)


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``.jsonl`` (or ``.json`` list) or ``.parquet`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"code task file {str(path)!r} does not exist")
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as e:
            raise ImportError("reading parquet needs pyarrow: pip install 'toolgym[data]'") from e
        return pq.read_table(path).to_pylist()
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise ValueError(f"{path}: a .json task file must hold a list of rows")
        return rows
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not valid JSON: {e.msg}") from None
    return rows


def load_tasks(rows: Sequence[dict[str, Any]], source: str) -> dict[str, CodeTaskSpec]:
    """Parse every row; one ``ValueError`` lists the bad rows (by row number) and duplicate ids."""
    specs: dict[str, CodeTaskSpec] = {}
    problems = []
    for i, row in enumerate(rows):
        try:
            spec = parse_row(row, i)
        except ValueError as e:
            problems.append(f"row {i}: {e}")
            continue
        if spec.id in specs:
            problems.append(f"row {i}: duplicate id {spec.id!r}")
        specs[spec.id] = spec
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise ValueError(f"{source}: {len(problems)} bad task row(s): {shown}")
    if not specs:
        raise ValueError(f"{source}: no tasks")
    return specs


@cache
def _tasks_from_file(path: str, mtime: float) -> dict[str, CodeTaskSpec]:
    return load_tasks(read_rows(path), path)


@dataclass
class CodeTaskConfig(GradedConfig):
    """``path``: a JSONL/JSON/parquet task file (default: a small bundled example set);
    ``tasks``: rows given directly instead of a file."""

    path: str | None = None
    tasks: list[dict[str, Any]] | None = field(default=None, repr=False)

    def validate(self) -> None:
        super().validate()
        if self.path is not None and self.tasks is not None:
            raise ValueError("path and tasks: give one of them, not both")
        if self.tasks is not None and (not isinstance(self.tasks, list) or not self.tasks):
            raise ValueError("tasks must be a non-empty list of rows")


class CodeTaskEnv(GradedEnv):
    """User-supplied code tasks; reward = fraction of hidden assertions or stdin/stdout cases passed."""

    config_cls = CodeTaskConfig
    config: CodeTaskConfig
    episode_defaults = {"max_turns": 8}

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        super().__init__(render_mode=render_mode, **kwargs)
        cfg = self.config
        if cfg.tasks is not None:
            self.specs = load_tasks(cfg.tasks, "tasks")
        else:
            path = Path(cfg.path) if cfg.path else EXAMPLE_TASKS
            if not path.is_file():
                raise FileNotFoundError(f"path: code task file {str(path)!r} does not exist")
            self.specs = _tasks_from_file(str(path.resolve()), path.stat().st_mtime)

    def answer_shape(self) -> str:
        return "your complete solution as a ```python fenced block"

    def instructions(self) -> str:
        return (
            "You solve programming tasks in Python. "
            f"{self.describe_python()} When you are done, "
            f"{self.protocol.how_to_answer(self.answer_shape())}. Hidden tests decide the reward."
        )

    def task_ids(self) -> list[str]:
        return list(self.specs)

    def _load_task(self, task_id: str) -> Task:
        spec = self.specs.get(task_id)
        if spec is None:
            raise KeyError(f"unknown task id {task_id!r}; there are {len(self.specs)} tasks")
        if isinstance(spec.tests, tuple):
            how = "Your program reads standard input and writes the answer to standard output."
        elif spec.entry_point:
            how = f"Your code must define `{spec.entry_point}`."
        else:
            how = "Define the functions the task asks for."
        answer = f"```python\n{spec.solution}\n```" if spec.solution else ""
        return Task(
            id=spec.id,
            prompt=f"{spec.prompt.strip()}\n\n{how}",
            answer=answer,
            metadata={"io": isinstance(spec.tests, tuple), "entry_point": spec.entry_point},
        )

    def verify(self, task: Task, answer: str) -> Verdict:
        spec = self.specs[task.id]
        code = extract_code(answer)
        if isinstance(spec.tests, tuple):
            result = self.grader.grade_io(code, spec.tests)
        else:
            result = self.grader.grade(code, spec.tests)
        return result.verdict()
