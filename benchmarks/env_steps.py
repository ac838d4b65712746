"""Env throughput with no model: toolgym's Countdown and Knights and Knaves against reasoning-gym's
generators and scorers for the same families, in the same run.

One episode is ``reset(seed)`` + one answer turn (parse, verify, reward), the work an RL loop asks of
an env per sample; reasoning-gym's equivalent is drawing an entry and ``score_answer`` on its answer.

    python -m benchmarks.env_steps [--episodes 300]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym

import envs  # noqa: F401  (registers the envs)
from benchmarks.headline import figure, write

FAMILIES = {"countdown": "toolgym/Countdown-v0", "knights_knaves": "toolgym/KnightsKnaves-v0"}


def ours(env_id: str, n: int) -> tuple[float, float]:
    """Episodes per second and steps per second (a multi-turn episode of check calls)."""
    env = gym.make(env_id).unwrapped
    start = time.perf_counter()
    for seed in range(n):
        env.reset(seed=seed)
        _, reward, terminated, _, _ = env.step(env.answer_turn(env.task.answer))
        assert terminated and reward == 1.0
    episodes = n / (time.perf_counter() - start)
    env = gym.make(env_id, check_tool=True, max_turns=n + 1).unwrapped
    env.reset(seed=0)
    turn = env.call_turn("check", candidate=env.task.answer)
    start = time.perf_counter()
    for _ in range(n):
        env.step(turn)
    return episodes, n / (time.perf_counter() - start)


def reasoning_gym(family: str, n: int) -> float:
    import reasoning_gym

    ds = reasoning_gym.create_dataset(family, size=n, seed=0)
    start = time.perf_counter()
    for i in range(n):
        entry = ds[i]
        assert ds.score_answer(answer=entry["answer"], entry=entry) == 1.0
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    args = parser.parse_args()
    figures = []
    print(f"{'family':<16}{'toolgym ep/s':>14}{'toolgym steps/s':>17}{'reasoning-gym ep/s':>20}{'ratio':>8}")
    for family, env_id in FAMILIES.items():
        episodes, steps = ours(env_id, args.episodes)
        baseline = reasoning_gym(family, args.episodes)
        print(f"{family:<16}{episodes:>14.0f}{steps:>17.0f}{baseline:>20.0f}{episodes / baseline:>7.2f}x")
        figures.append(
            figure(f"{family.replace('_', ' ').title()} env episodes/s, no model", episodes, "episodes/s", baseline,
                   "reasoning-gym's generate + score", episodes / baseline)
        )  # fmt: skip
    if args.json:
        write(args.json, figures)


if __name__ == "__main__":
    main()
