"""Shared fixtures: a tiny random tool-calling model, built once per test session (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the tiny model, its locally trained tokenizer and its tool-calling chat template."""
    from agents.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir: Path):
    from agents.backends import load_tokenizer

    return load_tokenizer(str(tiny_model_dir))
