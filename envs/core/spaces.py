"""A gymnasium space of arbitrary strings (``gymnasium.spaces.Text`` rejects spaces and unicode)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.spaces import Space

# Printable ASCII, whitespace and a few non-ASCII letters and symbols, so samples exercise unicode.
_SAMPLE_CHARS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n\t.,;:!?+-*/=()[]{}<>'\"_#"
    "éüßñøçπλΩ中文字→✓"
)


class AnyText(Space[str]):
    """Every Python ``str`` is a member, of any length and any characters."""

    def __init__(self, max_sample_length: int = 256, seed: int | np.random.Generator | None = None):
        self.max_sample_length = max_sample_length
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        if mask is not None or probability is not None:
            raise ValueError("AnyText.sample takes no mask or probability")
        length = int(self.np_random.integers(0, self.max_sample_length + 1))
        idx = self.np_random.integers(0, len(_SAMPLE_CHARS), size=length)
        return "".join(_SAMPLE_CHARS[i] for i in idx)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str)

    def __repr__(self) -> str:
        return "AnyText()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyText)

    def __hash__(self) -> int:
        return hash("AnyText")
