"""Imports run one way: agents -> envs -> (sandbox, retrieval, rewards), and those three import none of
the others. Every import in a package's source counts, a deferred one inside a function too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "envs": {"agents"},
    "sandbox": {"agents", "envs", "retrieval", "rewards"},
    "retrieval": {"agents", "envs", "sandbox", "rewards"},
    "rewards": {"agents", "envs", "sandbox", "retrieval"},
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a file, and of every
    ``importlib.import_module("...")`` or ``__import__("...")`` of a constant name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return sorted(found)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_or_beside_it(package: str):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources found for {package}"
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in files
        for line, target in imported_packages(path)
        if target in FORBIDDEN[package]
    ]
    assert wrong == []


def test_the_checker_sees_deferred_and_dynamic_imports(tmp_path: Path):
    source = tmp_path / "m.py"
    source.write_text(
        "import os\nfrom . import sibling\n"
        "def f():\n    from envs.core import tool\n    import importlib\n"
        "    importlib.import_module('agents.cli')\n    __import__('sandbox')\n"
    )
    assert imported_packages(source) == [
        (1, "os"),
        (4, "envs"),
        (5, "importlib"),
        (6, "agents"),
        (7, "sandbox"),
    ]
