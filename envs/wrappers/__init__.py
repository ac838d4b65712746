"""Wrappers around toolgym envs."""

from envs.wrappers.curriculum import Curriculum, CurriculumConfig

__all__ = ["Curriculum", "CurriculumConfig"]
