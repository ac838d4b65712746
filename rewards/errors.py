"""``InfraError``: a failure of the infrastructure, never a score."""

from __future__ import annotations


class InfraError(RuntimeError):
    """An infrastructure failure (sandbox down, retriever down, verifier timeout).

    It is never scored: a reward function that raises it gives ``None`` for that sample, and an env
    ends the episode with ``info["error"]`` set and ``info["is_success"] = None``.
    """
