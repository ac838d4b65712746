"""``toolgym model tiny`` and ``toolgym eval`` with the tiny model on CPU."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agents.cli import app
from agents.trajectory import load_jsonl

runner = CliRunner()


def test_model_tiny_writes_a_tool_calling_model(tmp_path):
    from agents.backends import load_tokenizer

    result = runner.invoke(app, ["model", "tiny", str(tmp_path / "m"), "--vocab-size", "600"])
    assert result.exit_code == 0, result.output
    tok = load_tokenizer(str(tmp_path / "m"))
    assert len(tok) == 600
    tools = [{"type": "function", "function": {"name": "check", "description": "Check.", "parameters": {}}}]
    msgs = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": '<tool_call>\n{"name": "check", "arguments": {}}\n</tool_call>'},
        {"role": "tool", "name": "check", "content": "ok"},
    ]
    text = tok.apply_chat_template(msgs, tools=tools, tokenize=False, add_generation_prompt=True)
    assert '"name": "check"' in text and "<tools>" in text
    assert (
        "<|im_start|>user\n<tool_response>\nok\n</tool_response><|im_end|>\n<|im_start|>assistant\n" in text
    )
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text
    assert tok.convert_ids_to_tokens(tok.encode("<tool_call>", add_special_tokens=False)) == ["<tool_call>"]


def test_model_tiny_rejects_bad_sizes(tmp_path):
    result = runner.invoke(app, ["model", "tiny", str(tmp_path / "m"), "--vocab-size", "10"])
    assert result.exit_code != 0
    assert "vocab_size" in result.output
    assert not (tmp_path / "m").exists()


def test_eval_reports_metrics_and_writes_trajectories(tiny_model_dir, tmp_path):
    out, summary = tmp_path / "t.jsonl", tmp_path / "s.json"
    args = [
        "eval",
        "--env",
        "toolgym/Countdown-v0",
        "--env",
        "toolgym/KnightsKnaves-v0",
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
        "--out",
        str(out),
        "--summary-json",
        str(summary),
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "pass@2" in result.output and "maj@2" in result.output
    trajs = list(load_jsonl(out))
    assert len(trajs) == 8
    assert {(t.env_id, t.seed, t.sample) for t in trajs} == {
        (e, s, j)
        for e in ("toolgym/Countdown-v0", "toolgym/KnightsKnaves-v0")
        for s in (0, 1)
        for j in (0, 1)
    }
    rows = json.loads(summary.read_text())
    assert [r["env_id"] for r in rows] == ["toolgym/Countdown-v0", "toolgym/KnightsKnaves-v0", "all"]
    for r in rows:
        assert 0.0 <= r["pass_at_k"] <= 1.0 and r["errors"] == 0
        assert r["turns"] >= 1
    for t in trajs:
        assert len(t.env_mask) == len(t.completion_ids) and t.prompt_ids
        assert all(turn.completion_logprobs is not None for turn in t.turns)


def test_eval_input_errors_are_clear(tiny_model_dir):
    result = runner.invoke(app, ["eval", "--env", "toolgym/Countdown-v0"])
    assert result.exit_code != 0 and "--model" in result.output
    result = runner.invoke(app, ["eval", "--env", "toolgym/Nope-v0", "--model", str(tiny_model_dir)])
    assert result.exit_code != 0 and "unknown env" in result.output
    result = runner.invoke(
        app, ["eval", "--env", "toolgym/Countdown-v0", "--model", str(tiny_model_dir), "-k", "0"]
    )
    assert result.exit_code != 0 and "k must be" in result.output


def test_eval_against_a_server_that_is_down_is_a_clear_error(tiny_model_dir, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    out = tmp_path / "t.jsonl"
    args = ["eval", "--env", "toolgym/Countdown-v0", "--base-url", f"http://127.0.0.1:{port}/v1",
            "--model", str(tiny_model_dir), "-n", "1", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "generation failed" in result.output and f"127.0.0.1:{port}" in result.output
    assert out.exists()
