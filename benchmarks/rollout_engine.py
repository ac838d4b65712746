"""What the rollout engine costs per episode: its episodes/s with a scripted policy (no model) against
a bare ``reset``/``step`` loop over one reused env, and against the engine of an earlier revision.

Every side plays the same episodes (the same envs and seeds) with the same scripted turns: each task's
demonstration (its reference solution in the env's protocol; Mastermind's is a multi-turn game of
guesses), precomputed, so the policy costs a dict lookup. The engine's backend has no tokenizer and
answers a whole batch per turn; each engine is made once per env and ``run`` once per round on a
batch of ``--batch`` episodes, as evaluation and training call it. The tool env is
``benchmarks.agents_tool_concurrency``'s, with a ``--tool-ms`` tool called once per episode.

A round plays the same batch of seeds on every side, one side after the other (the order rotating),
so the sides of a round share the machine's load. Episodes/s are each side's episodes over its time
summed over the rounds; ratios are the median of the per-round ratios, with their range.

``--before REV`` (default: the last commit before the env pool) loads ``agents/rollout.py`` of that
revision, with the rest of this checkout, as the engine "before".

    python -m benchmarks.rollout_engine [--rounds 30] [--batch 128] [--tool-rounds 5] [--before d00a59a]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import gymnasium as gym

import agents.rollout as engine_now
import envs  # noqa: F401  (registers the envs)
from agents.backends.base import Generation, GenerationRequest, SamplingConfig
from benchmarks.agents_tool_concurrency import ANSWER, CALL, SlowToolEnv

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "d00a59a"  # the engine before envs were pooled and cheap steps ran inline
TOOL_ENV = "bench/SlowTool-v0"
CHEAP = {
    "Countdown": ("toolgym/Countdown-v0", {}),
    "Sudoku 4x4": ("toolgym/Sudoku-v0", {"size": 4}),
    "Mastermind": ("toolgym/Mastermind-v0", {}),
}


class ScriptedBackend:
    """Plays each episode's precomputed turns, a whole batch per call; no tokenizer, no model."""

    def __init__(self, turns: dict[int, list[str]]):
        self.turns = turns

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        out = []
        for r in requests:
            done = sum(1 for m in r.messages if m["role"] == "assistant")
            out.append(Generation(self.turns[r.episode.seed][done], None, None, "stop"))
        return out

    def close(self) -> None:
        pass


def scripted_turns(env_id: str, kwargs: dict[str, Any], seeds: range) -> dict[int, list[str]]:
    """Each seed's demonstration (the tool env: one tool call, then the answer)."""
    if env_id == TOOL_ENV:
        return {s: [CALL, ANSWER] for s in seeds}
    env = gym.make(env_id, **kwargs).unwrapped
    out = {}
    for s in seeds:
        env.reset(seed=s)
        out[s] = env.demonstration()
    env.close()
    return out


class BareLoop:
    """``reset`` + ``step`` over one env, made once."""

    def __init__(self, env_id: str, kwargs: dict[str, Any], turns: dict[int, list[str]]):
        self.env_id, self.turns = env_id, turns
        self.env = gym.make(env_id, **kwargs)

    def __call__(self, seeds: list[int]) -> None:
        env = self.env
        for seed in seeds:
            env.reset(seed=seed)
            for turn in self.turns[seed]:
                _, _, terminated, truncated, info = env.step(turn)
                if terminated or truncated:
                    break
            assert info.get("is_success"), f"{self.env_id} seed {seed}: the bare loop did not solve it"

    def close(self) -> None:
        self.env.close()


class EngineLoop:
    """One engine of ``module`` (this checkout's or an earlier one), ``run`` once per batch; its
    first batch, untimed, is played on construction (the engine's first envs are made then)."""

    def __init__(
        self, module: ModuleType, env_id: str, kwargs: dict[str, Any], turns: dict[int, list[str]], batch: int
    ):
        self.module, self.env_id, self.kwargs = module, env_id, kwargs
        cfg = module.RolloutConfig(max_turns=max(len(t) for t in turns.values()), max_concurrency=16)
        self.engine = module.RolloutEngine(ScriptedBackend(turns), cfg)
        self(list(turns)[:batch])

    def __call__(self, seeds: list[int]) -> None:
        specs = [self.module.EpisodeSpec(self.env_id, seed=s, env_kwargs=dict(self.kwargs)) for s in seeds]
        trajs = self.engine.run(specs)
        assert all(t.is_success for t in trajs), f"{self.env_id}: the engine did not solve every episode"

    def close(self) -> None:
        self.engine.close()


