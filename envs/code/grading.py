"""Grading code against hidden tests, in the sandbox, so that reward hacking earns nothing.

Two kinds of hidden tests:

* ``HiddenTests``: Python test code (top-level asserts and/or a ``check(candidate)`` function) run by
  ``harness.py``: the tests and the assertions run in a trusted process, the submission in another
  process that they reach only through calls returning plain data (see ``harness.py`` for why this
  defeats ``sys.exit``, patched builtins, printed "passed", reading the tests and the like). The
  result comes back on a line that starts with a per-run random token.
* ``IOCase`` lists: the submission is a program; each case runs it with the case's stdin and its
  stdout is compared here, outside the sandbox, with the expected output, which never enters it.

Scores are the fraction of assertions (or cases) passed. A ``sandbox_error`` or a harness that cannot
run the tests raises ``InfraError``: an infrastructure failure is never scored 0.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from envs.core import InfraError, Verdict
from envs.core.pyparse import parse_python

_HARNESS_MARGIN_S = 5.0
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)


@cache
def harness_code() -> str:
    """The source of the in-sandbox harness."""
    return Path(__file__).with_name("harness.py").read_text(encoding="utf-8")


def extract_code(answer: str) -> str:
    """The code in a final answer: the last fenced code block (```python ... ```) if there is one,
    else the whole answer."""
    blocks = _FENCE.findall(answer)
    if blocks:
        python = [body for lang, body in blocks if lang.lower() in ("python", "py", "python3", "")]
        return (python or [body for _, body in blocks])[-1].strip("\n")
    return answer.strip("\n")


def count_asserts(tests: str) -> int:
    """How many assertions (not counting constant ones like ``assert True``) the test code holds."""
    tree = parse_python(tests)
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Assert) and not isinstance(node.test, ast.Constant)
    )


def _defines_uncalled_check(tests: str) -> bool:
    """Whether the test code defines ``check`` at top level without calling it there itself."""
    body = parse_python(tests).body
    defined = any(isinstance(n, ast.FunctionDef) and n.name == "check" for n in body)
    called = any(
        isinstance(n, ast.Expr)
        and isinstance(n.value, ast.Call)
        and isinstance(n.value.func, ast.Name)
        and n.value.func.id == "check"
        for n in body
    )
    return defined and not called


@dataclass(frozen=True)
class HiddenTests:
    """Hidden assertion tests. ``tests``: Python code with top-level asserts and/or a
    ``check(candidate)`` function; ``entry_point``: the candidate, an expression over the
    submission's top-level names (``add``, ``Solution().add``); ``setup``: trusted code run before
    the tests (e.g. helpers of a HumanEval prompt that the tests call)."""

    tests: str
    entry_point: str | None = None
    setup: str = ""

    def __post_init__(self) -> None:
        try:
            n = count_asserts(self.tests)
            compile(self.setup, "<setup>", "exec")
            if self.entry_point:
                compile(self.entry_point, "<entry_point>", "eval")
        except SyntaxError as e:
            raise ValueError(f"hidden tests do not parse: {e}") from None
        if "__grader_" in self.tests:
            raise ValueError("hidden tests may not use names starting with __grader_ (the grader's own)")
        if n == 0:
            raise ValueError("hidden tests hold no assert statement (constant asserts do not count)")
        if not self.entry_point and _defines_uncalled_check(self.tests):
            raise ValueError(
                "tests define check(candidate) but never call it, and no entry_point names the candidate"
            )

    @property
    def total(self) -> int:
        return count_asserts(self.tests)


@dataclass(frozen=True)
class IOCase:
    """A stdin/stdout test case: the program reads ``input`` and must print ``output``."""

    input: str
    output: str


@dataclass
class GradeResult:
    """How a submission did on its hidden tests."""

    passed: int
    total: int
    load_error: str | None = None
    errors: list[str] = field(default_factory=list)
    status: str = "ok"

    @property
    def fraction(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def verdict(self) -> Verdict:
        """The env's verdict: reward = fraction passed, success = all passed. The feedback says how
        many passed and why the code failed to load, never what the tests are."""
        feedback = f"passed {self.passed} of {self.total} hidden tests"
        if self.status != "ok":
            feedback += f" ({self.status})"
        if self.load_error:
            feedback += f"; the code raised while loading: {self.load_error}"
        parts = {
            "tests_passed": float(self.passed),
            "tests_total": float(self.total),
            "pass_rate": self.fraction,
        }
        return Verdict(
            score=self.fraction,
            success=self.total > 0 and self.passed == self.total,
            parts=parts,
            feedback=feedback,
        )


def _raise_for_infra(result: Any) -> None:
    if result.status == "sandbox_error":
        raise InfraError(f"sandbox error while grading: {result.stderr.strip()[:500]}")


def normalize_output(text: str) -> str:
    """Output as compared: trailing whitespace of each line and trailing blank lines dropped."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip("\n").split("\n"))


