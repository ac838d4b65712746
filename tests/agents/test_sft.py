"""``toolgym sft``: env demonstrations, their tokens and env mask, SFT through TRL on the model's tokens
only, and rejection sampling from trajectory files."""

from __future__ import annotations

import dataclasses
import json

import gymnasium as gym
import pytest
from typer.testing import CliRunner

import envs
from agents.cli import app
from agents.demos import SFT_SEED_BASE, demo_seeds, demo_specs, demonstration, play_demonstrations
from agents.rollout import EpisodeSpec
from agents.sft import SFTConfig, build_dataset, select_successful, sft_example, trajectories_from_files
from agents.trajectory import load_jsonl, save_jsonl

runner = CliRunner()

TOOLGYM_IDS = sorted(e.env_id for e in envs.ENVS)  # the local envs (not the remote client)
SEEDS = 3


def _supports_check(env_id: str) -> bool:
    return gym.spec(env_id).make().unwrapped.supports_check


@pytest.fixture(scope="module")
def tokenizer(tiny_tokenizer):
    return tiny_tokenizer


@pytest.mark.parametrize("protocol", ["xml", "json"])
@pytest.mark.parametrize("env_id", TOOLGYM_IDS)
def test_every_env_demonstration_succeeds(env_id, protocol, tokenizer):
    kwargs = {"protocol": protocol}
    variants = [kwargs, {**kwargs, "check_tool": True}] if _supports_check(env_id) else [kwargs]
    for env_kwargs in variants:
        report = play_demonstrations(demo_specs([env_id], SEEDS, env_kwargs=env_kwargs), tokenizer)
        assert not report.failed, (env_kwargs, report.failed)
        assert len(report.kept) == SEEDS
        for traj in report.kept:
            assert traj.is_success is True and traj.terminated and traj.error is None
            assert traj.prompt_ids and len(traj.completion_ids) == len(traj.env_mask)
            if env_kwargs.get("check_tool"):
                assert traj.num_tool_calls >= 1  # the check call on the reference answer


def _runs(mask: list[int], ids: list[int]) -> list[tuple[int, list[int]]]:
    """Maximal runs of equal mask values: (value, ids)."""
    runs: list[tuple[int, list[int]]] = []
    for m, i in zip(mask, ids, strict=True):
        if runs and runs[-1][0] == m:
            runs[-1][1].append(i)
        else:
            runs.append((m, [i]))
    return runs


@pytest.mark.parametrize(
    ("env_id", "kwargs", "result_tag"),
    [
        ("toolgym/PythonTool-v0", {"protocol": "json"}, "tool_response"),
        ("toolgym/PythonTool-v0", {"protocol": "xml"}, "output"),
        ("toolgym/SearchQA-v0", {"protocol": "xml", "min_hops": 2, "max_hops": 2}, "information"),
        ("toolgym/Mastermind-v0", {"protocol": "json"}, "tool_response"),
    ],
)
def test_env_mask_is_zero_exactly_on_tool_results(env_id, kwargs, result_tag, tokenizer):
    spec = EpisodeSpec(env_id, seed=demo_seeds(1, seed=3)[0], env_kwargs=kwargs)
    turns, _ = demonstration(spec)
    [traj] = play_demonstrations([spec], tokenizer).kept
    runs = _runs(traj.env_mask, traj.completion_ids)
    model_runs = [tokenizer.decode(ids) for m, ids in runs if m == 1]
    env_runs = [tokenizer.decode(ids) for m, ids in runs if m == 0]
    # 1 on the model's turns, each the demonstration's text and its end of turn, nothing else
    assert model_runs == [t + tokenizer.eos_token for t in turns]
    # 0 on what the env answered: one reply per tool-calling turn, holding that call's real result
    assert len(env_runs) == len(turns) - 1 >= 1
    results = [m["content"] for m in traj.messages if m["role"] in ("user", "tool")][1:]
    for decoded, result in zip(env_runs, results, strict=True):
        assert result in decoded and f"<{result_tag}>" in decoded
        assert not any(t in decoded for t in turns)
    if env_id == "toolgym/PythonTool-v0":
        env = gym.make(env_id, **kwargs)
        env.reset(seed=spec.seed)
        assert f"\n{env.unwrapped.task.answer}\n" in env_runs[0]  # the program printed the answer
    row = sft_example(traj)
    assert row["input_ids"] == traj.prompt_ids + traj.completion_ids
    assert row["completion_mask"] == [0] * len(traj.prompt_ids) + traj.env_mask


