"""Episodes per second of toolgym's games against GEM (``gem-llm``) and reasoning-gym on every game a
peer shares with toolgym, at comparable settings, interleaved in one run.

An episode is what an RL loop asks of one env per sample: ``reset(seed)``, then a correct answer (or,
where the peer's game takes moves only, a scripted policy playing the solution move by move) and its
reward. Every episode checks that it was won, so a broken answer cannot look fast. toolgym and GEM run
one env each (made once, reset per episode); reasoning-gym draws ``dataset[i]`` and scores its answer
with ``score_answer``; GEM's reasoning-gym games are its ``ReasoningGymEnv`` over the same dataset
(reset, then a ``\\boxed{}`` answer). Rounds alternate the contestants so that load on the machine
hits them alike; the table gives each one's episodes/s over all rounds and toolgym's ratio to each
peer, the median over rounds of the round's ratio (above 1: toolgym is faster).

    python -m benchmarks.peers [--rounds 15] [--episodes 20] [--round-s 0.5] [--games mastermind maze ...]

Needs the ``bench`` extra (``pip install -e ".[bench]"``). GEM's Wordle reads nltk's ``words``
corpus, a download; here it gets toolgym's word list (555 five-letter words, about as many as the
850 words of the corpus it filters) instead.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

import envs  # noqa: F401  (registers the envs)
from benchmarks.headline import figure, write
from benchmarks.puzzles_generation import _rg_settings

Episode = Callable[[int], None]  # plays the episode of one seed or index, asserting it was won
Maker = Callable[[int], Episode]  # builds the env once for a number of episodes


@dataclass
class Game:
    """One shared game: toolgym's env and settings, and each peer's version of it."""

    name: str
    env_id: str
    kwargs: dict[str, Any]
    peers: dict[str, tuple[Maker, str]] = field(default_factory=dict)  # peer -> (maker, its setting)


# ---- toolgym ---------------------------------------------------------------------------------
def toolgym_episodes(env_id: str, kwargs: dict[str, Any]) -> Maker:
    """toolgym: ``reset(seed)`` and the reference answer in one turn (games replay it)."""

    def make(n: int) -> Episode:
        env = gym.make(env_id, **kwargs).unwrapped

        def episode(seed: int) -> None:
            env.reset(seed=seed)
            _, reward, terminated, _, info = env.step(env.answer_turn(env.task.answer))
            assert terminated and info["is_success"], (env_id, seed, info)

        return episode

    return make


# ---- reasoning-gym ---------------------------------------------------------------------------
def _dataset(name: str, n: int, config: dict[str, Any]) -> Any:
    import reasoning_gym

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reasoning_gym.create_dataset(name, size=n, seed=0, **config)


def rg_answer(entry: dict[str, Any]) -> str:
    """A correct answer to a reasoning-gym entry (``graph_color`` leaves ``answer`` empty and keeps
    one solution in its metadata)."""
    if entry["answer"] is None:
        return json.dumps(entry["metadata"]["possible_answer"])
    return str(entry["answer"])


def rg_episodes(name: str, config: dict[str, Any]) -> Maker:
    """reasoning-gym: draw entry ``i`` and score its answer."""

    def make(n: int) -> Episode:
        ds = _dataset(name, n, config)

        def episode(i: int) -> None:
            entry = ds[i % n]
            assert ds.score_answer(answer=rg_answer(entry), entry=entry) == 1.0, (name, i)

        return episode

    return make


# ---- GEM -------------------------------------------------------------------------------------
def gem_rg_episodes(name: str, config: dict[str, Any]) -> Maker:
    """GEM's ``rg:<name>`` env (``ReasoningGymEnv``) over a dataset with ``config`` (GEM's registry
    passes reasoning-gym's defaults only): ``reset(seed)``, then the answer in ``\\boxed{}``."""

    def make(n: int) -> Episode:
        from gem.envs.reasoning_gym import ReasoningGymEnv

        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = ReasoningGymEnv(name, size=n + 1, seed=0)
        env.ds = _dataset(name, n + 1, config)
        env.ds_iter = iter(env.ds)
        env.reward_fn = env.ds.score_answer

        def episode(seed: int) -> None:
            env.reset(seed=seed)
            _, reward, *_ = env.step("\\boxed{" + rg_answer(env.data) + "}")
            assert reward == 1.0, (name, seed)

        return episode

    return make


