"""Fixtures of the search tests: a private cache with the default knowledge base's index."""

import os

import pytest


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
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
def kb_index(cache):
    """The default generated knowledge base's index, built into the session cache."""
    from envs.search.index import default_index_dir

    return default_index_dir()


@pytest.fixture(scope="session")
def retriever(kb_index):
    from envs.search.retriever import LuceneRetriever

    return LuceneRetriever(kb_index)
