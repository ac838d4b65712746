"""Single-answer families: an independent check that the solution is unique, and per family a verifier
that accepts an alternative valid solution (or the same one written differently, where it is unique)
and rejects invalid ones."""

import itertools
import json
import re

import pytest

from envs.puzzles.cryptarithm import CryptarithmEnv, solve
from envs.puzzles.futoshiki import FutoshikiEnv
from envs.puzzles.game24 import Game24Env, solutions
from envs.puzzles.graph_coloring import ColoringError, GraphColoringEnv, parse_coloring
from envs.puzzles.latin import LatinSolver
from envs.puzzles.maze import MOVES, MazeEnv
from envs.puzzles.n_queens import NQueensEnv
from envs.puzzles.n_queens import solve as queens
from envs.puzzles.sudoku import BOXES, SudokuEnv
from envs.puzzles.zebra import ZebraEnv, ZebraSolver, _holds


def grid_text(flat, n, sep=" "):
    return "\n".join(sep.join(str(v) for v in flat[r * n : (r + 1) * n]) for r in range(n))


# ---- uniqueness, checked by brute force independent of the generators' solvers -----------------
def latin_squares(n):
    """Every n x n Latin square, row by row (n <= 4 keeps it small: 576 for n = 4)."""
    perms = list(itertools.permutations(range(1, n + 1)))

    def extend(rows):
        if len(rows) == n:
            yield rows
            return
        for p in perms:
            if all(p[c] != r[c] for r in rows for c in range(n)):
                yield from extend([*rows, p])

    for rows in extend([]):
        yield [v for row in rows for v in row]


@pytest.mark.parametrize("difficulty", [0.0, 1.0])
def test_4x4_sudoku_has_exactly_one_completion_by_brute_force(difficulty, task_of):
    env = SudokuEnv(size=4, difficulty=difficulty)
    squares = list(latin_squares(4))
    for seed in range(5):
        meta = task_of(env, seed).metadata
        boxes_ok = [
            g
            for g in squares
            if all(g[i] == v for i, v in enumerate(meta["puzzle"]) if v)
            and LatinSolver(4, (2, 2)).is_solution(g)
        ]
        assert boxes_ok == [meta["solution"]]


def test_4x4_futoshiki_has_exactly_one_completion_by_brute_force(task_of):
    env = FutoshikiEnv(size=4, difficulty=1.0)
    squares = list(latin_squares(4))
    for seed in range(5):
        meta = task_of(env, seed).metadata
        fits = [
            g
            for g in squares
            if all(g[i] == v for i, v in enumerate(meta["puzzle"]) if v)
            and all(g[a] < g[b] for a, b in meta["less"])
        ]
        assert fits == [meta["solution"]]


@pytest.mark.parametrize("size", [6, 9])
def test_larger_sudoku_and_futoshiki_are_unique_by_the_solver(size, task_of):
    for seed in range(3):
        meta = task_of(SudokuEnv(size=size, difficulty=1.0), seed).metadata
        assert LatinSolver(size, BOXES[size]).solve(meta["puzzle"], limit=5) == [meta["solution"]]
    meta = task_of(FutoshikiEnv(size=size - 1, difficulty=1.0), 0).metadata
    less = [tuple(p) for p in meta["less"]]
    assert LatinSolver(size - 1, less=less).solve(meta["puzzle"], limit=5) == [meta["solution"]]


def test_small_zebra_has_exactly_one_arrangement_by_brute_force(task_of):
    env = ZebraEnv(n_houses=3, n_attributes=3, difficulty=1.0)
    for seed in range(5):
        meta = task_of(env, seed).metadata
        clues = ZebraEnv.clues_of(meta)
        found = []
        for perms in itertools.product(itertools.permutations(range(3)), repeat=3):
            house = {(a, v): perms[a][v] for a in range(3) for v in range(3)}
            if all(_holds(c, house) for c in clues):
                found.append(house)
        assert len(found) == 1


@pytest.mark.parametrize("difficulty", [0.0, 0.5, 1.0])
def test_zebra_is_unique_by_the_search_solver(difficulty, task_of):
    env = ZebraEnv(difficulty=difficulty)
    for seed in range(3):
        meta = task_of(env, seed).metadata
        assert (
            len(ZebraSolver(meta["houses"], len(meta["attributes"]), ZebraEnv.clues_of(meta)).solve(5)) == 1
        )


