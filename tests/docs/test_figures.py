"""The README's table of figures and docs/figures.md agree with each other and with
docs/figures.json, and every command they name runs (its module exists and its flags parse); no
benchmark is run."""

from __future__ import annotations

import argparse
import importlib
import json
import runpy
import shlex
import sys

import pytest

from benchmarks import figures


class Parsed(Exception):
    """Raised in place of running a benchmark once its command line has parsed."""


def data() -> dict:
    return json.loads(figures.DATA.read_text())


def test_readme_table_and_docs_figures_agree() -> None:
    readme = figures.table_rows(figures.README.read_text().split(figures.START, 1)[1])
    table = figures.table_rows(figures.TABLE.read_text())
    assert readme, "the README has no table of figures between its markers"
    assert readme == table


def test_both_tables_are_rendered_from_the_data() -> None:
    d = data()
    assert figures.TABLE.read_text() == figures.render_table(d), "run python -m benchmarks.figures --render"
    readme = figures.README.read_text()
    assert readme == figures.render_readme(d, readme), "run python -m benchmarks.figures --render"


def test_every_figure_has_the_fields_it_needs() -> None:
    for name, bench in data()["benches"].items():
        assert bench["figures"], f"{name} wrote no figures"
        for f in bench["figures"]:
            assert {"name", "value", "unit", "baseline", "ratio", "command", "load"} <= set(f), (name, f)
            assert f["command"] == bench["command"]


def parses(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m MODULE ARGS``: the module imports and its parser takes ARGS."""
    words = shlex.split(command)
    assert words[:2] == ["python", "-m"], f"not a `python -m` command: {command}"
    module, args = words[2], words[3:]
    assert importlib.util.find_spec(module) is not None, f"no module {module}"
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, args=None, namespace=None):
        raise Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_and_stop)
    monkeypatch.setattr(sys, "argv", [module, *args])
    monkeypatch.delitem(sys.modules, module, raising=False)  # run afresh as __main__
    with pytest.raises(Parsed):
        runpy.run_module(module, run_name="__main__", alter_sys=False)


def test_every_command_in_the_tables_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    commands = {row[-1].strip("`") for row in figures.table_rows(figures.TABLE.read_text())}
    assert commands
    for command in sorted(commands):
        with monkeypatch.context() as m:
            parses(command, m)


@pytest.mark.parametrize("bench", figures.BENCHES, ids=lambda b: b.name)
def test_every_benchmark_entry_parses(bench: figures.Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    for args in (bench.args, bench.quick):
        with monkeypatch.context() as m:
            parses(shlex.join(["python", "-m", bench.module, *args, "--json", "out.json"]), m)


def test_a_flag_that_does_not_parse_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        parses("python -m benchmarks.env_steps --no-such-flag", monkeypatch)


def test_a_row_of_figures() -> None:
    f = {"name": "x", "value": 2.5, "unit": "ms", "baseline": 10.0, "baseline_name": "y", "ratio": 4.0}
    d = {"benches": {"b": {"figures": [{**f, "note": "n", "command": "python -m benchmarks.b"}]}}}
    assert figures.rows(d) == [("x", "2.50 ms (n)", "y: 10 ms", "4.0x", "`python -m benchmarks.b`")]
