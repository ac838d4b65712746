"""The env pool under the rollout engine: a reused env plays exactly the episode a fresh one plays,
an env whose episode failed is closed and never reused, kwargs never mix, and steps run inline or in
the thread pool by the env's ``step_may_block``."""

from __future__ import annotations

import threading
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from agents_helpers import ScriptedBackend

import envs  # noqa: F401
from agents.backends.base import Generation, GenerationRequest, SamplingConfig
from agents.env_pool import EnvPool, step_may_block
from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine
from envs.core import InfraError, Task, ToolEnv, Verdict, tool
from envs.registration import ENVS

WRONG = "<answer>0</answer>"


class _ProbeEnv(ToolEnv):
    """A tool env: probe (the tool notes the thread it ran on), then answer 'done'."""

    threads: list[str] = []

    def instructions(self) -> str:
        return "Probe, then answer."

    @tool
    def probe(self, x: str) -> str:
        """Probe something.

        Args:
            x: What to probe.
        """
        type(self).threads.append(threading.current_thread().name)
        return f"probed {x}"

    def tools(self) -> list:
        return [self.probe]

    def _make_task(self, rng: np.random.Generator) -> Task:
        n = int(rng.integers(1000))
        return Task(id=f"probe/{n}", prompt=f"Probe {n}, then answer 'done'.", answer="done")

    def verify(self, task: Task, answer: str) -> Verdict:
        return Verdict.right() if answer.strip() == "done" else Verdict.wrong("no")

    def demonstration(self) -> list[str]:
        return [self.call_turn("probe", x=self.task.prompt.split()[1]), self.answer_turn("done")]


class _CheapProbeEnv(_ProbeEnv):
    threads: list[str] = []
    step_may_block = False


def _make(spec: EpisodeSpec) -> Any:
    if spec.env_id == "probe":
        return _ProbeEnv(**spec.env_kwargs)
    if spec.env_id == "cheap-probe":
        return _CheapProbeEnv(**spec.env_kwargs)
    return gym.make(spec.env_id, **spec.env_kwargs)


def _demos(env_id: str, kwargs: dict[str, Any], seeds: list[int]) -> dict[tuple[Any, ...], list[str]]:
    """Each task's demonstration, keyed by its episode's env, kwargs and seed."""
    env = _make(EpisodeSpec(env_id, env_kwargs=kwargs)).unwrapped
    out = {}
    for s in seeds:
        env.reset(seed=s)
        out[_task(EpisodeSpec(env_id, seed=s, env_kwargs=kwargs))] = env.demonstration()
    env.close()
    return out


def _task(spec: EpisodeSpec) -> tuple[Any, ...]:
    return spec.env_id, EnvPool.key(spec), spec.seed


class _Player:
    """A backend that plays a known task's demonstration, and a wrong answer anywhere else."""

    def __init__(self, tokenizer: Any, demos: dict[tuple[Any, ...], list[str]]):
        self.tokenizer, self.demos = tokenizer, demos

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        out = []
        for r in requests:
            turns = self.demos.get(_task(r.episode), [])
            done = sum(m["role"] == "assistant" for m in r.messages)
            text = turns[done] if done < len(turns) else WRONG
            ids = self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id]
            out.append(Generation(text=text, token_ids=ids, logprobs=[-1.0] * len(ids)))
        return out

    def close(self) -> None:
        pass


def _specs(env_id: str, kwargs: dict[str, Any], seeds: list[int]) -> list[EpisodeSpec]:
    return [EpisodeSpec(env_id, seed=s, env_kwargs=dict(kwargs)) for s in seeds]