def gem_mastermind(code_length: int, num_numbers: int) -> Maker:
    """GEM's Mastermind: ``reset(seed)``, then the code as the first guess."""

    def make(n: int) -> Episode:
        from gem.envs.game_env.mastermind import MastermindEnv

        env = MastermindEnv(code_length=code_length, num_numbers=num_numbers, max_turns=30)

        def episode(seed: int) -> None:
            env.reset(seed=seed)
            _, reward, terminated, truncated, _ = env.step(
                "\\boxed{" + " ".join(map(str, env.game_code)) + "}"
            )
            assert terminated and not truncated and reward == 1.0, seed

        return episode

    return make


def gem_sudoku(scale: int, clues: int) -> Maker:
    """GEM's Sudoku takes one cell per move: ``reset(seed)``, then the solution cell by cell."""

    def make(n: int) -> Episode:
        from gem.envs.game_env.sudoku import SudokuEnv

        env = SudokuEnv(clues=clues, max_turns=scale * scale, scale=scale)

        def episode(seed: int) -> None:
            env.reset(seed=seed)
            moves = [
                f"\\boxed{{{r + 1} {c + 1} {env.full_grid[r][c]}}}"
                for r in range(scale)
                for c in range(scale)
                if env.board[r][c] == 0
            ]
            for move in moves:
                obs, _, terminated, truncated, _ = env.step(move)
            assert terminated and not truncated and "Congratulations" in obs, (seed, obs)

        return episode

    return make


def gem_wordle(word_length: int) -> Maker:
    """GEM's Wordle (on toolgym's word list, see the module docstring): ``reset(seed)``, then the
    secret word as the first guess."""

    def make(n: int) -> Episode:
        from types import SimpleNamespace

        import gem.envs.game_env.wordle as gem_wordle_module

        from envs.puzzles.wordle import words

        word_list = list(words())
        gem_wordle_module.nltk = SimpleNamespace(download=lambda *a, **k: None)
        gem_wordle_module.words = SimpleNamespace(words=lambda *a: word_list)
        env = gem_wordle_module.WordleEnv(word_length=word_length, max_turns=25)

        def episode(seed: int) -> None:
            env.reset(seed=seed)
            _, reward, terminated, _, _ = env.step("\\boxed{" + env.secret_word + "}")
            assert terminated and reward == 1.0, seed

        return episode

    return make


_GEM_MOVES = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def solve_gem_sokoban(room_fixed: Any, room_state: Any) -> list[str]:
    """A shortest move list (breadth-first search over player and boxes) for GEM's Sokoban room
    (``room_fixed``: 0 wall, 2 target; ``room_state``: 3/4 box, 5 player)."""
    walls = {(int(r), int(c)) for r, c in zip(*(room_fixed == 0).nonzero(), strict=True)}
    targets = frozenset((int(r), int(c)) for r, c in zip(*(room_fixed == 2).nonzero(), strict=True))
    boxes = frozenset(
        (int(r), int(c)) for r, c in zip(*((room_state == 3) | (room_state == 4)).nonzero(), strict=True)
    )
    (pr,), (pc,) = (room_state == 5).nonzero()
    start = ((int(pr), int(pc)), boxes)
    prev: dict[Any, Any] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        player, boxes = state
        if boxes <= targets:
            path = []
            while prev[state] is not None:
                state, move = prev[state]
                path.append(move)
            return path[::-1]
        for move, (dr, dc) in _GEM_MOVES.items():
            nxt = (player[0] + dr, player[1] + dc)
            if nxt in walls:
                continue
            new_boxes = boxes
            if nxt in boxes:
                beyond = (nxt[0] + dr, nxt[1] + dc)
                if beyond in walls or beyond in boxes:
                    continue
                new_boxes = (boxes - {nxt}) | {beyond}
            key = (nxt, new_boxes)
            if key not in prev:
                prev[key] = (state, move)
                queue.append(key)
    raise AssertionError("GEM generated a Sokoban room with no solution")