def test_demo_seeds_are_held_out_from_eval_and_grpo():
    from agents.train import TrainConfig
    from agents.train import build_dataset as grpo_dataset

    seeds = demo_seeds(100, seed=2)
    assert seeds[0] == SFT_SEED_BASE + 2_000_000 and len(set(seeds)) == 100
    grpo = grpo_dataset(TrainConfig(env_ids=("toolgym/Countdown-v0",), model="m", max_steps=50))
    assert max(json.loads(p)["seed"] for p in grpo["prompt"]) < SFT_SEED_BASE <= min(seeds)
    assert not set(demo_seeds(10, 0)) & set(demo_seeds(10, 1))
    with pytest.raises(ValueError, match="seed"):
        demo_seeds(3, seed=-1)


def test_a_failing_demonstration_is_reported_not_kept(tokenizer):
    # one move is too few to cross the lake (every path is at least two): the game is lost
    report = play_demonstrations(
        demo_specs(["toolgym/FrozenLake-v0"], 2, env_kwargs={"max_moves": 1}), tokenizer
    )
    assert report.kept == [] and report.counts() == {"toolgym/FrozenLake-v0": (0, 2)}
    assert {why for _, why in report.failed} == {"the env did not accept the demonstration"}
    assert report.lines() == [
        "demonstrations: toolgym/FrozenLake-v0: 0/2 succeeded",
        "  toolgym/FrozenLake-v0: 2 failed: the env did not accept the demonstration",
    ]


def _trainer(tiny_model_dir, tokenizer, trajectories, tmp_path):
    from transformers import AutoModelForCausalLM
    from trl import SFTTrainer

    from agents.sft import trl_config

    cfg = SFTConfig(model=str(tiny_model_dir), env_ids=("x",), output_dir=str(tmp_path), max_steps=1)
    dataset, _ = build_dataset(trajectories, cfg.max_length)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    return SFTTrainer(model=model, args=trl_config(cfg), train_dataset=dataset, processing_class=tokenizer)


def _loss(trainer, rows):
    import torch

    trainer.model.eval()
    batch = trainer.data_collator([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows])
    with torch.no_grad():
        return float(trainer.compute_loss(trainer.model, batch))


def test_loss_is_on_the_model_tokens_only(tiny_model_dir, tokenizer, tmp_path):
    import torch

    spec = EpisodeSpec(
        "toolgym/PythonTool-v0", seed=demo_seeds(1, seed=5)[0], env_kwargs={"protocol": "json"}
    )
    [traj] = play_demonstrations([spec], tokenizer).kept
    trainer = _trainer(tiny_model_dir, tokenizer, [traj], tmp_path)
    row = trainer.train_dataset[0]
    mask = sft_example(traj)["completion_mask"]
    assert row["input_ids"] == sft_example(traj)["input_ids"]
    assert row["labels"] == [i if m else -100 for i, m in zip(row["input_ids"], mask, strict=True)]
    # TRL's loss is the mean cross-entropy over the masked-in tokens, not over the whole sequence
    loss = _loss(trainer, [row])
    with torch.no_grad():
        logits = trainer.model(input_ids=torch.tensor([row["input_ids"]])).logits[0, :-1]
    targets = torch.tensor(row["input_ids"][1:])
    per_token = torch.nn.functional.cross_entropy(logits.float(), targets, reduction="none")
    keep = torch.tensor(mask[1:], dtype=torch.bool)
    assert 0 < int(keep.sum()) < len(keep) // 2  # most of a python demonstration is prompt and output
    assert loss == pytest.approx(float(per_token[keep].mean()), rel=1e-5)
    # cut the episode right after the tool result: changing the result's tokens leaves the loss as is
    first = traj.turns[0]
    end = len(traj.prompt_ids) + len(first.completion_ids) + len(first.env_ids)
    cut = {"input_ids": row["input_ids"][:end], "labels": row["labels"][:end]}
    assert set(cut["labels"][-len(first.env_ids) :]) == {-100}
    other = tokenizer.encode("something else entirely", add_special_tokens=False)
    changed = dict(
        cut, input_ids=cut["input_ids"][: -len(first.env_ids)] + (other * 99)[: len(first.env_ids)]
    )
    assert changed["input_ids"] != cut["input_ids"]
    assert _loss(trainer, [changed]) == pytest.approx(_loss(trainer, [cut]), rel=1e-6)


