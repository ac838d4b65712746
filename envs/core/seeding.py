"""Re-seeding a NumPy generator in place: after ``reseed(gen, seed)``, ``gen`` draws exactly what
``np.random.default_rng(seed)`` would, without building a new ``SeedSequence`` state, bit generator
and ``Generator`` (most of the cost of a cheap episode).

``default_rng(seed)`` is ``Generator(PCG64(SeedSequence(seed)))``: PCG64 takes four 64-bit words
from ``SeedSequence.generate_state`` and seeds its 128-bit state with them. Here the sequence's
entropy pool still comes from NumPy (``SeedSequence(seed).pool``); the eight output words and the
PCG64 seeding step are a few integer operations, and the result is set as the bit generator's state.
"""

from __future__ import annotations

import numpy as np

_M32 = 0xFFFFFFFF
_M128 = (1 << 128) - 1
_PCG64_MULT = (2549297995355413924 << 64) + 4865540595714422341
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED


def _output_constants() -> list[tuple[int, int]]:
    """``SeedSequence.generate_state``'s hash constant before and after each of eight words."""
    out, h = [], _INIT_B
    for _ in range(8):
        nxt = (h * _MULT_B) & _M32
        out.append((h, nxt))
        h = nxt
    return out


_HASH = _output_constants()


def pcg64_state(seed: int) -> tuple[int, int]:
    """The 128-bit ``(state, inc)`` of ``np.random.PCG64(seed)`` for a non-negative int ``seed``."""
    p0, p1, p2, p3 = np.random.SeedSequence(seed).pool.tolist()
    w = []
    for (before, after), p in zip(_HASH, (p0, p1, p2, p3, p0, p1, p2, p3), strict=True):
        v = ((p ^ before) * after) & _M32
        w.append(v ^ (v >> 16))
    initstate = (w[0] | w[1] << 32) << 64 | (w[2] | w[3] << 32)
    inc = ((((w[4] | w[5] << 32) << 64 | (w[6] | w[7] << 32)) << 1) | 1) & _M128
    return ((inc + initstate) * _PCG64_MULT + inc) & _M128, inc


def reseed(gen: np.random.Generator | None, seed: int) -> np.random.Generator:
    """``gen`` re-seeded in place to draw what ``np.random.default_rng(seed)`` draws (a new generator
    when ``gen`` is ``None`` or not PCG64-backed). ``seed`` is a non-negative int."""
    if gen is None or type(gen.bit_generator) is not np.random.PCG64:
        return np.random.default_rng(seed)
    state, inc = pcg64_state(seed)
    gen.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": state, "inc": inc},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return gen
