"""The README's and docs' code examples run, and print what they say they print.

Which blocks run, marked in the Markdown itself:

- every ```python block runs, in order, the blocks of one file sharing one namespace (as a reader
  would paste them), in a scratch folder with a private toolgym cache; a block is left out only when
  an HTML comment ``<!-- doc-test: skip REASON -->`` stands on the line before it (it needs a service,
  a GPU, files of the reader's own);
- a statement whose line ends in ``# -> EXPECTED`` is checked: ``repr`` of its value (an expression's
  value, or an assignment's first target) must read ``EXPECTED``, where ``...`` stands for any text;
- a ```bash block runs only when ``<!-- doc-test: run -->`` stands before it (cheap commands only):
  each command must exit 0, with ``toolgym`` being this checkout's CLI.
"""

import ast
import io
import os
import re
import stat
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(
    r"^(?:<!-- doc-test: (?P<mark>[^\n]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```", re.S | re.M
)


def blocks(path: Path, lang: str) -> list[tuple[int, str | None, str]]:
    """(line, mark, body) of every ``lang`` block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    found = []
    for m in BLOCK.finditer(text):
        if m.group("lang") == lang:
            line = text.count("\n", 0, m.start("body"))
            found.append((line + 1, m.group("mark"), m.group("body")))
    return found


def expectations(source: str) -> dict[int, str]:
    """Line number -> the text after ``# ->`` in a comment on that line."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and tok.string.startswith("# -> "):
            out[tok.start[0]] = tok.string[len("# -> ") :].strip()
    return out


def matches(expected: str, actual: str) -> bool:
    """``expected`` equals ``actual``, where each ``...`` in it stands for any text."""
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual, re.S) is not None


def run_python(body: str, namespace: dict, where: str) -> None:
    """Run a block statement by statement, checking the ``# ->`` lines."""
    tree = ast.parse(body)
    expected = expectations(body)
    stray = set(expected) - {stmt.end_lineno for stmt in tree.body}
    assert not stray, f"{where}: '# ->' on lines {sorted(stray)}, which end no top-level statement"
    for stmt in tree.body:
        want = expected.get(stmt.end_lineno)
        if isinstance(stmt, ast.Expr) and want is not None:
            value = eval(compile(ast.Expression(stmt.value), where, "eval"), namespace)
        else:
            exec(compile(ast.Module([stmt], []), where, "exec"), namespace)
            if want is None:
                continue
            assert isinstance(stmt, ast.Assign), (
                f"{where}:{stmt.lineno}: '# ->' after a statement with no value"
            )
            target = stmt.targets[0]
            target = target.elts[0] if isinstance(target, ast.Tuple) else target
            value = eval(ast.unparse(target), namespace)
        assert matches(want, repr(value)), f"{where}:{stmt.end_lineno}: expected {want}\ngot {value!r}"


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A scratch working folder and toolgym cache, and a ``toolgym`` that runs this checkout."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOOLGYM_CACHE", str(tmp_path / "cache"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "toolgym"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m agents "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return tmp_path


@pytest.mark.parametrize("doc", [d for d in DOCS if blocks(d, "python")], ids=lambda d: d.name)
def test_python_examples_run_and_print_what_they_say(doc, scratch):
    namespace: dict = {"__name__": "__doc_example__"}
    ran = 0
    for line, mark, body in blocks(doc, "python"):
        if mark and mark.startswith("skip"):
            continue
        run_python(body, namespace, f"{doc.relative_to(ROOT)}:{line}")
        ran += 1
    assert ran, f"{doc.name}: every python block is skipped"


@pytest.mark.parametrize(
    "doc", [d for d in DOCS if any(m == "run" for _, m, _ in blocks(d, "bash"))], ids=lambda d: d.name
)
def test_marked_shell_examples_exit_0(doc, scratch):
    for line, mark, body in blocks(doc, "bash"):
        if mark != "run":
            continue
        for command in body.replace("\\\n", " ").splitlines():
            command = command.split("  #")[0].strip()
            if not command or command.startswith("#"):
                continue
            proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, (
                f"{doc.name}:{line}: {command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
            )


def test_the_marks_are_known():
    for doc in DOCS:
        for lang in ("python", "bash"):
            for line, mark, _ in blocks(doc, lang):
                assert mark is None or mark == "run" or mark.startswith("skip "), f"{doc.name}:{line}: {mark}"