def gem_sokoban(dim: int, num_boxes: int) -> Maker:
    """GEM's Sokoban takes one move per step: ``reset(seed)``, then a solution move by move (the
    solution is searched with the clock stopped)."""

    def make(n: int) -> Episode:
        from gem.envs.game_env.sokoban.sokoban import SokobanEnv

        env = SokobanEnv(dim_room=(dim, dim), num_boxes=num_boxes, max_turns=200)

        def episode(seed: int) -> None:
            env.reset(seed=seed)
            paused = time.perf_counter()
            moves = solve_gem_sokoban(env.room_fixed, env.room_state)
            _PAUSED[0] += time.perf_counter() - paused
            for move in moves:
                obs, _, terminated, truncated, _ = env.step("\\boxed{" + move + "}")
            assert terminated and not truncated and "Congratulations" in obs, (seed, obs)

        return episode

    return make


_PAUSED = [0.0]  # seconds an episode spent off the clock (a peer's solution being searched)


# ---- the games -------------------------------------------------------------------------------
def games() -> list[Game]:
    """Every game toolgym shares with GEM or reasoning-gym, with comparable settings."""
    out = [
        Game(
            "mastermind 4x8",
            "toolgym/Mastermind-v0",
            {"length": 4, "colors": 8},
            {"GEM": (gem_mastermind(4, 8), "game:Mastermind-v0-hard (4 digits of 8)")},
        ),
        Game(
            "sudoku 4x4",
            "toolgym/Sudoku-v0",
            {"size": 4, "givens": 8},
            {
                "GEM": (gem_sudoku(4, 8), "SudokuEnv(scale=4, clues=8)"),
                "reasoning-gym": (
                    rg_episodes("mini_sudoku", {"min_empty": 8, "max_empty": 8}),
                    "mini_sudoku 8 empty",
                ),
            },
        ),
        Game(
            "sudoku 9x9",
            "toolgym/Sudoku-v0",
            {"size": 9, "givens": 50},
            {
                "GEM": (gem_sudoku(9, 50), "game:Sudoku-v0-hard (50 clues)"),
                "reasoning-gym": (
                    rg_episodes("sudoku", {"min_empty": 31, "max_empty": 31}),
                    "sudoku 31 empty",
                ),
            },
        ),
        Game(
            "wordle",
            "toolgym/Wordle-v0",
            {},
            {"GEM": (gem_wordle(5), "WordleEnv(word_length=5), toolgym's words")},
        ),
        Game(
            "sokoban 6x6",
            "toolgym/Sokoban-v0",
            {"size": 4, "boxes": 2},
            {"GEM": (gem_sokoban(6, 2), "game:Sokoban-v0-easy (6x6, 2 boxes)")},
        ),
        Game(
            "countdown",
            "toolgym/Countdown-v0",
            {"num_numbers": 6, "min_numbers": 4, "max_number": 100, "max_target": 999},
            {},
        ),
        Game("knights & knaves", "toolgym/KnightsKnaves-v0", {"n_people": 2, "depth": 2, "width": 2}, {}),
    ]
    rg_defaults = {"countdown": ("countdown", {}), "knights & knaves": ("knights_knaves", {})}
    for game in out:
        if game.name in rg_defaults:
            name, config = rg_defaults[game.name]
            game.peers["reasoning-gym"] = (rg_episodes(name, config), f"{name} defaults")
            game.peers["GEM"] = (gem_rg_episodes(name, config), f"rg:{name} defaults")
    families = {
        "maze": "toolgym/Maze-v0",
        "zebra": "toolgym/Zebra-v0",
        "n_queens": "toolgym/NQueens-v0",
        "graph_coloring": "toolgym/GraphColoring-v0",
        "cryptarithm": "toolgym/Cryptarithm-v0",
        "game24": "toolgym/Game24-v0",
        "futoshiki": "toolgym/Futoshiki-v0",
    }
    for family, env_id in families.items():
        settings = _rg_settings(family, gym.make(env_id).unwrapped)
        assert settings is not None, family
        name, config = settings
        label = f"{name} {config}"
        out.append(
            Game(
                family.replace("_", " "),
                env_id,
                {},
                {
                    "GEM": (gem_rg_episodes(name, config), f"rg:{label}"),
                    "reasoning-gym": (rg_episodes(name, config), label),
                },
            )
        )
    return out


