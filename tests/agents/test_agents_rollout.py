"""The rollout engine: token alignment, the env mask, concurrency of env steps, errors, budget forcing."""

from __future__ import annotations

import threading
import time

import gymnasium as gym
import pytest
from agents_helpers import ScriptedBackend

import envs  # noqa: F401
from agents.backends.base import Generation, SamplingConfig
from agents.metrics import summarize
from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine
from agents.trajectory import load_jsonl, save_jsonl
from envs.core import InfraError


def _answers(env_id: str, seeds: list[int], **kwargs) -> dict[str, str]:
    """The reference answer of each task, keyed by its prompt."""
    env = gym.make(env_id, **kwargs)
    out = {}
    for s in seeds:
        prompt, _ = env.reset(seed=s)
        out[prompt] = env.unwrapped.task.answer
    return out


def _solver(env_id: str, answers: dict[str, str], **kwargs):
    """Turn 1: check the reference answer with the tool; turn 2: submit it."""
    env = gym.make(env_id, **kwargs).unwrapped

    def script(messages):
        answer = answers[messages[1]["content"]]
        if sum(m["role"] == "assistant" for m in messages) == 0:
            return env.call_turn("check", candidate=answer)
        return env.answer_turn(answer)

    return script


@pytest.mark.parametrize("protocol", ["json", "xml"])
@pytest.mark.parametrize("env_id", ["toolgym/Countdown-v0", "toolgym/KnightsKnaves-v0"])
def test_tool_output_is_masked_and_tokens_line_up(tiny_tokenizer, env_id, protocol):
    kwargs = {"check_tool": True, "protocol": protocol}
    seeds = [0, 1, 2]
    backend = ScriptedBackend(tiny_tokenizer, _solver(env_id, _answers(env_id, seeds, **kwargs), **kwargs))
    with RolloutEngine(backend, RolloutConfig(max_turns=4)) as engine:
        trajs = engine.run([EpisodeSpec(env_id, seed=s, env_kwargs=kwargs) for s in seeds])
    assert backend.batches == [3, 3]  # every live episode in one batch per turn
    for t in trajs:
        assert t.is_success is True and t.error is None and t.terminated
        assert t.num_turns == 2 and t.num_tool_calls == 1
        assert t.reward == pytest.approx(1.0)
        assert len(t.env_mask) == len(t.completion_ids)
        # the token sequence is exactly the chat template's rendering of the conversation
        full = tiny_tokenizer.decode(t.prompt_ids + t.completion_ids)
        tools = t.tools or None
        rendered = tiny_tokenizer.apply_chat_template(t.messages, tools=tools, tokenize=False)
        assert rendered == full + "\n"
        # masked tokens are exactly the tool output (and template glue), never the model's turns
        masked = tiny_tokenizer.decode(
            [i for i, m in zip(t.completion_ids, t.env_mask, strict=True) if m == 0]
        )
        kept = tiny_tokenizer.decode([i for i, m in zip(t.completion_ids, t.env_mask, strict=True) if m == 1])
        assert "correct" in masked
        assert ("<tool_response>" in masked) == (protocol == "json")
        assert "<tool_response>" not in kept and "correct" not in kept.replace("incorrect", "")
        assert kept == "".join(tiny_tokenizer.decode(turn.completion_ids) for turn in t.turns)