class Grader:
    """Grades submissions in a sandbox (an embedded ``Sandbox`` or a ``SandboxClient``).

    ``call_timeout_s`` bounds one call into the submission, ``timeout_s`` a whole grading run (or one
    stdin/stdout case).
    """

    def __init__(
        self, sandbox: Any, *, call_timeout_s: float = 5.0, timeout_s: float = 30.0, memory_mb: int = 512
    ):
        if not 0 < call_timeout_s <= timeout_s:
            raise ValueError(f"call_timeout_s must be in (0, timeout_s={timeout_s}], got {call_timeout_s}")
        self.sandbox = sandbox
        self.call_timeout_s = call_timeout_s
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb

    # ---- assertion tests ---------------------------------------------------------------------
    def _request(self, submission: str, tests: HiddenTests) -> tuple[dict[str, Any], str]:
        token = secrets.token_hex(16)
        spec = {
            "token": token,
            "submission": submission,
            "tests": tests.tests,
            "setup": tests.setup,
            "entry_point": tests.entry_point,
            "call_timeout_s": self.call_timeout_s,
            "deadline_s": self.timeout_s,
        }
        request = {
            "code": harness_code(),
            "stdin": json.dumps(spec),
            "timeout_s": self.timeout_s + _HARNESS_MARGIN_S,
            "memory_mb": self.memory_mb,
        }
        return request, token

    @staticmethod
    def _parse(result: Any, token: str, tests: HiddenTests) -> GradeResult:
        _raise_for_infra(result)
        total = tests.total
        lines = result.stdout.splitlines()
        for line in lines:
            if line.startswith(token + " "):
                body = line[len(token) + 1 :]
                if body.startswith("HARNESS-ERROR"):  # the tests themselves cannot run
                    raise InfraError(
                        f"the hidden tests could not run: {body[len('HARNESS-ERROR') :].strip()}"
                    )
                report = json.loads(body)
                passed = sum(1 for ok in report["results"].values() if ok is True)
                return GradeResult(
                    passed, len(report["results"]), report.get("load_error"), list(report.get("errors", []))
                )
        if len(lines) == 1 and lines[0].startswith("HARNESS-ERROR"):
            # The harness failed before it read its request, before the submission existed.
            raise InfraError(f"the harness could not start: {lines[0][len('HARNESS-ERROR') :].strip()}")
        # The harness was killed before it reported (by the submission, or out of time or memory).
        return GradeResult(
            0,
            total,
            None,
            ["the grader was stopped before it reported"],
            status=result.status if result.status != "ok" else "error",
        )

    def grade(self, submission: str, tests: HiddenTests) -> GradeResult:
        """Run ``tests`` against ``submission`` (Python source)."""
        return self.grade_many([(submission, tests)])[0]

    def grade_many(self, items: Sequence[tuple[str, HiddenTests]]) -> list[GradeResult]:
        """Grade many submissions in parallel (one sandbox batch)."""
        built = [self._request(sub, tests) for sub, tests in items]
        results = self.sandbox.run_batch([req for req, _ in built])
        return [
            self._parse(r, token, tests)
            for r, (_, token), (_, tests) in zip(results, built, items, strict=True)
        ]

    # ---- stdin/stdout tests ------------------------------------------------------------------
    def grade_io(self, program: str, cases: Sequence[IOCase]) -> GradeResult:
        """Run ``program`` once per case, in parallel; a case passes when its stdout matches."""
        if not cases:
            raise ValueError("grade_io needs at least one case")
        requests = [
            {"code": program, "stdin": c.input, "timeout_s": self.timeout_s, "memory_mb": self.memory_mb}
            for c in cases
        ]
        results = self.sandbox.run_batch(requests)
        passed, errors, statuses = 0, [], set()
        for case, r in zip(cases, results, strict=True):
            _raise_for_infra(r)
            if r.status == "ok" and normalize_output(r.stdout) == normalize_output(case.output):
                passed += 1
            else:
                statuses.add(r.status)
                if r.status == "error" and len(errors) < 3:
                    errors.append(r.stderr.strip().splitlines()[-1][:300] if r.stderr.strip() else "error")
        status = "ok" if not statuses - {"ok", "error"} else sorted(statuses - {"ok", "error"})[0]
        return GradeResult(passed, len(cases), None, errors, status=status)