CASES = [
    ("toolgym/Countdown-v0", {"check_tool": True, "protocol": "json"}),  # a tool, one answer
    ("toolgym/Sudoku-v0", {"size": 4}),
    ("toolgym/Mastermind-v0", {}),  # a multi-turn game
    ("toolgym/Wordle-v0", {"protocol": "json"}),
    ("toolgym/PythonTool-v0", {}),  # the sandboxed python tool
    ("probe", {"protocol": "json"}),  # a tool env whose steps may block
    ("cheap-probe", {}),
]


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_a_reused_env_plays_the_episode_a_fresh_one_plays(tiny_tokenizer, env_id, kwargs):
    seeds, earlier = [0, 1, 2], [10, 11, 12]
    backend = _Player(tiny_tokenizer, (_demos(env_id, kwargs, seeds + earlier[:1])))
    cfg = RolloutConfig(max_turns=12)
    with RolloutEngine(backend, cfg, env_pool=EnvPool(_make, max_idle=0)) as engine:
        fresh = engine.run(_specs(env_id, kwargs, seeds))
    assert all(t.is_success and t.error is None for t in fresh)

    pool = EnvPool(_make)
    with RolloutEngine(backend, cfg, env_pool=pool) as engine:
        first = engine.run(_specs(env_id, kwargs, earlier))  # one solved, two failed: all end cleanly
        assert [t.is_success for t in first] == [True, False, False]
        assert pool.idle() == 3
        reused = engine.run(_specs(env_id, kwargs, seeds))
    assert pool.made == 3 and pool.reused == 3
    assert [t.to_dict() for t in reused] == [t.to_dict() for t in fresh]
    pool.close()
    assert pool.idle() == 0


class _Scripted(gym.Env):
    """A plain env that does what the turn says: end well, fail as infrastructure, raise, go on."""

    made: list[_Scripted] = []

    def __init__(self) -> None:
        self.closed = False
        self.seeds: list[int] = []  # the episodes it was reset for
        type(self).made.append(self)

    def reset(self, *, seed=None, options=None):
        self.seeds.append(seed)
        if seed == 5:
            raise InfraError("index missing")
        return "", {"messages": [{"role": "user", "content": str(seed)}], "tools": [], "task_id": str(seed)}

    def step(self, action):
        if action == "raise":
            raise RuntimeError("boom")
        info: dict[str, Any] = {"messages": [{"role": "user", "content": "go on"}], "is_success": True}
        if action == "infra":
            return "", 0.0, False, True, {**info, "error": "sandbox down", "is_success": None}
        return "", 1.0, action == "ok", False, info

    def close(self) -> None:
        self.closed = True


ACTIONS = {0: "ok", 1: "infra", 2: "raise", 3: "more", 4: "ok", 5: "ok"}


def test_an_env_whose_episode_failed_is_closed_not_reused(tiny_tokenizer):
    _Scripted.made = []
    backend = ScriptedBackend(tiny_tokenizer, lambda m: ACTIONS[int(m[0]["content"])])
    pool = EnvPool(lambda spec: _Scripted())
    with RolloutEngine(backend, RolloutConfig(max_turns=2), env_pool=pool) as engine:
        trajs = engine.run([EpisodeSpec("scripted", seed=s) for s in ACTIONS])
        assert [t.error for t in trajs] == [
            None,
            "sandbox down",
            "RuntimeError: boom",
            None,
            None,
            "reset failed: InfraError: index missing",
        ]
        assert trajs[3].truncated and trajs[3].num_turns == 2  # cut short by the engine
        # only the two episodes the env ended itself with no error hand their env back
        assert pool.idle() == 2
        assert sorted(e.seeds[0] for e in _Scripted.made if e.closed) == [1, 2, 3, 5]
        again = engine.run([EpisodeSpec("scripted", seed=s) for s in ACTIONS])
    assert [t.to_dict() for t in again] == [t.to_dict() for t in trajs]
    assert pool.reused == 2 and pool.made == 10
    assert sorted(e.seeds[0] for e in _Scripted.made if len(e.seeds) == 2) == [0, 4]  # the reused
    assert all(len(e.seeds) == 1 for e in _Scripted.made if e.seeds[0] in (1, 2, 3, 5))
    pool.close()
    assert all(env.closed for env in _Scripted.made)


