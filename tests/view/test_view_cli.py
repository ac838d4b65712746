"""``toolgym view`` and ``toolgym play --web`` on the command line: one-line errors, a light ``--help``,
the exported file, and the server answering on its port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def toolgym(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agents", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        **kwargs,
    )


@pytest.mark.parametrize("args", [["view", "--help"], ["play", "--help"]])
def test_help_loads_no_server_or_model_library(args: list[str]):
    code = (
        "import sys\n"
        f"sys.argv = ['toolgym', *{args!r}]\n"
        "import agents.cli\n"
        "try:\n    agents.cli.main()\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('fastapi', 'uvicorn', 'starlette', 'torch', 'transformers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().endswith("[]"), out.stdout
    assert "--web" in out.stdout or "--html" in out.stdout


def test_missing_paths_and_bad_env_are_one_line_errors(tmp_path: Path):
    for args, says in [
        (["view", str(tmp_path / "nope.jsonl")], "no such file or folder"),
        (["play", "toolgym/Nope-v0", "--web"], "unknown env"),
        (["play", "toolgym/Countdown-v0", "--web", "--kwarg", "protocol=yaml"], "protocol must be one of"),
    ]:
        r = toolgym(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert says in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_html_is_one_self_contained_file(runs: dict[str, Path], tmp_path: Path):
    out = tmp_path / "share" / "run.html"
    r = toolgym("view", str(runs["eval"]), str(runs["train"]), "--html", str(out), "--max-episodes", "3",
                env={**os.environ, "TOOLGYM_CACHE": str(tmp_path / "cache")})  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout
    html = out.read_text()
    assert 'id="toolgym-data"' in html and "<style>" in html
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html), "the file refers to another file"
    assert "http://" not in html.split('id="toolgym-data"')[0]
    assert html.count("</script>") == 2  # the data cannot close its element early


def test_malformed_lines_are_said_on_stderr(runs: dict[str, Path], tmp_path: Path):
    cut = tmp_path / "cut.jsonl"
    text = runs["eval"].read_text()
    cut.write_text(text + "{oops\n" + text)
    r = toolgym(
        "view",
        str(cut),
        "--html",
        str(tmp_path / "x.html"),
        env={**os.environ, "TOOLGYM_CACHE": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr
    assert "1 malformed line(s) skipped, the first at line 10:" in r.stderr
    assert "18 episodes" in r.stdout


def test_view_serves_on_its_port(runs: dict[str, Path], tmp_path: Path):
    env = {**os.environ, "TOOLGYM_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents", "view", str(runs["eval"]), "--port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(url + "api/sources/0/episodes", timeout=5).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        assert page["total"] == 9
        assert "toolgym view" in httpx.get(url, timeout=5).text
    finally:
        proc.terminate()
        proc.wait(10)


def test_plain_view_skips_typer_and_means_the_same(tmp_path: Path):
    """``view PATH... [--port N]`` is parsed without typer (whose import and parsing cost start-up
    time) into the same call typer makes; any other form goes through typer."""
    from agents.cli.view_run import plain_view_args

    assert plain_view_args(["view", "a.jsonl", "runs/b", "--port", "0"]) == (
        [Path("a.jsonl"), Path("runs/b")],
        0,
    )
    assert plain_view_args(["view", "a.jsonl", "--port=9000"]) == ([Path("a.jsonl")], 9000)
    assert plain_view_args(["view", "a.jsonl"]) == ([Path("a.jsonl")], 8765)
    for argv in (["view"], ["view", "--port", "1"], ["view", "a", "--port"], ["view", "a", "--port", "-1"],
                 ["view", "a", "--html", "x"], ["view", "a", "--help"], ["view", "a", "--", "b"], ["envs"]):  # fmt: skip
        assert plain_view_args(argv) is None, argv
    code = (
        "import sys\n"
        "import agents.cli, agents.cli.view_run as v\n"
        "v.run_view = lambda *a, **k: print(a, k, [m for m in ('typer', 'pydantic') if m in sys.modules])\n"
        f"sys.argv = ['toolgym', 'view', {str(tmp_path)!r}, '--port', '0']\n"
        "agents.cli.main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"([PosixPath({str(tmp_path)!r})], 0) {{}} []"
    (tmp_path / "t.jsonl").write_text('{"env_id": "toolgym/Countdown-v0"}\n')
    r = toolgym(
        "view",
        str(tmp_path / "t.jsonl"),
        "--port",
        "70000",
        env={**os.environ, "TOOLGYM_CACHE": str(tmp_path)},
    )
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: Invalid value: --port must be in [0, 65535], got 70000 (see toolgym view --help)"
    ], r.stderr
    typer_path = toolgym(  # --tokenizer: through typer, the same line
        "view", str(tmp_path / "t.jsonl"), "--port", "70000", "--tokenizer", str(tmp_path),
        env={**os.environ, "TOOLGYM_CACHE": str(tmp_path)},
    )  # fmt: skip
    assert typer_path.returncode == 2
    assert typer_path.stderr.split(" (see")[0] == r.stderr.split(" (see")[0], typer_path.stderr
