"""Knights and Knaves (Logic-RL): knights always tell the truth, knaves always lie; who is who?

Every puzzle has exactly one solution: a solver checks all 2^n assignments (vectorized over numpy
arrays) and the generator keeps changing statements until exactly one assignment is consistent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.core import Config, Task, Verdict, check_range
from envs.puzzles.base import PuzzleEnv

NAMES = (
    "Zoey",
    "Oliver",
    "Mia",
    "Liam",
    "Ava",
    "Noah",
    "Emma",
    "Lucas",
    "Sofia",
    "Mason",
    "Isla",
    "Ethan",
    "Chloe",
    "Henry",
    "Aria",
    "Jack",
    "Lily",
    "Leo",
    "Nora",
    "Owen",
    "Ruby",
    "Samuel",
    "Grace",
    "Aiden",
    "Ella",
    "James",
    "Zara",
    "Daniel",
    "Maya",
    "Caleb",
    "Hazel",
    "Felix",
)

# A statement is a nested tuple: ("is", person, knight: bool), ("not", s), ("and", s, s, ...),
# ("or", s, s, ...), ("imp", s, s), ("iff", s, s).
Statement = tuple


@dataclass
class KnightsKnavesConfig(Config):
    """``difficulty`` in [0, 1] sets the number of people (2 to 8), statement depth (2 to 3) and
    width (2 to 3); the other fields override it. ``partial_credit`` makes the score the share of
    people named correctly instead of 0/1."""

    difficulty: float = 0.3
    n_people: int | None = None
    depth: int | None = None
    width: int | None = None
    partial_credit: bool = False

    def validate(self) -> None:
        check_range("difficulty", self.difficulty, 0, 1)
        if self.n_people is not None:
            check_range("n_people", self.n_people, 2, 8)
        if self.depth is not None:
            check_range("depth", self.depth, 1, 4)
        if self.width is not None:
            check_range("width", self.width, 2, 4)

    @property
    def people(self) -> int:
        return self.n_people or 2 + round(6 * self.difficulty)

    @property
    def max_depth(self) -> int:
        return self.depth or 2 + round(self.difficulty)

    @property
    def max_width(self) -> int:
        return self.width or 2 + round(self.difficulty)


def evaluate(s: Statement, bits: np.ndarray) -> np.ndarray:
    """Truth of ``s`` under every assignment: ``bits[a, i]`` is whether person i is a knight in a."""
    op = s[0]
    if op == "is":
        return bits[:, s[1]] if s[2] else ~bits[:, s[1]]
    if op == "not":
        return ~evaluate(s[1], bits)
    parts = [evaluate(x, bits) for x in s[1:]]
    if op == "and":
        return np.logical_and.reduce(parts)
    if op == "or":
        return np.logical_or.reduce(parts)
    if op == "imp":
        return ~parts[0] | parts[1]
    if op == "iff":
        return parts[0] == parts[1]
    raise ValueError(f"unknown statement operator {op!r}")


def all_assignments(n: int) -> np.ndarray:
    """Every knight/knave assignment of ``n`` people, as a (2^n, n) boolean array."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)


def solutions(statements: list[Statement], n: int) -> np.ndarray:
    """The assignments consistent with every statement (a knight's is true, a knave's false)."""
    bits = all_assignments(n)
    ok = np.ones(len(bits), dtype=bool)
    for speaker, s in enumerate(statements):
        ok &= evaluate(s, bits) == bits[:, speaker]
    return bits[ok]


def render(s: Statement, names: list[str], speaker: int | None = None, top: bool = True) -> str:
    """A statement in English, as ``speaker`` says it ("I am a knave")."""
    op = s[0]
    if op == "is":
        role = "knight" if s[2] else "knave"
        text = f"I am a {role}" if s[1] == speaker else f"{names[s[1]]} is a {role}"
    elif op == "not":
        text = f"it is false that {render(s[1], names, speaker, False)}"
    elif op in ("and", "or"):
        text = f" {op} ".join(render(x, names, speaker, False) for x in s[1:])
    elif op == "imp":
        text = f"if {render(s[1], names, speaker, False)} then {render(s[2], names, speaker, False)}"
    else:
        text = f"{render(s[1], names, speaker, False)} if and only if {render(s[2], names, speaker, False)}"
    return text if top or op == "is" else f"({text})"


