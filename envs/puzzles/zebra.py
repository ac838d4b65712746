"""Zebra (Einstein) puzzles: houses in a row, one value of each attribute per house, and clues that pin
down exactly one arrangement. The generator adds clues until constraint propagation alone determines
every house (which proves the solution unique), then drops the clues that propagation can do without;
``solve`` (propagation plus search) counts solutions independently."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.puzzles.base import PuzzleEnv

ATTRIBUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("{}", ("Alice", "Bob", "Carol", "David", "Eric", "Fiona")),
    "color": ("the person in the {} house", ("red", "green", "blue", "yellow", "white", "purple")),
    "pet": ("the person who keeps the {}", ("dog", "cat", "bird", "fish", "horse", "rabbit")),
    "drink": ("the person who drinks {}", ("tea", "coffee", "milk", "water", "juice", "soda")),
    "hobby": ("the person who enjoys {}", ("chess", "painting", "gardening", "reading", "cycling", "hiking")),
    "food": ("the person who eats {}", ("pizza", "pasta", "sushi", "tacos", "soup", "salad")),
}
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")
# clue kinds from direct to indirect; difficulty shifts the mix toward the end of the list
KINDS = ("pos", "same", "not_pos", "next", "left", "not_same", "before")

Var = tuple[int, int]  # (attribute index, value index)
Clue = tuple  # (kind, var, var-or-house)


@dataclass
class ZebraConfig(Config):
    """``difficulty`` in [0, 1] sets the houses (3 to 6), the attributes (3 to 6) and how indirect the
    clues are; ``n_houses`` and ``n_attributes`` override it. ``partial_credit`` makes the score the
    share of cells (house x attribute) right."""

    difficulty: float = 0.5
    n_houses: int | None = None
    n_attributes: int | None = None
    partial_credit: bool = False

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.n_houses is not None:
            check_range("n_houses", self.n_houses, 2, 6)
        if self.n_attributes is not None:
            check_range("n_attributes", self.n_attributes, 2, len(ATTRIBUTES))

    @property
    def houses(self) -> int:
        return self.n_houses or 3 + round(3 * self.difficulty)

    @property
    def attributes(self) -> int:
        return self.n_attributes or 3 + round(3 * self.difficulty)


class ZebraSolver:
    """Domains are bitmasks of houses, one per (attribute, value), in a flat list (index
    ``attribute * n + value``); propagation runs the clues and the all-different rule of each attribute
    (naked and hidden singles, as bit operations) to a fixpoint; search branches on the smallest domain."""

    def __init__(self, n: int, k: int, clues: list[Clue]):
        self.n, self.k, self.clues = n, k, clues
        self.full = (1 << n) - 1

    def start(self) -> list[int]:
        return [self.full] * (self.n * self.k)

    def _compiled(self, clues: list[Clue]) -> list[tuple[str, int, int]]:
        n = self.n
        return [(kind, x[0] * n + x[1], y if isinstance(y, int) else y[0] * n + y[1]) for kind, x, y in clues]

    def propagate(self, d: list[int], clues: list[Clue] | None = None) -> bool:
        """Shrink ``d`` in place; ``False`` on a contradiction."""
        compiled = self._compiled(self.clues if clues is None else clues)
        n, full = self.n, self.full
        while True:
            before = list(d)
            for kind, x, y in compiled:
                dx = d[x]
                if kind == "pos":
                    d[x] = dx & (1 << y)
                elif kind == "not_pos":
                    d[x] = dx & ~(1 << y)
                else:
                    dy = d[y]
                    if kind == "same":
                        d[x] = d[y] = dx & dy
                    elif kind == "not_same":
                        if dx & (dx - 1) == 0:
                            d[y] = dy & ~dx
                        if dy & (dy - 1) == 0:
                            d[x] = dx & ~dy
                    elif kind == "left":  # house(x) + 1 == house(y)
                        d[x] = dx & (dy >> 1)
                        d[y] = dy & (dx << 1) & full
                    elif kind == "next":
                        d[x] = dx & ((dy << 1) | (dy >> 1)) & full
                        d[y] = dy & ((dx << 1) | (dx >> 1)) & full
                    elif kind == "before":  # house(x) < house(y)
                        d[x] = dx & ((1 << (dy.bit_length() - 1)) - 1) if dy else 0
                        d[y] = dy & ~((1 << (dx & -dx).bit_length()) - 1) & full
            for base in range(0, len(d), n):
                seen1 = seen2 = singles = 0
                for i in range(base, base + n):
                    m = d[i]
                    if not m:
                        return False
                    seen2 |= seen1 & m
                    seen1 |= m
                    if not m & (m - 1):
                        if singles & m:
                            return False  # two values in one house
                        singles |= m
                if seen1 != full:
                    return False  # a house no value can take
                once = seen1 & ~seen2  # houses only one value can take
                for i in range(base, base + n):
                    m = d[i]
                    if m & (m - 1):
                        m &= ~singles
                        if m & once:
                            m &= once
                            if m & (m - 1):
                                return False  # one value must take two houses
                        if not m:
                            return False
                        d[i] = m
            if d == before:
                return True

    @staticmethod
    def determined(d: list[int]) -> bool:
        return all(m & (m - 1) == 0 for m in d)

    def solve(self, limit: int = 2) -> list[dict[Var, int]]:
        """Up to ``limit`` solutions, each mapping (attribute, value) to its house."""
        found: list[dict[Var, int]] = []

        def search(d: list[int]) -> None:
            if not self.propagate(d):
                return
            open_vars = [(m.bit_count(), i) for i, m in enumerate(d) if m & (m - 1)]
            if not open_vars:
                found.append({divmod(i, self.n): m.bit_length() - 1 for i, m in enumerate(d)})
                return
            _, i = min(open_vars)
            m = d[i]
            while m and len(found) < limit:
                low = m & -m
                m ^= low
                child = list(d)
                child[i] = low
                search(child)

        search(self.start())
        return found


def _true_clue(kind: str, rng: np.random.Generator, house: dict[Var, int], n: int, k: int) -> Clue | None:
    """A random clue of ``kind`` that holds for the arrangement ``house``."""

    def var() -> Var:
        return (int(rng.integers(k)), int(rng.integers(n)))

    x = var()
    hx = house[x]
    if kind == "pos":
        return ("pos", x, hx)
    if kind == "not_pos":
        return ("not_pos", x, int(rng.choice([h for h in range(n) if h != hx])))
    by_house = {(a, h): v for (a, v), h in house.items()}
    a = int(rng.integers(k))
    if kind == "same":
        if a == x[0]:
            return None
        return ("same", x, (a, by_house[(a, hx)]))
    if kind == "not_same":
        y = (a, int(rng.integers(n)))
        return ("not_same", x, y) if house[y] != hx else None
    if kind == "left":
        return ("left", x, (a, by_house[(a, hx + 1)])) if hx + 1 < n else None
    if kind == "next":
        options = [h for h in (hx - 1, hx + 1) if 0 <= h < n]
        return ("next", x, (a, by_house[(a, int(rng.choice(options)))]))
    if kind == "before":
        later = [h for h in range(hx + 1, n)]
        return ("before", x, (a, by_house[(a, int(rng.choice(later)))])) if later else None
    raise ValueError(f"unknown clue kind {kind!r}")


class ZebraEnv(PuzzleEnv):
    """Zebra puzzle; reward 1 for the full arrangement (share of right cells in the parts)."""

    family = "zebra"
    config_cls = ZebraConfig
    config: ZebraConfig

    def answer_shape(self) -> str:
        return "one line per house listing its values"

    def instructions(self) -> str:
        example = self.show_answer("\nHouse 1: Alice, red, dog\nHouse 2: Bob, green, cat\n")
        return (
            "You solve Zebra (Einstein) puzzles: houses stand in a row, numbered from 1 on the left, and "
            "each house has exactly one value of every attribute. Use the clues to work out the whole "
            "arrangement. Give the final answer with one line per house listing its values, for example\n"
            + example
        )

    def _attributes(self) -> list[str]:
        return list(ATTRIBUTES)[: self.config.attributes]

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        n, k = self.config.houses, self.config.attributes
        names = self._attributes()
        values = [[ATTRIBUTES[a][1][i] for i in sorted(rng.choice(6, size=n, replace=False))] for a in names]
        perms = [rng.permutation(n) for _ in range(k)]
        house = {(a, v): int(perms[a][v]) for a in range(k) for v in range(n)}
        t = self.config.difficulty
        weights = np.array([(1 - t) * 2 + 0.3, 1.5, 0.5 + t, 0.5 + t, 0.5 + t, 0.3 + t, 0.3 + t])
        weights /= weights.sum()
        solver = ZebraSolver(n, k, [])
        d = solver.start()
        clues: list[Clue] = []
        for _ in range(2000):
            clue = _true_clue(KINDS[int(rng.choice(len(KINDS), p=weights))], rng, house, n, k)
            if clue is None or clue in clues:
                continue
            clues.append(clue)
            solver.propagate(d, clues)
            if solver.determined(d):
                break
        else:  # pragma: no cover - 2000 true clues always determine the arrangement
            raise RuntimeError("could not determine the arrangement")
        for drop in [clues[int(i)] for i in rng.permutation(len(clues))]:  # drop what is not needed
            rest = [c for c in clues if c != drop]
            trial = solver.start()
            if solver.propagate(trial, rest) and solver.determined(trial):
                clues = rest
        rng.shuffle(clues)
        lines = [
            f"There are {n} houses in a row, numbered 1 to {n} from left to right. Each house has a different "
            + ", a different ".join(names)
            + ".",
        ]
        lines += [f"- {a}: {', '.join(vals)}" for a, vals in zip(names, values, strict=True)]
        lines.append("Clues:")
        lines += [f"{i}. {self._render(c, names, values)}" for i, c in enumerate(clues, 1)]
        lines.append("What is in each house?")
        table = [[values[a][v] for a in range(k) for v in range(n) if house[(a, v)] == h] for h in range(n)]
        answer = "\n".join(f"House {h + 1}: {', '.join(row)}" for h, row in enumerate(table))
        meta = {
            "houses": n,
            "attributes": names,
            "values": values,
            "clues": [[kind, list(x), list(y) if isinstance(y, tuple) else y] for kind, x, y in clues],
            "solution": table,
        }
        return "\n".join(lines), answer, meta

    @staticmethod
    def _render(clue: Clue, names: list[str], values: list[list[str]]) -> str:
        kind, x, y = clue

        def who(var: Var) -> str:
            return ATTRIBUTES[names[var[0]]][0].format(values[var[0]][var[1]])

        text = {
            "pos": lambda: f"{who(x)} lives in the {ORDINALS[y]} house",
            "not_pos": lambda: f"{who(x)} does not live in the {ORDINALS[y]} house",
            "same": lambda: f"{who(x)} is {who(y)}",
            "not_same": lambda: f"{who(x)} is not {who(y)}",
            "left": lambda: f"{who(x)} lives directly left of {who(y)}",
            "next": lambda: f"{who(x)} and {who(y)} live next to each other",
            "before": lambda: f"{who(x)} lives somewhere to the left of {who(y)}",
        }[kind]()
        return text[0].upper() + text[1:] + "."

    @staticmethod
    def clues_of(meta: dict[str, Any]) -> list[Clue]:
        return [(kind, tuple(x), tuple(y) if isinstance(y, list) else y) for kind, x, y in meta["clues"]]

    def verify(self, task: Task, answer: str) -> Verdict:
        meta = task.metadata
        n, names, values, solution = meta["houses"], meta["attributes"], meta["values"], meta["solution"]
        lookup = {v.lower(): (a, i) for a, vals in enumerate(values) for i, v in enumerate(vals)}
        table: dict[int, dict[int, str]] = {}
        for line in answer.splitlines():
            m = re.match(r"\W*house\s*#?\s*(\d+)\W*(.*)$", line.strip(), flags=re.IGNORECASE)
            if not m or not 1 <= int(m.group(1)) <= n:
                continue
            row = table[int(m.group(1)) - 1] = {}  # a later line for a house replaces an earlier one
            for word in re.findall(r"[A-Za-z]+", m.group(2)):
                if word.lower() in lookup:
                    a, i = lookup[word.lower()]
                    row[a] = values[a][i] if a not in row else "?"  # two values of one attribute: wrong
        right = sum(table.get(h, {}).get(a) == solution[h][a] for h in range(n) for a in range(len(names)))
        share = right / (n * len(names))
        house: dict[Var, int] = {}
        for h, row in table.items():
            for a, value in row.items():
                if value != "?":
                    house.setdefault((a, values[a].index(value)), h)
        complete = len(house) == n * len(names) and all(len(r) == len(names) for r in table.values())
        if complete and all(_holds(c, house) for c in self.clues_of(meta)):
            return Verdict.right(partial=1.0)
        feedback = (
            "some house lacks a value of some attribute, or a value is used twice"
            if not complete
            else "the arrangement breaks at least one clue"
        )
        return Verdict(
            share if self.config.partial_credit else 0.0, False, {"correct": 0.0, "partial": share}, feedback
        )


def _holds(clue: Clue, house: dict[Var, int]) -> bool:
    """Whether ``clue`` holds for the arrangement ``house`` ((attribute, value) -> house)."""
    kind, x, y = clue
    hx = house[x]
    if kind == "pos":
        return hx == y
    if kind == "not_pos":
        return hx != y
    hy = house[y]
    return {
        "same": hx == hy,
        "not_same": hx != hy,
        "left": hx + 1 == hy,
        "next": abs(hx - hy) == 1,
        "before": hx < hy,
    }[kind]