def load_engine(rev: str) -> ModuleType:
    """``agents/rollout.py`` of git revision ``rev`` as a module of its own."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:agents/rollout.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="engine-before-")) / "rollout_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("rollout_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["rollout_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def measure(sides: dict[str, Callable[[list[int]], None]], seeds: list[int], batch: int, rounds: int):
    """Seconds each side takes per round; a round plays one batch of seeds on every side (the next
    batch each round, round robin), the sides' order rotating from round to round."""
    names = list(sides)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        first = (r * batch) % len(seeds)
        chunk = (seeds[first:] + seeds[:first])[:batch]
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            sides[name](chunk)
            out[name].append(time.perf_counter() - start)
    return out


def _ratio(ratios: list[float]) -> str:
    """The median of per-round ratios, with their range."""
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="rounds per cheap env")
    parser.add_argument("--batch", type=int, default=128, help="episodes per side and round (one run)")
    parser.add_argument("--tasks", type=int, default=512, help="distinct seeds per cheap env, round robin")
    parser.add_argument("--tool-rounds", type=int, default=5)
    parser.add_argument("--tool-batch", type=int, default=32, help="episodes per round, the tool env")
    parser.add_argument("--tool-ms", type=float, default=50.0)
    parser.add_argument("--before", default=BEFORE, metavar="REV", help="the revision of the engine before")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="also write the figures here (no PATH: print them)",
    )
    args = parser.parse_args()

    before = load_engine(args.before)
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.before], capture_output=True, text=True
    ).stdout.strip()
    gym.register(id=TOOL_ENV, entry_point=SlowToolEnv)
    cases = {name: (env_id, kw, args.tasks, args.rounds) for name, (env_id, kw) in CHEAP.items()}
    tool_kwargs = {"protocol": "json", "max_turns": 2, "tool_ms": args.tool_ms}
    cases[f"tool {args.tool_ms:g} ms"] = (TOOL_ENV, tool_kwargs, args.tool_batch, args.tool_rounds)
    if args.batch > args.tasks:
        parser.error("--batch must not exceed --tasks")
    print(
        f"rounds interleave the sides, one engine.run (or as many bare episodes) per side and round; "
        f"the engine before: {args.before} ({rev})"
    )
    print(
        f"{'env':<14}{'rounds x eps':>12}{'bare ep/s':>11}{'engine ep/s':>13}{'before ep/s':>13}"
        f"   {'engine/bare (rounds)':<24}{'engine/before (rounds)':<24}"
    )
    results = []
    for name, (env_id, kwargs, n, rounds) in cases.items():
        turns = scripted_turns(env_id, kwargs, range(n))
        batch = min(args.batch, n)
        sides = {
            "bare": BareLoop(env_id, kwargs, turns),
            "engine": EngineLoop(engine_now, env_id, kwargs, turns, batch),
            "before": EngineLoop(before, env_id, kwargs, turns, batch),
        }
        secs = measure(sides, list(turns), batch, rounds)
        for side in sides.values():
            side.close()
        eps = {k: batch * len(v) / sum(v) for k, v in secs.items()}
        vs_bare = [b / e for e, b in zip(secs["engine"], secs["bare"], strict=True)]
        vs_before = [b / e for e, b in zip(secs["engine"], secs["before"], strict=True)]
        results.append(
            {
                "env": name,
                "episodes_per_round": batch,
                "rounds": rounds,
                **{f"{k}_eps": v for k, v in eps.items()},
                "engine_vs_bare": statistics.median(vs_bare),
                "engine_vs_before": statistics.median(vs_before),
            }
        )
        print(
            f"{name:<14}{rounds:>3} x{batch:>4}{eps['bare']:>11.0f}{eps['engine']:>13.0f}{eps['before']:>13.0f}"
            f"   {_ratio(vs_bare):<24}{_ratio(vs_before):<24}"
        )
    if args.json:
        from benchmarks.headline import figure, write

        write(args.json, [
            figure(f"rollout engine, scripted policy, {r['env']}", r["engine_eps"], "episodes/s", r["bare_eps"],
                   "a bare reset/step loop over one env", r["engine_vs_bare"],
                   note=f"median of {r['rounds']} rounds of {r['episodes_per_round']}; the engine of {args.before}: "
                   f"{r['before_eps']:.0f}/s, {r['engine_vs_before']:.2f}x")
            for r in results
        ], {"results": results})  # fmt: skip


if __name__ == "__main__":
    main()
