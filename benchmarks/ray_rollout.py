"""Episodes/s of the rollout engine with its envs in this process (the thread pool) against Ray actors
(one per CPU: ``RayEnvs``), in the same run.

Two cases. CPU-bound: Zebra at its hardest (``difficulty=1.0``: 6 houses, 6 attributes, indirect
clues, uniqueness proved by the solver), reset + one answer, so an episode is mostly puzzle
generation, which threads run one at a time behind the GIL and actors run on every core. I/O-bound: a
tool env whose tool sleeps ``--tool-ms`` (one call, then the answer), where threads already overlap
the waits and Ray must not cost more than its messaging.

The policy is scripted (no model, no tokenizer): a wrong answer for Zebra, the tool call then the
answer for the tool env. Each side is one engine, ``run`` once per round on a batch of fresh seeds
(the same seeds on both sides), after one untimed warm-up round (envs made, actors started). The
sides alternate which goes first; episodes/s are each side's episodes over its summed time; the
ratio is the median of the per-round ratios, with their range. "cores busy" is each side's CPU
seconds (this process, plus the actors' for Ray) over its wall seconds: how many cores the side got.
The load average is printed before and after: the machine may be shared, and on a saturated one no
side gets the cores its processes could use.

    python -m benchmarks.ray_rollout [--rounds 5] [--batch 32] [--tool-rounds 5] [--tool-batch 64]
        [--tool-ms 50] [--ray-address local]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the actors import this checkout (and this module's tool env) on a cluster started here
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)

import envs  # noqa: E402, F401  (registers the envs)
from agents.backends.base import Generation, GenerationRequest, SamplingConfig  # noqa: E402
from agents.env_pool import EnvPool  # noqa: E402
from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine  # noqa: E402
from benchmarks.agents_tool_concurrency import ANSWER, CALL, SlowToolEnv  # noqa: E402

ZEBRA = ("toolgym/Zebra-v0", {"difficulty": 1.0})
TOOL = "bench/SlowTool-v0"
WRONG = "<answer>nobody</answer>"


class ScriptedBackend:
    """A wrong answer for the puzzle; the tool call, then the answer, for the tool env."""

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        out = []
        for r in requests:
            if r.episode.env_id == TOOL:
                done = sum(1 for m in r.messages if m["role"] == "assistant")
                text = CALL if done == 0 else ANSWER
            else:
                text = WRONG
            out.append(Generation(text, None, None, "stop"))
        return out

    def close(self) -> None:
        pass


def make_tool_env(spec: EpisodeSpec) -> Any:
    """The sleeping tool env (made in the actors too, so not through gymnasium's registry)."""
    return SlowToolEnv(**spec.env_kwargs)


def make_env(spec: EpisodeSpec) -> Any:
    if spec.env_id == TOOL:
        return make_tool_env(spec)
    from agents.env_pool import gym_make

    return gym_make(spec)


def side(engine: RolloutEngine, env_id: str, kwargs: dict[str, Any]) -> Callable[[list[int]], None]:
    """One engine.run per call, on the given seeds; every episode must end without an error."""

    def run(seeds: list[int]) -> None:
        trajs = engine.run([EpisodeSpec(env_id, seed=s, env_kwargs=dict(kwargs)) for s in seeds])
        bad = [t.error for t in trajs if t.error is not None or not (t.terminated or t.truncated)]
        assert not bad, f"{env_id}: episodes failed: {bad[:3]}"

    return run


def measure(
    sides: dict[str, Callable[[list[int]], None]],
    cpu: dict[str, Callable[[], float]],
    batch: int,
    rounds: int,
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Seconds per side and round, and each side's CPU seconds in all (``cpu[side]()``: the CPU time
    of the processes doing its work, read outside the timing); round ``r`` plays seeds ``r*batch ..``
    on every side, in an order that alternates; a warm-up round on other seeds goes first, untimed."""
    names = list(sides)
    for name in names:
        sides[name](list(range(10_000_000, 10_000_000 + batch)))
    out: dict[str, list[float]] = {n: [] for n in names}
    used = dict.fromkeys(names, 0.0)
    for r in range(rounds):
        seeds = list(range(r * batch, (r + 1) * batch))
        for name in names if r % 2 == 0 else names[::-1]:
            before = cpu[name]()
            start = time.perf_counter()
            sides[name](seeds)
            out[name].append(time.perf_counter() - start)
            used[name] += cpu[name]() - before
    return out, used


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the CPU-bound case")
    parser.add_argument("--batch", type=int, default=32, help="episodes per side and round, CPU-bound")
    parser.add_argument("--tool-rounds", type=int, default=5)
    parser.add_argument("--tool-batch", type=int, default=64, help="episodes per side and round, tool env")
    parser.add_argument("--tool-ms", type=float, default=50.0)
    parser.add_argument(
        "--concurrency", type=int, default=16, help="env steps at once (threads, or shared out)"
    )
    parser.add_argument("--ray-address", default="local", help="local (start Ray here), auto or an address")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="also write the headline figures (no PATH: print them)",
    )
    args = parser.parse_args()

    from agents.ray_envs import RayEnvs

    command = "python -m benchmarks.ray_rollout " + shlex.join(sys.argv[1:])
    print(f"$ {command}".rstrip())
    print(f"cores here: {os.cpu_count()}; load average (1, 5, 15 min) before: {_load()}")
    ray_envs = RayEnvs(args.ray_address, make_env=make_env, max_concurrency=args.concurrency)
    print(f"Ray: {ray_envs.size} env actors on {len(set(ray_envs.node_ids))} node(s)")
    cfg = RolloutConfig(max_turns=2, max_concurrency=args.concurrency)
    tool_kwargs = {"protocol": "json", "max_turns": 2, "tool_ms": args.tool_ms}
    cases = [
        ("Zebra d=1.0", *ZEBRA, args.batch, args.rounds, 1.6, "at least"),
        (
            f"tool {args.tool_ms:g} ms",
            TOOL,
            tool_kwargs,
            args.tool_batch,
            args.tool_rounds,
            1 / 1.1,
            "at least",
        ),
    ]
    print(
        f"{'case':<14}{'rounds x eps':>13}{'threads ep/s':>14}{'ray ep/s':>10}{'cores busy':>11}"
        "   ray/threads (rounds)   target"
    )
    results = []
    try:
        with (
            RolloutEngine(ScriptedBackend(), cfg, env_pool=EnvPool(make_env)) as threads,
            RolloutEngine(ScriptedBackend(), cfg, env_pool=ray_envs) as on_ray,
        ):
            for name, env_id, kwargs, batch, rounds, target, how in cases:
                sides = {"threads": side(threads, env_id, kwargs), "ray": side(on_ray, env_id, kwargs)}
                cpu = {
                    "threads": time.process_time,
                    "ray": lambda: time.process_time() + ray_envs.cpu_seconds(),
                }
                secs, used = measure(sides, cpu, batch, rounds)
                eps = {k: batch * len(v) / sum(v) for k, v in secs.items()}
                cores = {k: used[k] / sum(secs[k]) for k in secs}
                ratios = [t / r for t, r in zip(secs["threads"], secs["ray"], strict=True)]
                ratio = statistics.median(ratios)
                verdict = "met" if ratio >= target else "MISSED"
                print(
                    f"{name:<14}{rounds:>4} x{batch:>4}{eps['threads']:>14.1f}{eps['ray']:>10.1f}"
                    f"{cores['threads']:>6.2f}/{cores['ray']:.2f}   "
                    f"{ratio:.2f}x ({min(ratios):.2f}-{max(ratios):.2f})      {how} {target:.2f}x: {verdict}"
                )
                results.append(
                    {
                        "case": name,
                        "rounds": rounds,
                        "episodes_per_round": batch,
                        "threads_eps": eps["threads"],
                        "ray_eps": eps["ray"],
                        "ray_vs_threads": ratio,
                        "ray_vs_threads_range": [min(ratios), max(ratios)],
                        "cores_busy_threads": cores["threads"],
                        "cores_busy_ray": cores["ray"],
                        "target": target,
                    }
                )
    finally:
        ray_envs.close()
    print(f"load average (1, 5, 15 min) after: {_load()}")
    if args.json:
        from benchmarks.headline import figure, write

        figures = [
            figure(
                f"rollout engine, {r['case']}: Ray env actors against the thread pool",
                r["ray_eps"],
                "episodes/s",
                r["threads_eps"],
                "the thread pool, same seeds, interleaved rounds",
                r["ray_vs_threads"],
                note=f"cores busy {r['cores_busy_threads']:.2f} (threads), {r['cores_busy_ray']:.2f} (Ray); "
                f"target {r['target']:.2f}x",
            )
            for r in results
        ]
        write(args.json, figures, {"results": results})


if __name__ == "__main__":
    main()