PEERS = ("GEM", "reasoning-gym")


def measure(game: Game, rounds: int, episodes: int, round_s: float) -> tuple[dict[str, list[float]], int]:
    """Each contestant's seconds per round on ``game`` (interleaved rounds, the same episodes for
    all), and the episodes played per round: ``episodes``, fewer where the slowest contestant's
    warm-up episode says a round would take over ``round_s`` seconds."""
    contestants = {"toolgym": toolgym_episodes(game.env_id, game.kwargs)}
    contestants.update({peer: maker for peer, (maker, _) in game.peers.items()})
    total = rounds * episodes
    players = {name: make(total) for name, make in contestants.items()}
    slowest = 0.0
    for play in players.values():  # one warm-up episode each (imports, caches)
        start = time.perf_counter()
        play(total - 1)
        slowest = max(slowest, time.perf_counter() - start)
    per_round = max(2, min(episodes, int(round_s / max(slowest, 1e-9))))
    seconds: dict[str, list[float]] = {name: [] for name in players}
    for r in range(rounds):
        order = list(players) if r % 2 == 0 else list(players)[::-1]
        for name in order:
            play = players[name]
            _PAUSED[0] = 0.0
            start = time.perf_counter()
            for i in range(r * per_round, (r + 1) * per_round):
                play(i)
            seconds[name].append(time.perf_counter() - start - _PAUSED[0])
    return seconds, per_round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--episodes", type=int, default=20, help="episodes per contestant per round")
    parser.add_argument(
        "--round-s", type=float, default=0.5, help="fewer episodes per round where one would take longer"
    )
    parser.add_argument("--games", nargs="*", help="names (or their first word) of the games to run")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here")
    args = parser.parse_args()
    figures = []
    sys.stdout.reconfigure(line_buffering=True)
    chosen = [g for g in games() if not args.games or g.name in args.games or g.name.split()[0] in args.games]
    print(
        f"python -m benchmarks.peers --rounds {args.rounds} --episodes {args.episodes} --round-s {args.round_s}"
    )
    print(
        f"{'game':<18}{'toolgym ep/s':>13}{'GEM ep/s':>11}{'ratio':>8}{'r-gym ep/s':>12}{'ratio':>8}"
        f"{'episodes':>10}"
    )
    ratios: dict[str, list[float]] = {peer: [] for peer in PEERS}
    for game in chosen:
        seconds, per_round = measure(game, args.rounds, args.episodes, args.round_s)
        rate = {name: len(s) * per_round / sum(s) for name, s in seconds.items()}
        row = f"{game.name:<18}{rate['toolgym']:>13.0f}"
        for peer in PEERS:
            width = 11 if peer == "GEM" else 12
            if peer in seconds:
                # the median over rounds of the round's ratio: a load spike on the machine during
                # one contestant's turn moves one round, not the figure
                ratio = statistics.median(
                    p / t for p, t in zip(seconds[peer], seconds["toolgym"], strict=True)
                )
                ratios[peer].append(ratio)
                row += f"{rate[peer]:>{width}.0f}{ratio:>7.2f}x"
                figures.append(
                    figure(
                        f"{game.name} episodes/s (reset + a won episode) against {peer}",
                        rate["toolgym"],
                        "episodes/s",
                        rate[peer],
                        f"{peer}'s env, the same game and settings",
                        ratio,
                    )
                )
            else:
                row += f"{'-':>{width}}{'-':>8}"
        print(f"{row}{args.rounds * per_round:>10}")
    for peer in PEERS:
        if ratios[peer]:
            low = min(ratios[peer])
            print(
                f"against {peer}: lowest ratio {low:.2f}x, geometric mean "
                f"{statistics.geometric_mean(ratios[peer]):.2f}x over {len(ratios[peer])} games"
            )
    if args.json:
        write(args.json, figures)
    print("\nsettings:")
    for game in chosen:
        peers = "; ".join(f"{peer}: {setting}" for peer, (_, setting) in game.peers.items())
        print(f"  {game.name}: toolgym {game.env_id} {game.kwargs}; {peers}")


if __name__ == "__main__":
    main()
