"""The ToolEnv contract, on a small env defined here."""

from dataclasses import dataclass

import numpy as np
import pytest

from envs.core import Config, EpisodeEndedError, InfraError, Task, ToolEnv, Verdict, check_range, tool


@dataclass
class EchoConfig(Config):
    size: int = 10

    def validate(self) -> None:
        check_range("size", self.size, 1, 100)


class EchoEnv(ToolEnv):
    """Guess the secret number; the ``echo`` tool repeats text, ``boom`` fails, ``down`` is infra."""

    config_cls = EchoConfig
    supports_check = True

    def instructions(self) -> str:
        return "Find the number."

    @tool(result_tag="output")
    def echo(self, text: str) -> str:
        """Repeat the text."""
        return text

    @tool
    def boom(self, text: str) -> str:
        """Always fails."""
        raise RuntimeError("kaput")

    @tool
    def down(self, text: str) -> str:
        """The backing service is down."""
        raise InfraError("service unreachable")

    @tool
    def win(self, text: str) -> str:
        """End the episode as a win."""
        self.finish(Verdict.right())
        return "you win"

    def tools(self):
        return [self.echo, self.boom, self.down, self.win]

    def _make_task(self, rng: np.random.Generator) -> Task:
        n = int(rng.integers(self.config.size))
        return Task(id=f"echo/{n}", prompt=f"Guess a number below {self.config.size}.", answer=str(n))

    def verify(self, task: Task, answer: str) -> Verdict:
        if answer == "crash":
            raise InfraError("verifier down")
        return Verdict.right() if answer.strip() == task.answer else Verdict.wrong("no")


def test_reset_gives_messages_tools_and_is_seeded():
    env = EchoEnv(protocol="json")
    obs, info = env.reset(seed=7)
    assert obs == info["messages"][1]["content"]
    assert [m["role"] for m in info["messages"]] == ["system", "user"]
    assert "Find the number." in info["messages"][0]["content"]
    assert [t["function"]["name"] for t in info["tools"]] == ["echo", "boom", "down", "win", "answer"]
    answers = {EchoEnv(size=100).reset(seed=3)[1]["task_id"] for _ in range(3)}
    assert len(answers) == 1
    state = np.random.get_state()[1].copy()
    EchoEnv().reset(seed=1)
    assert (np.random.get_state()[1] == state).all(), "the global RNG must not be used"


@pytest.mark.parametrize("protocol", ["xml", "json"])
def test_tool_call_then_answer(protocol):
    env = EchoEnv(protocol=protocol)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(
        "let me try " + env.call_turn("echo", text="hi there")
    )
    assert not terminated and not truncated and reward == 0.0
    assert info["tool_calls"] == [{"name": "echo", "arguments": {"text": "hi there"}}]
    if protocol == "xml":
        assert obs == "<output>\nhi there\n</output>"
        assert info["messages"] == [{"role": "user", "content": obs}]
    else:
        assert obs == "<tool_response>\nhi there\n</tool_response>"
        assert info["messages"] == [{"role": "tool", "name": "echo", "content": "hi there"}]
    obs, reward, terminated, truncated, info = env.step(env.answer_turn(env.task.answer))
    assert terminated and reward == 1.0 and info["is_success"] is True
    assert info["reward_components"]["score"] == 1.0
    assert [m["role"] for m in env.messages] == [
        "system",
        "user",
        "assistant",
        info_role(protocol),
        "assistant",
    ]
    with pytest.raises(EpisodeEndedError, match="reset"):
        env.step("again")


def info_role(protocol):
    return "user" if protocol == "xml" else "tool"


def test_bad_turns_are_observations_with_a_penalty():
    env = EchoEnv(max_turns=10, format_penalty=0.25)
    env.reset(seed=0)
    cases = {
        "just text": "no tool call or answer found",
        "<echo>unclosed": "never closed",
        "x" * 40_000: "over the limit",
        "\x00\x01binary": "binary",
    }
    for turn, message in cases.items():
        obs, reward, terminated, truncated, info = env.step(turn)
        assert message in obs and message in info["format_error"]
        assert reward == -0.25 and not terminated and not truncated
    with pytest.raises(TypeError, match="str"):
        env.step(b"bytes")


def test_too_many_calls_are_dropped_with_a_message():
    env = EchoEnv(max_calls_per_turn=2)
    env.reset(seed=0)
    obs, reward, _, _, info = env.step("<echo>1</echo><echo>2</echo><echo>3</echo>")
    assert len(info["tool_calls"]) == 2 and "were dropped" in obs and reward < 0


def test_max_turns_truncates_without_success():
    env = EchoEnv(max_turns=2)
    env.reset(seed=0)
    assert env.step("<echo>a</echo>")[3] is False
    obs, reward, terminated, truncated, info = env.step("<echo>b</echo>")
    assert truncated and not terminated and info["is_success"] is False and "turn limit" in obs


def test_infrastructure_failures_are_errors_not_zero_rewards():
    for turn in ("<down>x</down>", "<answer>crash</answer>", "<boom>x</boom>"):
        env = EchoEnv()
        env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(turn)
        assert truncated and info["is_success"] is None
        assert any(m in info["error"] for m in ("unreachable", "verifier down", "RuntimeError: kaput"))
        assert reward == 0.0 and info["reward_components"] == {}


def test_a_tool_can_finish_the_episode_and_check_does_not():
    env = EchoEnv(check_tool=True)
    env.reset(seed=0)
    obs, _, terminated, _, _ = env.step("<check>999</check>")
    assert "incorrect: no" in obs and not terminated
    obs, reward, terminated, _, info = env.step("<win>now</win>")
    assert terminated and info["is_success"] and reward == 1.0 and "you win" in obs


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match=r"size must be in \[1, 100\]"):
        EchoEnv(size=0)
    with pytest.raises(ValueError, match="protocol must be one of"):
        EchoEnv(protocol="yaml")
    with pytest.raises(TypeError, match="unknown keyword"):
        EchoEnv(sise=3)


def test_tool_cost_is_charged_per_call():
    env = EchoEnv(tool_cost=0.05)
    env.reset(seed=0)
    _, reward, _, _, info = env.step("<echo>a</echo><echo>b</echo>")
    assert reward == pytest.approx(-0.1) and info["reward_components"]["tool_cost"] == pytest.approx(-0.1)
