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


class SmallDraws:
    """Small integer draws from a PCG64 ``Generator``, exactly as its own methods make them, at a
    fraction of a NumPy call's cost: ``integers(k)`` is ``int(rng.integers(k))`` (Lemire's method on
    32-bit draws), ``permutation(k)`` is ``rng.permutation(k).tolist()`` (Fisher-Yates with masked
    rejection), ``pair(k)`` is ``rng.choice(k, size=2, replace=False).tolist()`` (Floyd's method, then
    a Lemire shuffle). The 32-bit draws come from the bit generator's raw 64-bit outputs, low half
    first, the high half kept for the next draw as NumPy keeps it; ``close()`` (or leaving the
    ``with`` block) hands that half back to the bit generator, after which ``rng`` draws what it would
    have drawn had its own methods been called (only the stale half NumPy leaves in its state when
    none is buffered may differ). Do not draw from ``rng`` itself while this is open."""

    def __init__(self, rng: np.random.Generator):
        self._bg = rng.bit_generator
        state = self._bg.state
        self._has32, self._buf = state["has_uint32"], state["uinteger"]
        self._start = (self._has32, self._buf)

    def __enter__(self) -> SmallDraws:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _u32(self) -> int:
        if self._has32:
            self._has32 = 0
            return self._buf
        x = self._bg.random_raw()
        self._has32, self._buf = 1, x >> 32
        return x & _M32

    def integers(self, k: int) -> int:
        """A draw from ``range(k)``, ``1 <= k < 2**32``."""
        if k == 1:
            return 0  # NumPy draws nothing for a single choice
        threshold = (_M32 - (k - 1)) % k
        while True:
            if self._has32:  # _u32, inlined: this is the hot path
                self._has32 = 0
                u = self._buf
            else:
                x = self._bg.random_raw()
                self._has32, self._buf = 1, x >> 32
                u = x & _M32
            m = u * k
            if (m & _M32) >= threshold:
                return m >> 32

    def _interval(self, top: int) -> int:
        """A draw from ``range(top + 1)`` by masked rejection (NumPy's ``random_interval``)."""
        mask = (1 << top.bit_length()) - 1
        while (j := self._u32() & mask) > top:
            pass
        return j

    def _take(self, count: int) -> list[int]:
        """The next ``count`` 32-bit draws, fetched in one call: no more raw outputs than they need,
        so the draws after them (``_u32``) go on from the right place."""
        out = []
        if self._has32 and count > 0:
            out.append(self._buf)
            self._has32 = 0
            count -= 1
        if count > 0:
            for x in self._bg.random_raw((count + 1) // 2).tolist():
                out.append(x & _M32)
                out.append(x >> 32)
            if count % 2:  # the last high half stays buffered
                self._buf = out.pop()
                self._has32 = 1
        return out

    def permutation(self, k: int) -> list[int]:
        """A permutation of ``range(k)``, ``k < 2**32``."""
        out = list(range(k))
        ahead = self._take(k - 1)  # one draw per place at least; a rejection takes one more
        pos = 0
        for i in range(k - 1, 0, -1):
            mask = (1 << i.bit_length()) - 1
            while True:
                if pos < len(ahead):
                    j = ahead[pos] & mask
                    pos += 1
                else:
                    j = self._u32() & mask
                if j <= i:
                    break
            out[i], out[j] = out[j], out[i]
        return out

    def pair(self, k: int) -> list[int]:
        """Two distinct draws from ``range(k)``, ``2 <= k <= 10_000``."""
        first = self.integers(k - 1)
        second = self.integers(k)
        out = [first, k - 1 if second == first else second]
        if self.integers(2) == 0:  # NumPy then shuffles the two: a swap unless it draws the last place
            out.reverse()
        return out

    def close(self) -> None:
        # the raw draws already moved the bit generator; only a changed buffered half is written
        # back (with none buffered before or after, the stale half NumPy keeps is never read)
        if (self._has32, self._buf) == self._start or not (self._has32 or self._start[0]):
            return
        state = self._bg.state
        state["has_uint32"], state["uinteger"] = self._has32, self._buf
        self._bg.state = state


class _GeneratorDraws(SmallDraws):
    """``SmallDraws``' methods through the generator's own (any bit generator)."""

    def __init__(self, rng: np.random.Generator):
        self._rng = rng

    def integers(self, k: int) -> int:
        return int(self._rng.integers(k))

    def permutation(self, k: int) -> list[int]:
        return self._rng.permutation(k).tolist()

    def pair(self, k: int) -> list[int]:
        return self._rng.choice(k, size=2, replace=False).tolist()

    def close(self) -> None:
        pass


def small_draws(rng: np.random.Generator) -> SmallDraws:
    """``SmallDraws`` over ``rng`` (its plain methods when it is not PCG64-backed)."""
    if type(rng.bit_generator) is np.random.PCG64:
        return SmallDraws(rng)
    return _GeneratorDraws(rng)