@pytest.mark.slow
def test_sft_lowers_the_loss_on_demonstrations(tiny_model_dir, tmp_path):
    from agents.sft import train_sft

    lines: list[str] = []
    cfg = SFTConfig(
        model=str(tiny_model_dir),
        env_ids=("toolgym/Countdown-v0", "toolgym/FrozenLake-v0"),
        env_kwargs={"protocol": "json"},
        n_demos=4,
        max_steps=8,
        batch_size=4,
        learning_rate=3e-3,
        output_dir=str(tmp_path / "run"),
        threads=2,
    )
    result = train_sft(cfg, log=lines.append)
    assert result.examples == 8 and result.steps == list(range(1, 9))
    assert result.losses[-1] < result.losses[0] - 0.5
    assert any(line.startswith("step 8/8 loss ") for line in lines)
    assert "demonstrations: toolgym/Countdown-v0: 4/4 succeeded" in lines
    assert (result.output_dir / "final" / "config.json").is_file()
    assert (result.output_dir / "final" / "tokenizer_config.json").is_file()
    assert result.plot_path is not None and result.plot_path.is_file()
    assert len(list(load_jsonl(result.output_dir / "demonstrations.jsonl"))) == 8


def _mixed_file(tokenizer, path):
    """Two successful episodes and four that must be left out, one of each kind."""
    specs = demo_specs(["toolgym/Countdown-v0"], 6, env_kwargs={"protocol": "json", "check_tool": True})
    good = play_demonstrations(specs, tokenizer).kept
    failed = dataclasses.replace(good[2], is_success=False)
    broken = dataclasses.replace(good[3], error="sandbox down", is_success=None)
    text_only = dataclasses.replace(good[4], prompt_ids=[])
    other_tok = dataclasses.replace(good[5], prompt_ids=[good[5].prompt_ids[0] + 1] + good[5].prompt_ids[1:])
    save_jsonl([good[0], failed, broken, good[1], text_only, other_tok], path)
    return good[:2]


def test_from_trajectories_keeps_only_successful_episodes(tokenizer, tmp_path):
    from agents.chat import ChatRenderer

    path = tmp_path / "trajectories.jsonl"
    good = _mixed_file(tokenizer, path)
    kept, dropped = select_successful(load_jsonl(path), ChatRenderer(tokenizer))
    assert [t.seed for t in kept] == [t.seed for t in good]
    assert dropped == {
        "not successful": 1,
        "error": 1,
        "no token ids (a text-only backend)": 1,
        "tokenized with another tokenizer or chat template": 1,
    }
    kept, lines = trajectories_from_files([path], ChatRenderer(tokenizer))
    assert len(kept) == 2 and lines[0].startswith(f"trajectories: {path}: kept 2 of 6")


@pytest.mark.slow
def test_cli_sft_on_demonstrations_and_trajectories(tiny_model_dir, tiny_tokenizer, tmp_path):
    path = tmp_path / "eval.jsonl"
    _mixed_file(tiny_tokenizer, path)
    out = tmp_path / "run"
    args = ["sft", "--model", str(tiny_model_dir), "--env", "toolgym/PythonTool-v0", "--kwarg", "protocol=json",
            "-n", "2", "--from-trajectories", str(path), "--steps", "2", "--batch-size", "2",
            "--output-dir", str(out), "--threads", "2"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "demonstrations: toolgym/PythonTool-v0: 2/2 succeeded" in result.output
    assert "kept 2 of 6" in result.output and "training on 4 example(s)" in result.output
    assert "step 2/2 loss" in result.output and (out / "final" / "config.json").is_file()
    assert (out / "loss.png").is_file() and (out / "log_history.json").is_file()


def test_cli_sft_errors_are_one_line(tiny_model_dir, tmp_path):
    model = ["sft", "--model", str(tiny_model_dir)]
    cases = [
        (model, "give envs to demonstrate"),
        ([*model, "--env", "toolgym/Nope-v0"], "unknown env"),
        ([*model, "--env", "toolgym/Maze-v0", "--steps", "2", "--epochs", "1"], "not both"),
        ([*model, "--from-trajectories", str(tmp_path / "missing.jsonl")], "no file"),
        ([*model, "--env", "toolgym/Maze-v0", "--lr", "2"], "--lr must be in"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    result = runner.invoke(app, ["sft", "--model", "no-such-model", "--env", "toolgym/Maze-v0"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    result = runner.invoke(
        app, [*model, "--from-trajectories", str(bad), "--output-dir", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "cannot read trajectories" in result.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = runner.invoke(
        app, [*model, "--from-trajectories", str(empty), "--output-dir", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "no examples to train on" in result.output