class KnightsKnavesEnv(PuzzleEnv):
    """Knights and Knaves; reward 1 when everyone is named correctly (partial credit in the parts)."""

    family = "knights_knaves"
    config_cls = KnightsKnavesConfig
    config: KnightsKnavesConfig

    def answer_shape(self) -> str:
        return "every person named as a knight or a knave"

    def instructions(self) -> str:
        return (
            "You solve Knights and Knaves puzzles. On this island every inhabitant is either a knight, who "
            "always tells the truth, or a knave, who always lies. Work out who is a knight and who is a "
            "knave, then give the final answer naming every person, for example "
            f"{self.show_answer('Zoey is a knight, Oliver is a knave')}."
        )

    def _statement(
        self, rng: np.random.Generator, speaker: int, n: int, depth: int, top: bool = True
    ) -> Statement:
        if depth <= 1 or rng.random() < 0.3:
            # a bare "I am a knight" says nothing, so a top-level claim is about someone else
            people = [i for i in range(n) if i != speaker] if top else list(range(n))
            return ("is", people[int(rng.integers(len(people)))], bool(rng.random() < 0.5))
        op = ("not", "and", "or", "imp", "iff")[int(rng.integers(5))]
        if op == "not":
            return ("not", self._statement(rng, speaker, n, depth - 1, False))
        width = int(rng.integers(2, self.config.max_width + 1)) if op in ("and", "or") else 2
        return (op, *(self._statement(rng, speaker, n, depth - 1, False) for _ in range(width)))

    def generate(self, rng: np.random.Generator) -> tuple[str, str, dict[str, Any]]:
        n, depth = self.config.people, self.config.max_depth
        names = [str(x) for x in rng.choice(NAMES, size=n, replace=False)]
        truth = rng.random(n) < 0.5
        bits = truth[None, :]

        def consistent(speaker: int) -> Statement:
            s = self._statement(rng, speaker, n, depth)
            return (
                s if bool(evaluate(s, bits)[0]) == truth[speaker] else ("not", s) if s[0] != "not" else s[1]
            )

        statements = [consistent(i) for i in range(n)]
        for _ in range(2000):
            sols = solutions(statements, n)
            if len(sols) == 1:
                break
            speaker = int(rng.integers(n))
            statements[speaker] = consistent(speaker)
        else:
            raise RuntimeError("could not make a puzzle with a unique solution; lower the difficulty")
        lines = [
            f"A very special island is inhabited only by knights and knaves. You meet {n} inhabitants: "
            + ", ".join(names[:-1])
            + f" and {names[-1]}."
        ]
        for i, s in enumerate(statements):
            said = render(s, names, speaker=i)
            lines.append(f'{names[i]} says: "{said[0].upper()}{said[1:]}."')
        lines.append("Who is a knight and who is a knave?")
        answer = ", ".join(f"{names[i]} is a {'knight' if truth[i] else 'knave'}" for i in range(n))
        meta = {
            "names": names,
            "knights": [bool(t) for t in truth],
            "statements": [list(_jsonable(s)) for s in statements],
        }
        return "\n".join(lines), answer, meta

    def verify(self, task: Task, answer: str) -> Verdict:
        names, knights = task.metadata["names"], task.metadata["knights"]
        claims: dict[str, set[bool]] = {}
        for name, role in re.findall(
            r"\b([A-Z][a-z]+)\b\s+is\s+an?\s+(knight|knave)", answer, flags=re.IGNORECASE
        ):
            claims.setdefault(name.capitalize(), set()).add(role.lower() == "knight")
        correct = sum(claims.get(nm) == {k} for nm, k in zip(names, knights, strict=True))
        share = correct / len(names)
        if correct == len(names):
            return Verdict.right(partial=1.0)
        missing = [nm for nm in names if nm not in claims]
        feedback = f"{correct} of {len(names)} people are right" + (
            f"; not named: {missing}" if missing else ""
        )
        score = share if self.config.partial_credit else 0.0
        return Verdict(
            score=score, success=False, parts={"correct": 0.0, "partial": share}, feedback=feedback
        )


def _jsonable(s: Statement) -> list[Any]:
    return [x if not isinstance(x, tuple) else _jsonable(x) for x in s]
