"""The hidden-test grader: what counts as an assertion, what crosses between the processes, time
limits, and sandbox failures raised as InfraError."""

from __future__ import annotations

import pytest

from envs.code.grading import Grader, HiddenTests, IOCase, extract_code, normalize_output
from envs.core import InfraError
from sandbox import ExecResult


@pytest.fixture(scope="module")
def grader(sandbox):
    return Grader(sandbox, call_timeout_s=1.0, timeout_s=8.0)


def test_each_assert_counts_and_constant_asserts_do_not(grader):
    tests = HiddenTests("assert True\nassert f(1) == 2\nassert f(2) == 3\nassert f(3) == 5\n")
    result = grader.grade("def f(x):\n    return x + 1\n", tests)
    assert (result.passed, result.total) == (2, 3)
    assert result.verdict().score == pytest.approx(2 / 3) and not result.verdict().success


def test_asserts_in_a_loop_count_once_and_fail_if_any_iteration_fails(grader):
    tests = HiddenTests("for i in range(10):\n    assert f(i) == i * i\nassert f(0) == 0\n")
    assert grader.grade("def f(x):\n    return x * x if x < 9 else 0\n", tests).passed == 1
    assert grader.grade("def f(x):\n    return x * x\n", tests).passed == 2


def test_a_statement_that_raises_fails_its_asserts_only(grader):
    tests = HiddenTests(
        "def check(candidate):\n    x = candidate(0)\n    assert x == 1\n    assert candidate(5) == 1\n",
        entry_point="f",
    )
    result = grader.grade("def f(x):\n    return 1 // x\n", tests)
    assert (result.passed, result.total) == (0, 2)
    result = grader.grade("def f(x):\n    return 1 if x == 0 else 1 // x * 5\n", tests)
    assert (result.passed, result.total) == (1, 2)


def test_plain_data_crosses_exactly(grader):
    tests = HiddenTests(
        "assert f('tuple') == (1, 2) and type(f('tuple')) is tuple\n"
        "assert f('set') == {1, 2}\n"
        "assert f('dict') == {(1, 2): [3.5, None], 'k': b'xy'}\n"
        "assert f('big') == 10**40 + 1\n"
        "assert f('nan') != f('nan') and f('inf') == float('inf')\n"
        "assert f('float') == 0.1 + 0.2\n"
        "assert f('complex') == 1 + 2j\n"
    )
    code = (
        "def f(kind):\n"
        "    return {'tuple': (1, 2), 'set': {1, 2}, 'dict': {(1, 2): [3.5, None], 'k': b'xy'},\n"
        "            'big': 10**40 + 1, 'nan': float('nan'), 'inf': float('inf'), 'float': 0.1 + 0.2,\n"
        "            'complex': 1 + 2j}[kind]\n"
    )
    result = grader.grade(code, tests)
    assert result.passed == result.total == 7, result.errors


def test_objects_are_opaque_but_classes_and_methods_work(grader):
    tests = HiddenTests(
        "def check(candidate):\n"
        "    assert candidate(2, 3) == 5\n"
        "    s = Solution()\n"
        "    assert s.add(1, 1) == 2\n"
        "    assert s.scale == 10\n",
        entry_point="Solution().add",
    )
    code = "class Solution:\n    scale = 10\n    def add(self, a, b):\n        return a + b\n"
    assert grader.grade(code, tests).passed == 3
    # An object that is not plain data has no truth value and equals nothing but itself.
    tests = HiddenTests("assert f()\nassert f() == 1\nassert not (f() != 1)\n")
    code = "class T:\n    def __bool__(self): return True\n    def __eq__(self, o): return True\ndef f():\n    return T()\n"
    assert grader.grade(code, tests).passed == 0


def test_a_call_that_hangs_fails_and_the_rest_still_run(grader):
    tests = HiddenTests("assert f(0) == 0\nassert f(1) == 1\nassert f(2) == 2\n")
    code = "def f(x):\n    while x == 1:\n        pass\n    return x\n"
    result = grader.grade(code, tests)
    assert (result.passed, result.total) == (2, 3)


def test_a_submission_that_never_loads_earns_nothing(grader):
    result = grader.grade("while True:\n    pass\n", HiddenTests("assert f(1) == 1\n"))
    assert result.passed == 0
    result = grader.grade("def f(:\n", HiddenTests("assert f(1) == 1\n"))
    assert result.passed == 0 and "SyntaxError" in result.load_error


def test_bad_tests_are_a_clear_error_at_construction():
    with pytest.raises(ValueError, match="no assert"):
        HiddenTests("print('hi')\n")
    with pytest.raises(ValueError, match="do not parse"):
        HiddenTests("assert (\n")
    with pytest.raises(ValueError, match="entry_point"):
        HiddenTests("def check(candidate):\n    assert candidate(1)\n")


def test_tests_that_call_check_themselves(grader):
    tests = HiddenTests(
        "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 4\n\ncheck(double)\n"
    )
    assert grader.grade("def double(x):\n    return 2 * x\n", tests).passed == 2
    assert grader.grade("def double(x):\n    return 2\n", tests).passed == 1


def test_io_cases_compare_stdout_outside_the_sandbox(grader):
    cases = [IOCase("2 3\n", "5\n"), IOCase("10 -4\n", "6"), IOCase("1 1\n", "3\n")]
    result = grader.grade_io("a, b = map(int, input().split())\nprint(a + b)\n", cases)
    assert (result.passed, result.total) == (2, 3)
    result = grader.grade_io("import os\nprint(5, flush=True)\nos._exit(0)\n", cases)
    assert result.passed == 1  # printing 5 is right for the first case only


class _BrokenSandbox:
    """Stands in for a sandbox whose every run fails on the sandbox's side."""

    def run_batch(self, requests):
        return [ExecResult.infra_error("worker crashed") for _ in requests]


def test_a_sandbox_error_raises_infra_error_never_a_zero():
    grader = Grader(_BrokenSandbox())
    with pytest.raises(InfraError, match="worker crashed"):
        grader.grade("def f():\n    return 1\n", HiddenTests("assert f() == 1\n"))
    with pytest.raises(InfraError, match="worker crashed"):
        grader.grade_io("print(1)", [IOCase("", "1")])


def test_tests_that_cannot_run_are_an_infra_error(grader):
    with pytest.raises(InfraError, match="could not run"):
        grader.grade(
            "def f():\n    return 1\n",
            HiddenTests("assert f() == 1\n", setup="raise RuntimeError('bad setup')"),
        )


def test_extract_code_and_normalize_output():
    assert extract_code("text\n```python\nx = 1\n```\nmore\n```py\ny = 2\n```") == "y = 2"
    assert extract_code("```\nplain\n```") == "plain"
    assert extract_code("def f():\n    pass\n") == "def f():\n    pass"
    assert normalize_output("a  \r\nb\n\n") == normalize_output("a\nb")
