"""Shared fixtures: a tiny random tool-calling model, built once per test session (no download), and a
private toolgym cache holding the generated knowledge base's BM25 index (the search envs' and the
retrievers' corpus)."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def toolgym_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh toolgym cache for this session (env ``TOOLGYM_CACHE``)."""
    path = tmp_path_factory.mktemp("toolgym-cache")
    old = os.environ.get("TOOLGYM_CACHE")
    os.environ["TOOLGYM_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("TOOLGYM_CACHE", None)
    else:
        os.environ["TOOLGYM_CACHE"] = old


@pytest.fixture(scope="session")
def kb_index(toolgym_cache: Path) -> Path:
    """The default generated knowledge base's index, built into the session cache."""
    from envs.search.kb import default_index_dir

    return default_index_dir()
