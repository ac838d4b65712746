"""Errors that the env API raises or reports."""

from __future__ import annotations


class InfraError(RuntimeError):
    """An infrastructure failure (sandbox down, retriever down, verifier timeout).

    Envs never score it as a reward: the episode ends with ``info["error"]`` set and
    ``info["is_success"] = None``, and reward functions return ``None`` for it.
    """


class EpisodeEndedError(RuntimeError):
    """``step`` was called after the episode ended; call ``reset`` first."""
