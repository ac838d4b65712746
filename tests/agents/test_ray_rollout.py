"""Rollouts on a real Ray cluster of two nodes on this machine: a head and a worker, each started by
its own ``ray start`` with one CPU (one cluster for the module; stopped even when a test fails).

Episodes land on both nodes and play exactly what the thread pool plays; a killed env actor turns its
episodes into infrastructure errors and the run finishes; ``toolgym eval --ray-address`` runs there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import ray

import envs  # noqa: F401
from agents.backends.base import Generation, GenerationRequest, SamplingConfig
from agents.evaluate import EvalConfig, evaluate
from agents.metrics import summarize
from agents.ray_envs import RayEnvs
from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine
from agents.train import run_replaying_lost
from agents.trajectory import load_jsonl

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
WRONG = "<answer>0</answer>"
# a tool then the answer; a multi-turn game; a one-answer puzzle
CASES = [
    ("toolgym/Countdown-v0", {"check_tool": True, "protocol": "json"}),
    ("toolgym/Mastermind-v0", {}),
    ("toolgym/Sudoku-v0", {"size": 4}),
]


def _free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _node_ports(ports: list[int]) -> list[str]:
    names = ["node-manager", "object-manager", "dashboard-agent-listen", "dashboard-agent-grpc"]
    names += ["metrics-export", "runtime-env-agent"]
    return [a for name, port in zip(names, ports, strict=True) for a in (f"--{name}-port", str(port))]


def _stop(groups: list[int], grace: float = 5.0) -> None:
    """End the process groups of the ``ray start`` commands this module ran: SIGTERM, then SIGKILL."""
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for pgid in groups:
        while True:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                break
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, Any]]:
    """A head and a worker node (one CPU each), started as separate ``ray start`` processes in their
    own process groups, on free ports, under a temporary folder; this process connects as the driver."""
    tmp = tempfile.mkdtemp(prefix="tgray", dir="/tmp")  # short: Ray's socket paths must fit
    ports = _free_ports(16)
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "disabled",  # a cluster of this machine, for this module only
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    common = ["--num-cpus", "1", "--object-store-memory", str(80 * 2**20), "--disable-usage-stats"]
    address = f"127.0.0.1:{ports[0]}"
    head = [RAY, "start", "--head", "--port", str(ports[0]), "--include-dashboard", "false"]
    head += ["--ray-client-server-port", str(ports[1]), "--dashboard-port", str(ports[2])]
    head += ["--temp-dir", f"{tmp}/head", *_node_ports(ports[3:9]), *common]
    worker = [RAY, "start", "--address", address, "--temp-dir", f"{tmp}/worker"]
    worker += [*_node_ports(ports[9:15]), *common]
    groups: list[int] = []
    try:
        for i, cmd in enumerate((head, worker)):
            log = Path(tmp, f"start{i}.log")
            with log.open("w") as out:
                proc = subprocess.Popen(
                    cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
                groups.append(proc.pid)
                assert proc.wait(timeout=180) == 0, log.read_text()[-3000:]
        ray.init(address=address, logging_level="WARNING")
        deadline = time.monotonic() + 120
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert time.monotonic() < deadline, "the worker node never joined"
            time.sleep(0.5)
        nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        yield {"address": address, "nodes": nodes, "env": env}
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop(groups)
        shutil.rmtree(tmp, ignore_errors=True)


class _Player:
    """Plays each task's demonstration (a wrong answer past its end); ``before_batch`` runs before
    each batch is generated (to kill an actor mid-run)."""

    def __init__(self, tokenizer: Any, demos: dict[tuple[str, int | None], list[str]], before_batch=None):
        self.tokenizer, self.demos, self.before_batch = tokenizer, demos, before_batch
        self.batches = 0

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        if self.before_batch is not None:
            self.before_batch(self.batches)
        self.batches += 1
        out = []
        for r in requests:
            turns = self.demos.get((r.episode.env_id, r.episode.seed), [])
            done = sum(m["role"] == "assistant" for m in r.messages)
            text = turns[done] if done < len(turns) else WRONG
            ids = self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id]
            out.append(Generation(text=text, token_ids=ids, logprobs=[-1.0] * len(ids)))
        return out

    def close(self) -> None:
        pass


def _demos(seeds: list[int]) -> dict[tuple[str, int | None], list[str]]:
    out = {}
    for env_id, kwargs in CASES:
        env = gym.make(env_id, **kwargs).unwrapped
        for s in seeds:
            env.reset(seed=s)
            out[(env_id, s)] = env.demonstration()
    return out


def _specs(seeds: list[int]) -> list[EpisodeSpec]:
    return [EpisodeSpec(env_id, seed=s, env_kwargs=dict(kw)) for env_id, kw in CASES for s in seeds]


def _without_meta(traj: Any) -> dict[str, Any]:
    d = traj.to_dict()
    d.pop("meta")
    return d


def test_episodes_spread_over_both_nodes_and_play_what_threads_play(cluster, tiny_tokenizer):
    seeds = [0, 1, 2, 3]
    backend = _Player(tiny_tokenizer, _demos(seeds))
    specs = _specs(seeds) + [EpisodeSpec("toolgym/Sudoku-v0", seed=0, env_kwargs={"size": 5})]  # bad
    cfg = RolloutConfig(max_turns=12)
    with RolloutEngine(backend, cfg) as engine:
        threads = engine.run(specs)
    with RolloutEngine(backend, RolloutConfig(max_turns=12, ray_address=cluster["address"])) as engine:
        assert isinstance(engine.envs, RayEnvs) and engine.envs.size == 2
        on_ray = engine.run(specs)
        again = engine.run(specs)  # the actors' envs, reset for the same seeds
    assert all(t.is_success and t.error is None for t in threads[:-1])
    assert threads[-1].error is not None and threads[-1].error.startswith("reset failed: ValueError: ")
    assert all(t.meta == {} for t in threads)
    assert [_without_meta(t) for t in on_ray] == [_without_meta(t) for t in threads]
    assert [_without_meta(t) for t in again] == [_without_meta(t) for t in threads]
    assert {t.meta["ray_node_id"] for t in on_ray} == cluster["nodes"]
    assert len({t.meta["ray_actor_id"] for t in on_ray}) == 2
    # an episode stays on its actor: every turn of a multi-turn game was stepped where it started
    assert max(t.num_turns for t in on_ray) > 2


def test_a_killed_actor_turns_its_episodes_into_errors_and_the_run_goes_on(cluster, tiny_tokenizer):
    seeds = list(range(6))
    victim: dict[str, Any] = {}

    def kill_on_second_turn(batch: int) -> None:
        if batch == 1 and not victim:
            _, meta = engine.envs.actors[0]
            victim.update(meta)
            os.kill(meta["pid"], signal.SIGKILL)

    backend = _Player(tiny_tokenizer, _demos(seeds), before_batch=kill_on_second_turn)
    cfg = EvalConfig(
        env_ids=("toolgym/Countdown-v0",),
        n=len(seeds),
        env_kwargs={"check_tool": True, "protocol": "json"},
        rollout=RolloutConfig(max_turns=4, ray_address=cluster["address"]),
        batch_episodes=len(seeds),
    )
    with RolloutEngine(backend, cfg.rollout) as engine:
        first = engine.run(cfg.specs())
        second = engine.run(cfg.specs())  # the same engine goes on without the lost actor
    lost = [t for t in first if t.meta["ray_actor_id"] == victim["ray_actor_id"]]
    kept = [t for t in first if t.meta["ray_actor_id"] != victim["ray_actor_id"]]
    assert len(lost) == len(kept) == 3
    for t in lost:
        assert t.error is not None and t.error.startswith("env actor lost (Ray node "), t.error
        assert t.is_success is None and t.num_turns == 2 and t.turns[-1].reward == 0.0
        assert t.meta["env_lost"] is True
    assert all(t.is_success and t.error is None for t in kept)
    summary = summarize(first, k=1)
    assert summary.errors == 3 and summary.episodes == 6 and summary.success_rate == 1.0
    assert all(t.is_success and t.error is None for t in second)
    assert victim["ray_actor_id"] not in {t.meta["ray_actor_id"] for t in second}


def test_training_plays_a_lost_actors_episodes_again(cluster, tiny_tokenizer, tmp_path):
    seeds = list(range(4))
    kwargs = {"check_tool": True, "protocol": "json"}
    killed: list[int] = []

    def kill_on_second_turn(batch: int) -> None:
        if batch == 1 and not killed:
            _, meta = engine.envs.actors[-1]
            killed.append(meta["pid"])
            os.kill(meta["pid"], signal.SIGKILL)

    backend = _Player(tiny_tokenizer, _demos(seeds), before_batch=kill_on_second_turn)
    specs = [EpisodeSpec("toolgym/Countdown-v0", seed=s, env_kwargs=dict(kwargs)) for s in seeds]
    with RolloutEngine(backend, RolloutConfig(max_turns=4, ray_address=cluster["address"])) as engine:
        trajs = run_replaying_lost(engine, specs, tmp_path / "t.jsonl")
    assert killed and all(t.is_success and t.error is None for t in trajs)
    assert [t.seed for t in trajs] == seeds
    saved = list(load_jsonl(tmp_path / "t.jsonl"))  # the lost episodes are kept, as errors
    assert len(saved) == 6 and sum(bool(t.meta.get("env_lost")) for t in saved) == 2


def test_evaluate_and_the_eval_command_take_a_ray_address(cluster, tiny_tokenizer, tiny_model_dir, tmp_path):
    seeds = [0, 1]
    backend = _Player(tiny_tokenizer, _demos(seeds))
    cfg = EvalConfig(
        env_ids=("toolgym/Sudoku-v0",),
        n=2,
        k=2,
        env_kwargs={"size": 4},
        rollout=RolloutConfig(ray_address=cluster["address"]),
    )
    result = evaluate(backend, cfg, out_path=tmp_path / "t.jsonl")
    assert result.summaries[0].success_rate == 1.0
    assert {t.meta["ray_node_id"] for t in result.trajectories} == cluster["nodes"]

    out = tmp_path / "cli.jsonl"
    args = ["eval", "--env", "toolgym/Countdown-v0", "--model", str(tiny_model_dir), "-n", "4"]
    args += ["--max-turns", "1", "--max-tokens", "4", "--out", str(out), "--ray-address", cluster["address"]]
    proc = subprocess.run(
        [sys.executable, "-m", "agents", *args],
        env=cluster["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 4 and all(rec["error"] is None for rec in lines)
    assert {rec["meta"]["ray_node_id"] for rec in lines} == cluster["nodes"]