def test_envs_of_different_kwargs_never_mix(tiny_tokenizer):
    key = EnvPool.key
    kwargs = [{}, {"x": 1}, {"x": True}, {"x": 1.0}, {"x": "1"}, {"x": None}, {"x": [1]}, {"x": [True]}]
    keys = [key(EpisodeSpec("e", env_kwargs=k)) for k in kwargs]
    assert len(set(keys)) == len(kwargs)
    assert key(EpisodeSpec("e", env_kwargs={"a": 1, "b": [2]})) == key(
        EpisodeSpec("e", env_kwargs={"b": [2], "a": 1})
    )
    assert key(EpisodeSpec("e")) != key(EpisodeSpec("f"))

    configs = [
        ("toolgym/Countdown-v0", {"protocol": "json"}),
        ("toolgym/Countdown-v0", {"protocol": "xml"}),
        ("toolgym/Sudoku-v0", {"size": 4}),
        ("toolgym/Sudoku-v0", {"size": 6}),
    ]
    demos: dict[tuple[Any, ...], list[str]] = {}
    for env_id, kw in configs:
        demos.update(_demos(env_id, kw, [0, 1]))
    backend = _Player(tiny_tokenizer, (demos))
    specs = [s for env_id, kw in configs for s in _specs(env_id, kw, [0, 1])]
    with RolloutEngine(backend, env_pool=EnvPool(max_idle=0)) as engine:
        fresh = engine.run(specs)
    pool = EnvPool()
    with RolloutEngine(backend, env_pool=pool) as engine:
        engine.run(specs[::-1])  # the same configs, the other way round
        assert [pool.idle(pool.key(s)) for s in specs[::2]] == [2, 2, 2, 2]
        reused = engine.run(specs)
    assert pool.reused == len(specs)
    assert [t.to_dict() for t in reused] == [t.to_dict() for t in fresh]
    assert all(t.is_success for t in fresh)
    pool.close()


def test_which_envs_may_block():
    for entry in ENVS:
        module, name = entry.entry_point.split(":")
        cls = getattr(__import__(module, fromlist=[name]), name)
        assert cls.step_may_block is (entry.family != "puzzles"), entry.env_id
    assert ToolEnv.step_may_block is True  # a tool we know nothing of may block
    assert step_may_block(gym.make("toolgym/Countdown-v0")) is False  # read through the wrappers
    assert step_may_block(_Scripted()) is True  # an env that does not say may block


def test_cheap_steps_run_inline_and_blocking_ones_in_the_pool(tiny_tokenizer):
    for env_id, cls, on_main in (("cheap-probe", _CheapProbeEnv, True), ("probe", _ProbeEnv, False)):
        cls.threads = []
        backend = _Player(tiny_tokenizer, _demos(env_id, {}, list(range(12))))
        with RolloutEngine(backend, env_pool=EnvPool(_make)) as engine:
            trajs = engine.run(_specs(env_id, {}, list(range(4))))
            submitted: list[Any] = []
            pool_submit, pool_map = engine._pool.submit, engine._pool.map
            engine._pool.submit = lambda *a, s=pool_submit, n=submitted: n.append(a) or s(*a)
            engine._pool.map = lambda *a, m=pool_map, n=submitted: n.append(a) or m(*a)
            # 4 envs from the pool and 4 new ones (of a key now known to be cheap, or not)
            trajs += engine.run(_specs(env_id, {}, list(range(4, 12))))
        assert all(t.is_success for t in trajs)
        main = threading.main_thread().name
        assert len(cls.threads) == 12
        assert all((name == main) is on_main for name in cls.threads), cls.threads
        # a batch of cheap envs, once their key is known, never touches the thread pool
        assert (submitted == []) is on_main


def test_a_full_pool_closes_what_it_cannot_keep():
    pool = EnvPool(lambda spec: _Scripted(), max_idle=1)
    spec = EpisodeSpec("scripted")
    a, b = pool.make(spec), pool.make(spec)
    pool.put(pool.key(spec), a)
    pool.put(pool.key(spec), b)
    assert not a.closed and b.closed and pool.idle() == 1
    assert pool.take(pool.key(spec)) is a and pool.take(pool.key(spec)) is None
    assert not pool.cheap(pool.key(spec))  # a plain env may block
    with pytest.raises(ValueError, match="max_idle"):
        EnvPool(max_idle=-1)
    with pytest.raises(ValueError, match="not both"):
        RolloutEngine(_Player(None, {}), make_env=_make, env_pool=EnvPool())
