"""Every registered env: gymnasium's checker, reference answers in both protocols, any string as a turn."""

import json

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import envs
from agents.cli import app

ENV_IDS = [e.env_id for e in envs.ENVS]
PROTOCOLS = ["xml", "json"]


@pytest.fixture(scope="module")
def made():
    """One env per (id, protocol), shared by the tests of this module and closed at the end."""
    cache = {}

    def get(env_id, protocol):
        if (env_id, protocol) not in cache:
            cache[env_id, protocol] = gym.make(env_id, protocol=protocol)
        return cache[env_id, protocol]

    yield get
    for env in cache.values():
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_checker_passes(env_id):
    env = gym.make(env_id)
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sampled_reference_answers_are_accepted_and_wrong_ones_are_not(env_id, protocol, made):
    result = CliRunner().invoke(app, ["sample", env_id, "-n", "2", "--seed", "11", "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2 and all({"prompt", "answer", "metadata"} <= r.keys() for r in records)
    env = made(env_id, protocol)
    for record in records:
        obs, _ = env.reset(seed=record["seed"])
        assert obs == record["prompt"]
        _, reward, terminated, _, info = env.step(env.unwrapped.answer_turn(record["answer"]))
        assert terminated and info["is_success"] is True, info
        assert reward > 0
        env.reset(seed=record["seed"])
        _, _, terminated, _, info = env.step(env.unwrapped.answer_turn("definitely not it 0xC0FFEE"))
        assert terminated and info["is_success"] is False


turns = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=20), st.integers(1_000, 5_000)),
    st.lists(
        st.sampled_from(
            [
                "<answer>",
                "</answer>",
                "<tool_call>",
                "</tool_call>",
                '{"name": "answer"',
                "<search>",
                "</search>",
                "<python>",
                "</python>",
                "<check>",
                "</check>",
                "{",
                "}",
                "\x00",
                "\\boxed{",
                "1 + 2",
                "é中",
            ]
        ),
        max_size=12,
    ).map("".join),
)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_any_string_is_a_valid_turn(env_id, protocol, made):
    env = made(env_id, protocol)

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(turn=turns)
    def run(turn):
        env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(turn)
        assert isinstance(obs, str) and isinstance(reward, float)
        assert "reward_components" in info

    run()
