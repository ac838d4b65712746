"""Every registered env, in both protocols: the answer examples its prompt shows parse as answers in
that protocol, and nothing in its format-error message, sent back, earns more than a format error."""

import json
import re

import gymnasium as gym
import pytest

import envs
from envs.core import format_reward
from envs.core.protocol import is_placeholder_answer

ENV_IDS = [e.env_id for e in envs.ENVS]  # the local envs (not the remote client)
CASES = [(i, p, {}) for i in ENV_IDS for p in ("xml", "json")] + [
    ("toolgym/Countdown-v0", p, {"preset": "tinyzero"}) for p in ("xml", "json")
]
IDS = [f"{i.removeprefix('toolgym/')}-{p}{'-' + kw['preset'] if kw else ''}" for i, p, kw in CASES]
_ANSWER = re.compile(r"<answer>.*?</answer>", re.DOTALL)
_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
_TAG = re.compile(r"<(\w+)>(.*?)</\1>", re.DOTALL)


@pytest.fixture(scope="module")
def made():
    cache = {}

    def get(env_id, protocol, kwargs):
        key = (env_id, protocol, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = gym.make(env_id, protocol=protocol, **kwargs)
        return cache[key]

    yield get
    for env in cache.values():
        env.close()


def _call_name(body):
    try:
        call = json.loads(body)
    except json.JSONDecodeError:
        return None  # the protocol's own template, {"name": <function-name>, ...}
    return call.get("name") if isinstance(call, dict) else None


def _answer_examples(text, protocol):
    """The answer turns shown in ``text``: ``<answer>`` blocks (xml), ``answer`` calls (json)."""
    if protocol == "xml":
        return _ANSWER.findall(text)
    examples = []
    for m in _CALL.finditer(text):
        try:
            call = json.loads(m.group(1))
        except json.JSONDecodeError:
            continue  # the protocol's own template, {"name": <function-name>, ...}
        if isinstance(call, dict) and call.get("name") == "answer":
            examples.append(m.group(0))
    return examples


@pytest.mark.parametrize(("env_id", "protocol", "kwargs"), CASES, ids=IDS)
def test_prompt_examples_are_in_the_envs_protocol_and_parse(env_id, protocol, kwargs, made):
    env = made(env_id, protocol, kwargs)
    _, info = env.reset(seed=0)
    prompt = "\n".join(m["content"] for m in info["messages"])
    other = "<tool_call>" if protocol == "xml" else "<answer>"
    assert other not in prompt, f"the {protocol} prompt shows the other protocol's {other}"
    assert "<answer>...</answer>" not in prompt and '"answer": "..."' not in prompt
    tools = {t.name: t for t in env.unwrapped.all_tools()}
    calls = _CALL.findall(prompt) if protocol == "json" else [m.group(0) for m in _TAG.finditer(prompt)]
    for call in calls:  # tool-call examples (<move>up</move>, a "guess" call) are well-formed calls
        name = re.match(r"<(\w+)>", call).group(1) if protocol == "xml" else _call_name(call)
        if name in tools:
            text = call if protocol == "xml" else f"<tool_call>{call}</tool_call>"
            parsed = env.unwrapped.protocol.parse(text, tools)
            assert not parsed.errors and [c.name for c in parsed.calls] == [name], text
    for example in _answer_examples(prompt, protocol):
        if not env.unwrapped.protocol.parse(example, {}).answer:
            continue  # "<answer></answer> tags": names the tags, shows no example
        parsed = env.unwrapped.protocol.parse(example, {})
        assert parsed.answer and not parsed.errors and not is_placeholder_answer(parsed.answer), example
        env.reset(seed=0)
        _, _, terminated, _, step_info = env.step(example)
        assert step_info["format_error"] is None and terminated, (example, step_info["format_error"])


@pytest.mark.parametrize(("env_id", "protocol", "kwargs"), CASES, ids=IDS)
def test_format_error_message_cannot_be_copied_for_reward(env_id, protocol, kwargs, made):
    env = made(env_id, protocol, kwargs)
    unwrapped = env.unwrapped
    for bad_turn in ("Let me think about it.", unwrapped.answer_turn("...")):
        env.reset(seed=0)
        message, format_error_reward, _, _, info = env.step(bad_turn)
        assert info["format_error"], "a turn without a call or an answer, or a placeholder, is a format error"
        assert format_error_reward == -unwrapped.episode.format_penalty
        candidates = [message, info["format_error"]]
        candidates += [m.group(0) for m in _TAG.finditer(message)] + _CALL.findall(message)
        bodies = [m.group(2) for m in _TAG.finditer(message)]
        bodies += ["", " ", "...", "…", "<answer>...</answer>", "your answer here", unwrapped.answer_shape()]
        candidates += [unwrapped.answer_turn(b) for b in bodies]
        for text in candidates:
            env.reset(seed=0)
            _, reward, _, _, step_info = env.step(text)
            assert step_info.get("error") is None, step_info["error"]
            assert reward <= format_error_reward + 1e-9, (text, reward, step_info["reward_components"])


@pytest.mark.parametrize(("env_id", "protocol", "kwargs"), CASES, ids=IDS)
def test_empty_or_placeholder_tool_calls_cost_a_format_error(env_id, protocol, kwargs, made):
    """A call of any tool (``check`` included where the env has it) with an empty or placeholder
    argument is a format error and runs nothing: stalling with ``<guess></guess>`` or ``<check>...</check>``
    must not cost less than a turn that is not a call at all."""
    env = made(env_id, protocol, kwargs)
    unwrapped = env.unwrapped
    env.reset(seed=0)
    _, format_error_reward, _, _, _ = env.step("Let me think about it.")
    for t in unwrapped.all_tools():
        for body in ("", " ", "...", "your answer here"):
            env.reset(seed=0)
            arguments = {name: body for name in t.parameters["properties"]}
            obs, reward, terminated, _, info = env.step(unwrapped.call_turn(t.name, **arguments))
            assert info.get("error") is None, info["error"]
            assert info["format_error"] and "placeholder" in info["format_error"], (t.name, body, obs)
            assert reward == format_error_reward and not terminated, (t.name, body, reward)


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "  ",
        "...",
        "…",
        ". . .",
        "[]",
        "<answer>",
        "your answer here",
        "[expression]",
        "ANSWER",
        "final answer",
        "(your solution)",
    ],
)
def test_placeholder_answers_are_format_errors(answer):
    assert is_placeholder_answer(answer)
    for protocol in ("xml", "json"):
        env = gym.make("toolgym/Countdown-v0", protocol=protocol)
        env.reset(seed=0)
        _, reward, terminated, _, info = env.step(env.unwrapped.answer_turn(answer))
        assert not terminated and info["format_error"] and reward == -env.unwrapped.episode.format_penalty
        assert format_reward(env.unwrapped.answer_turn(answer), protocol=protocol) == 0.0


@pytest.mark.parametrize(
    "answer", ["Brevan", "yes", "no", "X", "N", "0: 1", "R R D D", "(25 - 5) * 4", "text"]
)
def test_real_answers_are_not_placeholders(answer):
    assert not is_placeholder_answer(answer)