def test_trajectories_round_trip_through_jsonl(tiny_tokenizer, tmp_path):
    env_id, kwargs = "toolgym/Countdown-v0", {"check_tool": True, "protocol": "json"}
    backend = ScriptedBackend(tiny_tokenizer, _solver(env_id, _answers(env_id, [5], **kwargs), **kwargs))
    with RolloutEngine(backend) as engine:
        trajs = engine.run([EpisodeSpec(env_id, seed=5, env_kwargs=kwargs)])
    path = save_jsonl(trajs, tmp_path / "t.jsonl")
    back = list(load_jsonl(path))
    assert back[0].to_dict() == trajs[0].to_dict()
    assert back[0].env_mask == trajs[0].env_mask
    (tmp_path / "bad.jsonl").write_text('{"env_id": 1}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        list(load_jsonl(tmp_path / "bad.jsonl"))


class _SlowToolEnv(gym.Env):
    """An env whose every step blocks like a slow tool, counting how many steps overlap."""

    active = 0
    peak = 0
    lock = threading.Lock()

    def __init__(self, delay: float = 0.05, fail: bool = False):
        self.delay, self.fail = delay, fail

    def reset(self, *, seed=None, options=None):
        return "q", {
            "messages": [{"role": "user", "content": f"task {seed}"}],
            "tools": [],
            "task_id": str(seed),
        }

    def step(self, action):
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.peak = max(cls.peak, cls.active)
        try:
            time.sleep(self.delay)
            if self.fail:
                raise InfraError("sandbox down")
        finally:
            with cls.lock:
                cls.active -= 1
        return "out", 0.5, False, False, {"messages": [{"role": "user", "content": "tool says hi"}]}


def test_env_steps_run_concurrently_up_to_the_limit(tiny_tokenizer):
    _SlowToolEnv.peak = 0
    backend = ScriptedBackend(tiny_tokenizer, lambda m: "call")
    cfg = RolloutConfig(max_turns=3, max_concurrency=4)
    with RolloutEngine(backend, cfg, make_env=lambda s: _SlowToolEnv()) as engine:
        trajs = engine.run([EpisodeSpec("slow", seed=i) for i in range(10)])
    assert _SlowToolEnv.peak == 4
    assert backend.batches == [10, 10, 10]
    assert all(t.truncated and t.num_turns == 3 and t.reward == pytest.approx(1.5) for t in trajs)


def test_an_infrastructure_failure_is_an_error_not_a_zero(tiny_tokenizer):
    backend = ScriptedBackend(tiny_tokenizer, lambda m: "call")
    with RolloutEngine(backend, make_env=lambda s: _SlowToolEnv(0.0, fail=s.seed == 1)) as engine:
        trajs = engine.run([EpisodeSpec("slow", seed=i) for i in range(3)])
    assert trajs[1].error == "InfraError: sandbox down" and trajs[1].is_success is None
    summary = summarize(trajs, k=1)
    assert summary.errors == 1 and summary.episodes == 3


class _ThinkingBackend(ScriptedBackend):
    """Closes its thinking at once; thinks forever when asked to stop only at the closing tag."""

    def generate(self, requests, sampling: SamplingConfig):
        out = []
        for _ in requests:
            if "</think>" in sampling.stop:
                text = "<think>hmm</think>" if len(self.batches) == 0 else "<think>" + " more" * 50
            else:
                text = "<answer>1</answer>"
            ids = self.tokenizer.encode(text, add_special_tokens=False)[: sampling.max_tokens]
            finish = "length" if len(ids) == sampling.max_tokens else "stop"
            if not text.startswith("<answer"):
                text = self.tokenizer.decode(ids)
            else:
                ids.append(self.tokenizer.eos_token_id)
            out.append(Generation(text=text, token_ids=ids, logprobs=None, finish_reason=finish))
        self.batches.append(len(requests))
        return out


def test_budget_forcing_inserts_wait_and_caps_thinking(tiny_tokenizer):
    backend = _ThinkingBackend(tiny_tokenizer, lambda m: "")
    cfg = RolloutConfig(max_turns=1, think_budget=20, wait_rounds=1)
    with RolloutEngine(backend, cfg, make_env=lambda s: _SlowToolEnv(0.0)) as engine:
        (traj,) = engine.run([EpisodeSpec("think", seed=0)])
    turn = traj.turns[0]
    text = tiny_tokenizer.decode(turn.completion_ids)
    assert "Wait" in text and "</think>" in text and text.endswith("<answer>1</answer><|im_end|>")
    forced = tiny_tokenizer.decode([turn.completion_ids[i] for i in turn.forced])
    assert forced.strip().startswith("Wait") and "</think>" in forced
    assert traj.env_mask.count(0) >= len(turn.forced)
    model_tokens = [i for i, m in zip(traj.completion_ids, traj.env_mask, strict=True) if m == 1]
    assert "Wait" not in tiny_tokenizer.decode(model_tokens)


def test_an_env_that_fails_to_start_is_that_episodes_error(tiny_tokenizer):
    def make_env(spec):
        if spec.seed == 0:
            raise InfraError("index missing")
        return _SlowToolEnv(0.0)

    backend = ScriptedBackend(tiny_tokenizer, lambda m: "call")
    with RolloutEngine(backend, RolloutConfig(max_turns=1), make_env=make_env) as engine:
        trajs = engine.run([EpisodeSpec("slow", seed=i) for i in range(2)])
    assert trajs[0].error == "reset failed: InfraError: index missing" and trajs[0].turns == []
    assert trajs[1].error is None and trajs[1].num_turns == 1
    assert backend.batches == [1]
