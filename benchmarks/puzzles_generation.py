"""Puzzle generation speed: toolgym's generators (each with its uniqueness proof where the family
claims a single answer) against reasoning-gym's generators for the same family at a comparable
setting, at three difficulties, in the same run; then the latency of one 9x9 Sudoku with a unique
solution and one 5-house Zebra puzzle against the 50 ms budget.

    python -m benchmarks.puzzles_generation [--puzzles 20] [--budget-s 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import signal
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.headline import figure, write
from envs.puzzles.cryptarithm import CryptarithmEnv
from envs.puzzles.frozen_lake import FrozenLakeEnv
from envs.puzzles.futoshiki import FutoshikiEnv
from envs.puzzles.game24 import Game24Env
from envs.puzzles.graph_coloring import GraphColoringEnv
from envs.puzzles.mastermind import MastermindEnv
from envs.puzzles.maze import MazeEnv
from envs.puzzles.n_queens import NQueensEnv
from envs.puzzles.sokoban import SokobanEnv
from envs.puzzles.sudoku import SudokuEnv
from envs.puzzles.wordle import WordleEnv
from envs.puzzles.zebra import ZebraEnv

DIFFICULTIES = (0.0, 0.5, 1.0)


def _rg_settings(family: str, env: Any) -> tuple[str, dict[str, Any]] | None:
    """reasoning-gym's dataset and config closest to ``env``'s puzzles (``None``: it has no such family)."""
    cfg = env.config
    if family == "sudoku":
        empty = 81 - cfg.keep
        return "sudoku", {"min_empty": empty, "max_empty": empty}
    if family == "zebra":
        return "zebra_puzzles", {"num_people": cfg.houses, "num_characteristics": cfg.attributes}
    if family == "maze":
        g = 2 * cfg.rooms + 1
        return "maze", {"min_grid_size": g, "max_grid_size": g, "min_dist": g // 2, "max_dist": g}
    if family == "n_queens":
        remove = cfg.board - cfg.given
        return "n_queens", {"n": cfg.board, "min_remove": remove, "max_remove": remove}
    if family == "graph_coloring":
        v = cfg.vertices
        return "graph_color", {
            "min_num_vertices": v,
            "max_num_vertices": v,
            "edge_probability": cfg.edge_density,
        }
    if family == "cryptarithm":
        return "cryptarithm", {"min_words": cfg.addends, "max_words": cfg.addends}
    if family == "game24":
        return "puzzle24", {"min_value": 1, "max_value": min(cfg.top, 10)}  # its largest allowed
    if family == "futoshiki":
        k = round(3 * cfg.difficulty)
        return "futoshiki", {
            "min_board_size": cfg.n,
            "max_board_size": cfg.n,
            "min_difficulty": k,
            "max_difficulty": k,
        }
    if family == "sokoban":
        w = cfg.room + 2
        return "sokoban", {
            "min_w": w,
            "max_w": w,
            "min_h": w,
            "max_h": w,
            "min_boxes": cfg.n_boxes,
            "max_boxes": cfg.n_boxes,
        }
    return None


def rate(make_one: Callable[[int], Any], n: int, budget_s: float) -> float:
    """Puzzles per second over up to ``n`` puzzles (fewer if ``budget_s`` runs out)."""
    start = time.perf_counter()
    done = 0
    for i in range(n):
        make_one(i)
        done += 1
        if time.perf_counter() - start > budget_s:
            break
    return done / (time.perf_counter() - start)


def ours(cls: type, difficulty: float, n: int, budget_s: float) -> float:
    env = cls(difficulty=difficulty)
    return rate(lambda i: env.generate(np.random.default_rng(i)), n, budget_s)


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise ``TimeoutError`` in the block after ``seconds`` (a generator that never returns)."""

    def expire(*_: Any) -> None:
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def theirs(name: str, config: dict[str, Any], n: int, budget_s: float) -> float | str:
    import reasoning_gym

    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            warnings.catch_warnings(),
            deadline(max(10.0, 5 * budget_s)),
        ):
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            ds = reasoning_gym.create_dataset(name, size=n, seed=0, **config)
            setup = time.perf_counter() - start
            got = rate(lambda i: ds[i], n, budget_s)
        return 1 / (setup / n + 1 / got)
    except TimeoutError:
        return f"none in {max(10.0, 5 * budget_s):.0f} s"
    except Exception as e:  # a setting its generator refuses
        return f"n/a ({type(e).__name__})"


