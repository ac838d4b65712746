"""Errors that the env API raises or reports (``InfraError`` is the rewards' own: one type for both)."""

from __future__ import annotations

from rewards.errors import InfraError

__all__ = ["EpisodeEndedError", "InfraError"]


class EpisodeEndedError(RuntimeError):
    """``step`` was called after the episode ended; call ``reset`` first."""