def test_cryptarithm_is_unique_by_brute_force(task_of):
    env = CryptarithmEnv(word_length=2, n_addends=2)
    hinted = 0
    for seed in range(6):
        meta = task_of(env, seed).metadata
        words, total, given = meta["addends"], meta["total"], meta["given"]
        hinted += bool(given)
        letters = sorted(set("".join([*words, total])))
        count = 0
        for digits in itertools.permutations(range(10), len(letters)):
            value = dict(zip(letters, digits, strict=True))
            if any(value[w[0]] == 0 for w in [*words, total] if len(w) > 1):
                continue
            if any(value[a] != d for a, d in given.items()):
                continue
            num = [int("".join(str(value[c]) for c in w)) for w in [*words, total]]
            count += sum(num[:-1]) == num[-1]
        assert count == 1
        assert len(solve(words, total, limit=5, fixed=given)) == 1
    assert hinted  # two-letter sums are rarely unique alone: letters get revealed


# ---- verifiers: alternative valid solutions in, invalid ones out --------------------------------
def test_sudoku_verifier(task_of):
    env = SudokuEnv(size=9)
    task = task_of(env, 1)
    sol, puzzle = task.metadata["solution"], task.metadata["puzzle"]
    compact = "Here it is:\n" + "\n".join(
        f"Row {r + 1}: " + "".join(map(str, sol[r * 9 : r * 9 + 9])) for r in range(9)
    )
    assert env.verify(task, compact).success
    assert env.verify(task, grid_text(sol, 9, " | ")).success
    empty = [i for i, v in enumerate(puzzle) if not v]
    a, b = [i for i in empty if i // 9 == empty[0] // 9][:2]  # two empty cells in one row
    bad = list(sol)
    bad[a], bad[b] = bad[b], bad[a]
    verdict = env.verify(task, grid_text(bad, 9))
    assert not verdict.success and verdict.score == 0.0 and 0 < verdict.parts["partial"] < 1
    assert SudokuEnv(partial_credit=True).verify(task, grid_text(bad, 9)).score == verdict.parts["partial"]
    assert not env.verify(task, grid_text([1] * 81, 9)).success
    assert not env.verify(task, "1 2 3").success


def test_futoshiki_verifier(task_of):
    env = FutoshikiEnv(size=5)
    task = task_of(env, 2)
    sol = task.metadata["solution"]
    assert env.verify(task, grid_text(sol, 5, "")).success
    transposed = [sol[c * 5 + r] for r in range(5) for c in range(5)]  # a Latin square, wrong here
    assert not env.verify(task, grid_text(transposed, 5)).success
    shifted = [v % 5 + 1 for v in sol]  # still Latin, breaks givens or inequalities
    assert not env.verify(task, grid_text(shifted, 5)).success


def test_zebra_verifier(task_of):
    env = ZebraEnv(n_houses=5)
    task = task_of(env, 4)
    table = task.metadata["solution"]
    shuffled = "\n".join(
        f"- house #{h + 1}: " + " / ".join(reversed([v.upper() for v in row])) for h, row in enumerate(table)
    )
    assert env.verify(task, "Reasoning...\n" + "\n".join(reversed(shuffled.splitlines()))).success
    swapped = [list(r) for r in table]
    swapped[0][0], swapped[1][0] = swapped[1][0], swapped[0][0]
    text = "\n".join(f"House {h + 1}: {', '.join(r)}" for h, r in enumerate(swapped))
    verdict = env.verify(task, text)
    assert not verdict.success and verdict.parts["partial"] == pytest.approx(1 - 2 / (5 * len(table[0])))
    twice = task.answer.replace("House 2:", "House 2: " + table[0][0] + ",")
    assert not env.verify(task, twice).success
    draft_then_final = text + "\nOn second thought:\n" + task.answer  # the last line per house counts
    assert env.verify(task, draft_then_final).success


def all_shortest(grid, start, goal):
    """Every shortest path from start to goal (BFS distances, then walk down them)."""
    from collections import deque

    dist = {goal: 0}
    queue = deque([goal])
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES.values():
            q = (r + dr, c + dc)
            if q not in dist and grid[q[0]][q[1]] != "#":
                dist[q] = dist[(r, c)] + 1
                queue.append(q)

    def paths(p):
        if p == goal:
            yield ""
            return
        for m, (dr, dc) in MOVES.items():
            q = (p[0] + dr, p[1] + dc)
            if dist.get(q) == dist[p] - 1:
                for rest in paths(q):
                    yield m + rest

    return list(itertools.islice(paths(start), 50))


def test_maze_verifier_accepts_any_shortest_path():
    env = MazeEnv(size=6, loops=0.5)
    found_alternative = False
    for seed in range(20):
        task = env._load_task(f"maze/{seed}")
        meta = task.metadata
        paths = all_shortest(meta["grid"], tuple(meta["start"]), tuple(meta["goal"]))
        assert all(len(p) == meta["length"] for p in paths)
        for p in paths:
            assert env.verify(task, " ".join(p)).success
        if len(paths) > 1:
            found_alternative = True
            words = {"U": "up", "D": "down", "L": "left", "R": "right"}
            assert env.verify(task, ", ".join(words[m] for m in paths[1])).success
    assert found_alternative
    ref = task.answer.split()
    back = {"U": "D", "D": "U", "L": "R", "R": "L"}
    detour = [ref[0], back[ref[0]], *ref]  # legal, reaches G, but not shortest
    verdict = env.verify(task, " ".join(detour))
    assert not verdict.success and verdict.parts["valid"] == 1.0
    assert not env.verify(task, " ".join(ref[:-1])).success
    assert not env.verify(task, "fly to the goal").success
    wall = next(
        m
        for m, (dr, dc) in MOVES.items()
        if meta["grid"][meta["start"][0] + dr][meta["start"][1] + dc] == "#"
    )
    assert "wall" in env.verify(task, wall + " " + " ".join(ref)).feedback


def board(cols):
    n = len(cols)
    return "\n".join(" ".join("Q" if cols[r] == c else "." for c in range(n)) for r in range(n))


def test_n_queens_verifier_accepts_another_placement():
    env = NQueensEnv(n=8, placed=0)
    task = env._load_task("n_queens/0")
    stored = [row.split().index("Q") for row in task.answer.splitlines()]
    others = [s for s in queens(8, {}, limit=92) if s != stored]
    assert len(others) == 91
    assert env.verify(task, board(others[0])).success
    same_column = [stored[1], *stored[1:]]
    verdict = env.verify(task, board(same_column))
    assert not verdict.success and verdict.score == 0.0 and verdict.parts["partial"] == 6 / 8
    assert NQueensEnv(n=8, placed=0, partial_credit=True).verify(task, board(same_column)).score == 6 / 8
    fixed_env = NQueensEnv(n=8, placed=3)
    fixed_task = fixed_env._load_task("n_queens/0")
    fixed = {r: c for r, c in fixed_task.metadata["fixed"]}
    moved = [s for s in queens(8, {}, limit=92) if any(s[r] != c for r, c in fixed.items())][0]
    verdict = fixed_env.verify(fixed_task, board(moved))
    assert not verdict.success and "given" in verdict.feedback


def test_graph_coloring_verifier_accepts_a_recolored_solution():
    env = GraphColoringEnv(n_vertices=12, n_colors=3)
    task = env._load_task("graph_coloring/3")
    hidden = {int(v): int(c) for v, c in re.findall(r"(\d+): (\d+)", task.answer)}
    swap = {1: 2, 2: 1, 3: 3}
    recolored = {v: swap[c] for v, c in hidden.items()}
    assert recolored != hidden
    assert env.verify(task, "\n".join(f"vertex {v} = {c}" for v, c in recolored.items())).success
    a, b = task.metadata["edges"][0]
    clash = dict(hidden)
    clash[b] = clash[a]
    verdict = env.verify(task, ", ".join(f"{v}: {c}" for v, c in clash.items()))
    assert not verdict.success and verdict.parts["partial"] < 1
    assert not env.verify(task, "0: 1").success
    assert not env.verify(task, ", ".join(f"{v}: 4" for v in hidden)).success  # color out of range


def test_cryptarithm_verifier(task_of):
    env = CryptarithmEnv()
    task = next(
        t
        for t in (task_of(env, s) for s in range(30))
        if len(solve(t.metadata["addends"], t.metadata["total"], limit=2)) > 1
    )
    meta = task.metadata
    other = next(
        x
        for x in solve(meta["addends"], meta["total"], limit=50)
        if any(x[a] != d for a, d in meta["given"].items())
    )
    verdict = env.verify(task, ", ".join(f"{a}={d}" for a, d in other.items()))  # right sum, hints ignored
    assert not verdict.success and "given" in verdict.feedback
    pairs = re.findall(r"([A-Z])=(\d)", task.answer)
    assert env.verify(task, "\n".join(f"{a} -> {d}" for a, d in reversed(pairs))).success
    (a1, d1), (a2, d2) = pairs[0], pairs[1]
    swapped = task.answer.replace(f"{a1}={d1}", f"{a1}={d2}").replace(f"{a2}={d2}", f"{a2}={d1}")
    assert not env.verify(task, swapped).success
    assert not env.verify(task, task.answer.replace(f"{a1}={d1}", f"{a1}={d2}")).success  # a digit twice
    assert not env.verify(task, ", ".join(f"{a}={d}" for a, d in pairs[:-1])).success


def test_game24_verifier_accepts_every_solution_the_solver_finds():
    env = Game24Env(difficulty=0.0)
    task = env._load_task("game24/0")
    numbers = task.metadata["numbers"]
    found = sorted(solutions(numbers, 24))
    assert len(found) > 1
    for expr in found[:20]:
        assert env.verify(task, expr + " = 24").success
    assert not env.verify(task, "24").success
    assert not env.verify(task, f"{numbers[0]} + {numbers[0]} + {numbers[1]} + {numbers[2]}").success
    assert not env.verify(task, "__import__('os')").success


def _coloring_forms(coloring):
    n = len(coloring)
    return [
        ", ".join(f"{v}: {c}" for v, c in coloring.items()),
        json.dumps({str(v): c for v, c in coloring.items()}),
        json.dumps({str(v): str(c) for v, c in coloring.items()}, indent=2),
        "```json\n" + json.dumps({str(v): c for v, c in coloring.items()}) + "\n```",
        repr(coloring),
        json.dumps([[v, c] for v, c in coloring.items()]),
        json.dumps([coloring[v] for v in range(n)]),
        "\n".join(f"vertex {v} -> color {c}" for v, c in coloring.items()),
        "; ".join(f"{v} is {c}" for v, c in coloring.items()),
        json.dumps({f"vertex {v}": c for v, c in coloring.items()}),
    ]


def test_graph_coloring_accepts_every_unambiguous_format():
    env = GraphColoringEnv(n_vertices=12, n_colors=3)
    task = env._load_task("graph_coloring/3")
    hidden = {int(v): int(c) for v, c in re.findall(r"(\d+): (\d+)", task.answer)}
    for text in _coloring_forms(hidden):
        assert parse_coloring(text) == hidden, text
        assert env.verify(task, text).success, text
    a, b = task.metadata["edges"][0]
    clash = dict(hidden)
    clash[b] = clash[a]
    for text in _coloring_forms(clash):
        assert not env.verify(task, text).success, text


def test_graph_coloring_rejects_a_vertex_given_two_colors():
    env = GraphColoringEnv(n_vertices=12, n_colors=3, partial_credit=True)
    task = env._load_task("graph_coloring/3")
    hidden = {int(v): int(c) for v, c in re.findall(r"(\d+): (\d+)", task.answer)}
    hedge = ", ".join(f"{v}: {c}" for v, c in hidden.items()) + ", 0: " + str(hidden[0] % 3 + 1)
    verdict = env.verify(task, hedge)
    assert not verdict.success and verdict.score == 0.0 and "two colors" in verdict.feedback
    with pytest.raises(ColoringError):
        parse_coloring('{"0": 1, "1": 2, "0": 2}')
    assert parse_coloring("0: 1, 0: 1, 1: 2") == {0: 1, 1: 2}  # the same color twice is not a hedge
