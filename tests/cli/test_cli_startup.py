"""``toolgym --help`` and ``toolgym envs`` start light: asserted on ``sys.modules`` in a fresh
interpreter, not on time (``benchmarks/cli_startup.py`` measures the time)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Model, training and retrieval libraries, servers, and what the CLI used to pull in before a command ran:
# numpy and gymnasium (under `import envs`), pydantic (typer's option parsing), rich (typer's help).
HEAVY = (
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "datasets",
    "vllm",
    "ray",
    "pyserini",
    "jnius",
    "faiss",
    "sentence_transformers",
    "fastapi",
    "uvicorn",
    "httpx",
    "numpy",
    "gymnasium",
    "pydantic",
    "rich",
    "markdown_it",
    "pygments",
)
RUN = (
    "import json, sys\n"
    "sys.argv = ['toolgym', *json.loads(sys.argv[1])]\n"
    "from agents.cli import main\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    assert exc.code in (0, None), exc.code\n"
    "sys.stderr.write(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy})))\n"
)


@pytest.mark.parametrize("args", [["--help"], ["envs"]], ids=" ".join)
def test_command_imports_no_heavy_module(args):
    code = RUN.format(heavy=set(HEAVY))
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == []
    assert "toolgym/Countdown-v0" in proc.stdout if args == ["envs"] else "Commands:" in proc.stdout


@pytest.mark.parametrize("args", [[], ["sandbox"]], ids=["toolgym", "toolgym sandbox"])
def test_a_command_group_alone_prints_its_help(args):
    proc = subprocess.run(
        [sys.executable, "-m", "agents", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and proc.stderr == ""
    assert proc.stdout.startswith("Usage: ") and "Commands:" in proc.stdout
