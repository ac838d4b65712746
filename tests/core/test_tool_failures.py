"""What escapes a tool: the model's own mistakes are observations (a bad argument, a move or query the
tool refuses, an error of its code), anything else is an infrastructure error that ends the episode
unscored (``info["error"]``, ``is_success`` None), never an observation of a step that is scored."""

from __future__ import annotations

import gymnasium as gym
import pytest

import envs  # noqa: F401  (registers the envs)
from envs.core import InfraError, Task, ToolArgumentError, ToolEnv, Verdict, tool
from retrieval import QueryError


class FailingEnv(ToolEnv):
    """``broken`` raises whatever it is told to; ``strict`` refuses an argument the model got wrong."""

    supports_check = True
    failure: BaseException = ImportError("the search family needs Java 21")

    def instructions(self) -> str:
        return "Do it."

    @tool
    def broken(self, text: str) -> str:
        """Fails."""
        raise self.failure

    @tool
    def strict(self, text: str) -> str:
        """Takes only 'ok'."""
        if text != "ok":
            raise ToolArgumentError(f"strict takes 'ok', not {text!r}")
        return "fine"

    def tools(self):
        return [self.broken, self.strict]

    def _make_task(self, rng) -> Task:
        return Task(id="t", prompt="Say ok.", answer="ok")

    def verify(self, task: Task, answer: str) -> Verdict:
        if answer == "bug":
            raise KeyError("the verifier has a bug")
        return Verdict.right() if answer == "ok" else Verdict.wrong("no")


@pytest.mark.parametrize(
    "failure",
    [
        ImportError("the search family needs Java 21"),
        RuntimeError("Anserini crashed"),
        KeyError("state"),
        ValueError("an internal invariant"),
        OSError("disk full"),
        InfraError("service down"),
    ],
)
def test_anything_but_a_model_mistake_escaping_a_tool_is_an_infrastructure_error(failure):
    env = FailingEnv()
    env.failure = failure
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("<broken>x</broken>")
    assert info["is_success"] is None and truncated and not terminated
    assert str(failure).strip("'") in info["error"] and reward == 0.0 and info["reward_components"] == {}
    assert obs.startswith("Infrastructure error")
    with pytest.raises(Exception, match="reset"):
        env.step("<strict>ok</strict>")


def test_the_check_tool_whose_verifier_fails_is_an_infrastructure_error():
    env = FailingEnv(check_tool=True)
    env.reset(seed=0)
    _, _, _, truncated, info = env.step("<check>bug</check>")
    assert truncated and info["is_success"] is None and "the verifier has a bug" in info["error"]


def test_a_bad_argument_is_an_observation_of_a_scored_step():
    env = FailingEnv(format_penalty=0.1, check_tool=True)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("<strict>nope</strict>")
    assert "strict takes 'ok'" in obs and "error" not in info and reward == -0.1
    assert not terminated and not truncated
    obs, reward, *_ = env.step("<check>wrong</check>")
    assert "incorrect" in obs and reward == 0.0
    obs, reward, terminated, *_ = env.step("<answer>ok</answer>")
    assert terminated and reward == 1.0


# Every game's refused moves are observations: the model's mistakes, never infrastructure errors.
GAME_TURNS = {
    "toolgym/Sokoban-v0": ("move", ["", "north", "up up sideways", "U" * 500, "12", "\u00e9"]),
    "toolgym/FrozenLake-v0": ("move", ["", "north", "jump", "D" * 500, "-1"]),
    "toolgym/Mastermind-v0": ("guess", ["", "abcd", "99999999", "1", "0000", "1 2", "-123"]),
    "toolgym/Wordle-v0": ("guess", ["", "abc", "zzzzz", "12345", "toolong", "a b c d e"]),
}


@pytest.mark.parametrize("env_id", sorted(GAME_TURNS))
def test_refused_moves_are_observations_never_infrastructure_errors(env_id):
    name, moves = GAME_TURNS[env_id]
    env = gym.make(env_id, max_turns=100)
    env.reset(seed=3)
    arg = env.unwrapped.tools()[0].primary_argument
    for move in moves:
        _, _, terminated, truncated, info = env.step(env.unwrapped.call_turn(name, **{arg: move}))
        assert "error" not in info, (move, info["error"])
        if terminated or truncated:
            env.reset(seed=3)
    env.close()


ODD_ANSWERS = ["", "(", "1/0", "9" * 5000, "2**99999", "nan", "\u00e9", "[[", "A is a knave", "U D L R", "{}"]


def _has_check_tool(env_id: str) -> bool:
    cls = gym.registry[env_id].entry_point
    if isinstance(cls, str):
        cls = gym.envs.registration.load_env_creator(cls)
    return bool(getattr(cls, "supports_check", False))


@pytest.mark.parametrize(
    "env_id", [i for i in sorted(gym.registry) if i.startswith("toolgym/") and _has_check_tool(i)]
)
def test_checking_an_odd_answer_is_an_observation(env_id):
    env = gym.make(env_id, check_tool=True, max_turns=100)
    env.reset(seed=1)
    for answer in ODD_ANSWERS:
        obs, _, _, _, info = env.step(env.unwrapped.call_turn("check", candidate=answer))
        assert "error" not in info, (answer, info["error"])
    env.close()


class _Retriever:
    """Stands in for the retriever: refuses long queries, or fails as the infrastructure would."""

    def __init__(self, failure: BaseException | None = None):
        self.failure = failure

    def search(self, query: str, topk: int = 3):
        if self.failure is not None:
            raise self.failure
        if len(query.split()) > 5:
            raise QueryError("query has too many distinct terms")
        return []


@pytest.fixture
def search_env():
    env = gym.make("toolgym/SearchQA-v0", format_penalty=0.1)
    env.reset(seed=0)
    yield env
    env.close()


def test_an_empty_or_refused_search_query_is_the_models_mistake(search_env):
    search_env.unwrapped._retriever = _Retriever()
    for query in ("   ", "a b c d e f g"):
        obs, reward, _, truncated, info = search_env.step(
            search_env.unwrapped.call_turn("search", query=query)
        )
        assert "error" not in info and not truncated and reward == -0.1, obs
        assert "query" in info["format_error"]


@pytest.mark.parametrize(
    "failure", [ImportError("the search family needs Java 21"), RuntimeError("JVM died"), ValueError("422")]
)
def test_a_failing_retriever_is_an_infrastructure_error(search_env, failure):
    search_env.unwrapped._retriever = _Retriever(failure)
    _, reward, _, truncated, info = search_env.step(search_env.unwrapped.call_turn("search", query="who"))
    assert truncated and info["is_success"] is None and str(failure) in info["error"] and reward == 0.0