def latency_ms(cls: type, n: int, **kwargs: Any) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of one ``generate`` each, over ``n`` seeds. CPU time is what the
    generation itself costs; wall time also counts waiting for a core on a busy machine."""
    env = cls(**kwargs)
    wall, cpu = [], []
    for i in range(n):
        w, c = time.perf_counter(), time.process_time()
        env.generate(np.random.default_rng(10_000 + i))
        wall.append(1000 * (time.perf_counter() - w))
        cpu.append(1000 * (time.process_time() - c))
    return wall, cpu


def _summary(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * len(ms)))]
    return f"mean {statistics.mean(ms):6.1f}  median {statistics.median(ms):6.1f}  p95 {p95:6.1f}  max {ms[-1]:6.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--puzzles", type=int, default=20, help="puzzles per family and difficulty")
    parser.add_argument("--budget-s", type=float, default=3.0, help="time cap per measurement")
    parser.add_argument("--latency-only", action="store_true", help="only the Sudoku and Zebra latency")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    measured = {} if args.latency_only else rates(args.puzzles, args.budget_s)
    latency = latencies(max(args.puzzles, 30))
    if args.json:
        write(args.json, headline(measured, latency))


def headline(measured: dict[tuple[str, float], tuple[float, float | str]], latency: dict[str, float]):
    """The README's figures: the latency of one puzzle, and three families' rates at mid difficulty."""
    figures = [
        figure(f"{label}: one puzzle, mean CPU time", ms, "ms", 50.0, "the 50 ms budget", 50.0 / ms)
        for label, ms in latency.items()
        if "default" in label
    ]
    for family in ("sudoku", "zebra", "cryptarithm"):
        mine, base = measured.get((family, 0.5), (None, None))
        if isinstance(base, float):
            figures.append(
                figure(f"{family.capitalize()} generation, difficulty 0.5", mine, "puzzles/s", base,
                       "reasoning-gym's generator, same setting", mine / base)
            )  # fmt: skip
    return figures


def rates(puzzles: int, budget_s: float) -> dict[tuple[str, float], tuple[float, float | str]]:
    """The table of puzzles per second, ours against reasoning-gym's; (family, difficulty) -> both."""
    out = {}
    families = [
        SudokuEnv,
        ZebraEnv,
        MazeEnv,
        NQueensEnv,
        GraphColoringEnv,
        CryptarithmEnv,
        Game24Env,
        FutoshikiEnv,
    ]
    families += [MastermindEnv, SokobanEnv, FrozenLakeEnv, WordleEnv]
    print(
        f"{'family':<16}{'difficulty':>11}{'toolgym /s':>12}{'reasoning-gym /s':>18}{'ratio':>9}  baseline setting"
    )
    for cls in families:
        for d in DIFFICULTIES:
            mine = ours(cls, d, puzzles, budget_s)
            rg = _rg_settings(cls.family, cls(difficulty=d))
            if rg is None:
                print(f"{cls.family:<16}{d:>11.1f}{mine:>12.1f}{'-':>18}{'-':>9}  (no such family)")
                continue
            base = theirs(*rg, puzzles, budget_s)
            out[cls.family, d] = (mine, base)
            ratio = f"{mine / base:>8.2f}x" if isinstance(base, float) else f"{'-':>9}"
            base_s = f"{base:>18.1f}" if isinstance(base, float) else f"{base:>18}"
            print(f"{cls.family:<16}{d:>11.1f}{mine:>12.1f}{base_s}{ratio}  {rg[0]} {rg[1]}")
    print()
    return out


def latencies(n: int) -> dict[str, float]:
    """One 9x9 Sudoku and one 5-house Zebra puzzle against the 50 ms budget; label -> mean CPU ms."""
    out = {}
    print(f"latency of one puzzle over {n} seeds (budget 50 ms):")
    cases = [
        ("9x9 Sudoku, default difficulty", SudokuEnv, {}),
        ("9x9 Sudoku, difficulty 1 (25 givens)", SudokuEnv, {"difficulty": 1.0}),
        ("5-house Zebra, default (5 attributes)", ZebraEnv, {"n_houses": 5}),
        ("5-house Zebra, 6 attributes", ZebraEnv, {"n_houses": 5, "n_attributes": 6}),
    ]
    for label, cls, kwargs in cases:
        wall, cpu = latency_ms(cls, n, **kwargs)
        verdict = "under" if statistics.mean(cpu) < 50 else "OVER"
        print(f"  {label}: {verdict} 50 ms (mean CPU time)")
        print(f"    CPU ms   {_summary(cpu)}")
        print(f"    wall ms  {_summary(wall)}")
        out[label] = statistics.mean(cpu)
    return out


if __name__ == "__main__":
    main()
