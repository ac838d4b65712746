"""Procedurally generated math problems with exact answers, easy to check with a few lines of Python
and tedious by hand: arithmetic, number theory, combinatorics and algebra.

``make_problem(rng, difficulty, categories)`` draws one; ``difficulty`` in [0, 1] scales the sizes.
Answers are integers or reduced fractions written ``p/q``. Each problem comes with a short Python
program that computes its answer from the problem's numbers and prints it exactly as the answer is
written (the python tool's part of a demonstration).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

CATEGORIES = ("arithmetic", "number_theory", "combinatorics", "algebra")


@dataclass(frozen=True)
class MathProblem:
    category: str
    kind: str
    question: str
    answer: str
    program: str


#: What a generator returns: the question, the exact answer and a program that prints it.
Generated = tuple[str, int | Fraction, str]


def _fmt(x: Fraction | int) -> str:
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _int(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(rng.integers(lo, hi + 1))


def _scale(d: float, lo: float, hi: float) -> int:
    return round(lo + (hi - lo) * d)


# ---- arithmetic -------------------------------------------------------------------------------
def _products(rng: np.random.Generator, d: float) -> Generated:
    digits = _scale(d, 2, 8)
    a, b, c, e = (_int(rng, 10 ** (digits - 1), 10**digits - 1) for _ in range(4))
    return f"Compute {a} * {b} - {c} * {e}.", a * b - c * e, f"print({a} * {b} - {c} * {e})"


def _power_mod(rng: np.random.Generator, d: float) -> Generated:
    a, e, m = _int(rng, 2, 99), _int(rng, 10, 10 ** _scale(d, 2, 12)), _int(rng, 7, 10 ** _scale(d, 2, 6))
    question = f"What is the remainder when {a}^{e} is divided by {m}?"
    return question, pow(a, e, m), f"print(pow({a}, {e}, {m}))"


def _fractions(rng: np.random.Generator, d: float) -> Generated:
    n = _scale(d, 2, 5)
    terms = [Fraction(_int(rng, 1, 40), _int(rng, 2, 12 + 30 * round(d))) for _ in range(n)]
    signs = [1] + [int(rng.choice([-1, 1])) for _ in range(n - 1)]
    expr = " ".join(
        ("" if i == 0 else ("+ " if s > 0 else "- ")) + f"{t.numerator}/{t.denominator}"
        for i, (s, t) in enumerate(zip(signs, terms, strict=True))
    )
    total = sum((s * t for s, t in zip(signs, terms, strict=True)), Fraction(0))
    code = " ".join(
        ("" if i == 0 else ("+ " if s > 0 else "- ")) + f"F({t.numerator}, {t.denominator})"
        for i, (s, t) in enumerate(zip(signs, terms, strict=True))
    )
    program = f"from fractions import Fraction as F\n\nprint({code})"
    return f"Compute {expr} exactly, as a reduced fraction.", total, program


def _digit_sum(rng: np.random.Generator, d: float) -> Generated:
    a, e = _int(rng, 2, 19), _int(rng, 10, _scale(d, 30, 400))
    question = f"What is the sum of the decimal digits of {a}^{e}?"
    return question, sum(map(int, str(a**e))), f"print(sum(int(digit) for digit in str({a} ** {e})))"


# ---- number theory ----------------------------------------------------------------------------
def _primes_below(rng: np.random.Generator, d: float) -> Generated:
    n = _int(rng, 50, 10 ** _scale(d, 2, 5))
    sieve = np.ones(n, dtype=bool)
    sieve[:2] = False
    for p in range(2, math.isqrt(n - 1) + 1):
        if sieve[p]:
            sieve[p * p :: p] = False
    program = (
        f"n = {n}\n"
        "is_prime = [False, False] + [True] * (n - 2)\n"
        "for p in range(2, int(n**0.5) + 1):\n"
        "    if is_prime[p]:\n"
        "        for multiple in range(p * p, n, p):\n"
        "            is_prime[multiple] = False\n"
        "print(sum(is_prime))"
    )
    return f"How many prime numbers are less than {n}?", int(sieve.sum()), program


def _divisors(rng: np.random.Generator, d: float) -> Generated:
    n = _int(rng, 100, 10 ** _scale(d, 3, 9))
    count = total = 0
    for i in range(1, math.isqrt(n) + 1):
        if n % i == 0:
            pair = {i, n // i}
            count += len(pair)
            total += sum(pair)
    program = (
        "import math\n\n"
        f"n = {n}\n"
        "small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]\n"
        "divisors = set(small) | {n // d for d in small}\n"
    )
    if rng.random() < 0.5:
        return f"How many positive divisors does {n} have?", count, program + "print(len(divisors))"
    return f"What is the sum of all positive divisors of {n}?", total, program + "print(sum(divisors))"


def _gcd_lcm(rng: np.random.Generator, d: float) -> Generated:
    common = _int(rng, 2, 10 ** _scale(d, 1, 5))
    nums = [common * _int(rng, 2, 10 ** _scale(d, 1, 5)) for _ in range(_scale(d, 2, 4))]
    listed = ", ".join(map(str, nums))
    if rng.random() < 0.5:
        question = f"What is the greatest common divisor of {listed}?"
        return question, math.gcd(*nums), f"import math\n\nprint(math.gcd({listed}))"
    question = f"What is the least common multiple of {listed}?"
    return question, math.lcm(*nums), f"import math\n\nprint(math.lcm({listed}))"


def _totient(rng: np.random.Generator, d: float) -> Generated:
    n = _int(rng, 30, 10 ** _scale(d, 2, 9))
    result, m, p = n, n, 2
    while p * p <= m:
        if m % p == 0:
            while m % p == 0:
                m //= p
            result -= result // p
        p += 1
    if m > 1:
        result -= result // m
    program = (
        f"n = m = {n}\n"
        "phi, p = n, 2\n"
        "while p * p <= m:\n"
        "    if m % p == 0:\n"
        "        while m % p == 0:\n"
        "            m //= p\n"
        "        phi -= phi // p\n"
        "    p += 1\n"
        "if m > 1:\n"
        "    phi -= phi // m\n"
        "print(phi)"
    )
    return f"How many integers k with 1 <= k <= {n} satisfy gcd(k, {n}) = 1?", result, program


# ---- combinatorics ----------------------------------------------------------------------------
def _binomial(rng: np.random.Generator, d: float) -> Generated:
    n = _int(rng, 6, _scale(d, 12, 80))
    k = _int(rng, 2, n - 2)
    question = f"In how many ways can a committee of {k} be chosen from {n} people?"
    return question, math.comb(n, k), f"import math\n\nprint(math.comb({n}, {k}))"


def _lattice_paths(rng: np.random.Generator, d: float) -> Generated:
    a, b = _int(rng, 2, _scale(d, 5, 30)), _int(rng, 2, _scale(d, 5, 30))
    return (
        f"How many shortest paths along grid lines lead from (0, 0) to ({a}, {b}), moving only right "
        "or up one unit at a time?",
        math.comb(a + b, a),
        f"import math\n\nprint(math.comb({a} + {b}, {a}))",
    )


def _derangements(rng: np.random.Generator, d: float) -> Generated:
    n = _int(rng, 4, _scale(d, 7, 20))
    der = [1, 0]
    for i in range(2, n + 1):
        der.append((i - 1) * (der[-1] + der[-2]))
    return (
        f"In how many ways can {n} letters be put into their {n} envelopes so that none is in its own?",
        der[n],
        f"d = [1, 0]\nfor i in range(2, {n} + 1):\n    d.append((i - 1) * (d[-1] + d[-2]))\nprint(d[{n}])",
    )


def _bounded_compositions(rng: np.random.Generator, d: float) -> Generated:
    k, cap = _int(rng, 3, _scale(d, 3, 7)), _int(rng, 3, _scale(d, 4, 12))
    n = _int(rng, k, k * cap - 1)
    ways = [1] + [0] * n
    for _ in range(k):
        ways = [sum(ways[s - v] for v in range(0, min(cap, s) + 1)) for s in range(n + 1)]
    return (
        f"How many ordered {k}-tuples of integers (x_1, ..., x_{k}) with 0 <= x_i <= {cap} satisfy "
        f"x_1 + ... + x_{k} = {n}?",
        ways[n],
        f"k, cap, n = {k}, {cap}, {n}\n"
        "ways = [1] + [0] * n  # ways[s]: tuples so far summing to s\n"
        "for _ in range(k):\n"
        "    ways = [sum(ways[s - v] for v in range(min(cap, s) + 1)) for s in range(n + 1)]\n"
        "print(ways[n])",
    )


# ---- algebra ----------------------------------------------------------------------------------
def _linear_text(coeffs: list[int], names: str) -> str:
    """``[2, -1, 0]`` over ``xyz`` as ``2x - y``."""
    out = []
    for c, v in zip(coeffs, names, strict=True):
        if c == 0:
            continue
        term = f"{'' if abs(c) == 1 else abs(c)}{v}"
        out.append((("-" if c < 0 else "") + term) if not out else (f" - {term}" if c < 0 else f" + {term}"))
    return "".join(out) or "0"


def _linear_system(rng: np.random.Generator, d: float) -> Generated:
    n = 2 if d < 0.5 else 3
    names = "xyz"[:n]
    while True:
        coef = rng.integers(-9, 10, size=(n, n))
        if round(abs(np.linalg.det(coef))) != 0:
            break
    sol = rng.integers(-20, 21, size=n)
    rhs = coef @ sol
    eqs = [
        f"{_linear_text([int(c) for c in row], names)} = {int(r)}" for row, r in zip(coef, rhs, strict=True)
    ]
    weights = [_int(rng, 1, 5) for _ in range(n)]
    target = _linear_text(weights, names)
    value = sum(w * int(s) for w, s in zip(weights, sol, strict=True))
    program = (
        "from fractions import Fraction\n\n"
        f"A = {[[int(c) for c in row] for row in coef]}\n"
        f"b = {[int(r) for r in rhs]}\n"
        "n = len(A)\n"
        "M = [[Fraction(x) for x in row] + [Fraction(r)] for row, r in zip(A, b)]\n"
        "for i in range(n):  # Gauss-Jordan elimination\n"
        "    p = next(r for r in range(i, n) if M[r][i] != 0)\n"
        "    M[i], M[p] = M[p], M[i]\n"
        "    for r in range(n):\n"
        "        if r != i:\n"
        "            f = M[r][i] / M[i][i]\n"
        "            M[r] = [x - f * y for x, y in zip(M[r], M[i])]\n"
        f"{', '.join(names)} = (M[i][n] / M[i][i] for i in range(n))\n"
        f"print({' + '.join(f'{w} * {v}' for w, v in zip(weights, names, strict=True))})"
    )
    return f"Solve the system {'; '.join(eqs)}. What is {target}?", value, program


def _poly_text(coeffs: list[int]) -> str:
    """``[1, -3, 2]`` as ``x^2 - 3x + 2``."""
    deg, out = len(coeffs) - 1, []
    for i, c in enumerate(coeffs):
        power = deg - i
        if c == 0:
            continue
        mag = "" if abs(c) == 1 and power > 0 else str(abs(c))
        var = "" if power == 0 else ("x" if power == 1 else f"x^{power}")
        sign = ("-" if c < 0 else "") if not out else (" - " if c < 0 else " + ")
        out.append(f"{sign}{mag}{var}")
    return "".join(out)


def _root_power_sum(rng: np.random.Generator, d: float) -> Generated:
    deg = _scale(d, 2, 5)
    roots = [_int(rng, -12, 12) for _ in range(deg)]
    coeffs = [1]
    for r in roots:  # multiply by (x - r)
        coeffs = [a - r * b for a, b in zip([*coeffs, 0], [0, *coeffs], strict=True)]
    p = _int(rng, 2, 3 + round(3 * d))
    return (
        f"Let r_1, ..., r_{deg} be the roots (with multiplicity) of {_poly_text(coeffs)}. "
        f"What is r_1^{p} + ... + r_{deg}^{p}?",
        sum(r**p for r in roots),
        f"coeffs = {coeffs}  # highest power first\n"
        "bound = 1 + max(abs(c) for c in coeffs[1:])  # every root is below it in size\n"
        "roots = []\n"
        "while len(coeffs) > 1:\n"
        "    for r in range(-bound, bound + 1):\n"
        "        quotient = [coeffs[0]]  # synthetic division by (x - r)\n"
        "        for c in coeffs[1:]:\n"
        "            quotient.append(c + r * quotient[-1])\n"
        "        if quotient[-1] == 0:\n"
        "            roots.append(r)\n"
        "            coeffs = quotient[:-1]\n"
        "            break\n"
        "    else:\n"
        "        break\n"
        f"print(sum(r**{p} for r in roots))",
    )


def _series(rng: np.random.Generator, d: float) -> Generated:
    a, b, k = _int(rng, 1, 100), _int(rng, 10**3, 10 ** _scale(d, 4, 9)), _int(rng, 3, 17)
    first = a + (-a) % k
    last = b - b % k
    count = (last - first) // k + 1 if last >= first else 0
    return (
        f"What is the sum of all integers n with {a} <= n <= {b} that are divisible by {k}?",
        count * (first + last) // 2,
        f"a, b, k = {a}, {b}, {k}\n"
        "first, last = -(-a // k) * k, b // k * k\n"
        "count = (last - first) // k + 1 if last >= first else 0\n"
        "print(count * (first + last) // 2)",
    )


def _recurrence(rng: np.random.Generator, d: float) -> Generated:
    a0, p, q, n = _int(rng, 1, 9), _int(rng, 2, 5), _int(rng, -9, 9), _int(rng, 5, _scale(d, 10, 60))
    m = _int(rng, 97, 10 ** _scale(d, 3, 9))
    value = a0
    for _ in range(n):
        value = (p * value + q) % m
    return (
        f"A sequence has a_0 = {a0} and a_(k+1) = ({p} * a_k + {q}) mod {m}. What is a_{n}?",
        value,
        f"a = {a0}\nfor _ in range({n}):\n    a = ({p} * a + {q}) % {m}\nprint(a)",
    )


GENERATORS: dict[str, tuple[Callable[[np.random.Generator, float], Generated], ...]] = {
    "arithmetic": (_products, _power_mod, _fractions, _digit_sum),
    "number_theory": (_primes_below, _divisors, _gcd_lcm, _totient),
    "combinatorics": (_binomial, _lattice_paths, _derangements, _bounded_compositions),
    "algebra": (_linear_system, _root_power_sum, _series, _recurrence),
}


def make_problem(
    rng: np.random.Generator, difficulty: float, categories: Sequence[str] = CATEGORIES
) -> MathProblem:
    """A problem from one of ``categories``, its size set by ``difficulty`` in [0, 1]."""
    category = str(categories[int(rng.integers(len(categories)))])
    kinds = GENERATORS[category]
    gen = kinds[int(rng.integers(len(kinds)))]
    question, answer, program = gen(rng, difficulty)
    return MathProblem(category, gen.__name__.lstrip("_"), question, _fmt(answer), program)
