"""In-place seeding and small draws give exactly NumPy's own streams."""

import numpy as np
import pytest

from envs.core.seeding import SmallDraws, reseed, small_draws

SEEDS = [0, 1, 2, 12345, 2**32 - 1, 2**32, 2**63 - 2, 2**64 + 3, 2**127 + 9, 2**200 + 1]


@pytest.mark.parametrize("seed", SEEDS + list(range(3, 40)))
def test_reseed_is_default_rng(seed):
    gen = np.random.default_rng(99)
    gen.integers(10)  # leaves half a 64-bit draw buffered: reseeding must drop it
    reseed(gen, seed)
    want = np.random.default_rng(seed)
    assert gen.bit_generator.state == want.bit_generator.state
    assert gen.integers(1000, size=8).tolist() == want.integers(1000, size=8).tolist()


def test_reseed_makes_a_generator_when_it_cannot_reuse_one():
    for gen in (None, np.random.Generator(np.random.MT19937(0))):
        out = reseed(gen, 5)
        assert out.integers(10**9) == np.random.default_rng(5).integers(10**9)


@pytest.mark.parametrize("seed", range(300))
def test_small_draws_are_numpys_draws(seed):
    ops = np.random.default_rng(10**6 + seed)
    plain, ours = np.random.default_rng(seed), np.random.default_rng(seed)
    with small_draws(ours) as draw:
        assert isinstance(draw, SmallDraws)
        for op, k in zip(ops.integers(0, 3, 30).tolist(), ops.integers(1, 40, 30).tolist(), strict=True):
            if op == 0:
                assert draw.integers(k) == int(plain.integers(k))
            elif op == 1:
                assert draw.permutation(k) == plain.permutation(k).tolist()
            elif k >= 2:
                assert draw.pair(k) == plain.choice(k, size=2, replace=False).tolist()
    # closed: the generator goes on where NumPy's own calls would have left it
    assert ours.integers(1000, size=7).tolist() == plain.integers(1000, size=7).tolist()
    assert ours.permutation(50).tolist() == plain.permutation(50).tolist()


def test_small_draws_of_another_bit_generator_use_its_methods():
    a, b = (np.random.Generator(np.random.MT19937(4)) for _ in range(2))
    with small_draws(a) as draw:
        got = [draw.integers(9), draw.permutation(5), draw.pair(6)]
    assert got == [int(b.integers(9)), b.permutation(5).tolist(), b.choice(6, size=2, replace=False).tolist()]
