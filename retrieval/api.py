"""The retrieval interface every retriever shares, in process or over HTTP.

``Retriever`` is what the embedded retrievers (``LuceneRetriever``, ``DenseRetriever``,
``HybridRetriever``) and the HTTP ``RetrieverClient`` offer: one query or a batch, top-k ``Passage``
lists ranked by score. A query refused as written raises ``QueryError`` (the caller's mistake); a
retriever that cannot answer raises ``RetrieverError`` (never an empty result).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

MAX_TOPK = 100
MAX_BATCH = 1024


class Passage(NamedTuple):
    """A retrieved passage: its corpus id, its text and its retrieval score (a tuple: cheap to make)."""

    id: str
    contents: str
    score: float


@runtime_checkable
class Retriever(Protocol):
    """What every retriever offers: one query or a batch, top-k passages each, best first."""

    def search(self, query: str, topk: int = 3) -> list[Passage]: ...

    def batch_search(self, queries: Sequence[str], topk: int = 3) -> list[list[Passage]]: ...


class QueryError(ValueError):
    """A query refused as written (empty, or more distinct terms than Lucene takes): the caller's
    mistake, never the retriever failing."""


class RetrieverError(RuntimeError):
    """The retriever cannot answer (the service is unreachable, timed out, failed or sent a malformed
    answer): not the query's fault, and never an empty result."""


def check_topk(topk: int) -> None:
    """Reject a ``topk`` outside 1 to ``MAX_TOPK``."""
    if isinstance(topk, bool) or not isinstance(topk, int) or not 1 <= topk <= MAX_TOPK:
        raise ValueError(f"topk must be an int in [1, {MAX_TOPK}], got {topk!r}")


def check_request(queries: Sequence[str], topk: int) -> None:
    """Reject a bad request with a message saying what is wrong (shared by every retriever)."""
    check_topk(topk)
    if isinstance(queries, str):
        raise ValueError("queries must be a list of strings, not one string")
    if not 1 <= len(queries) <= MAX_BATCH:
        raise ValueError(f"queries must hold 1 to {MAX_BATCH} strings, got {len(queries)}")
    for i, q in enumerate(queries):
        if not isinstance(q, str) or not q.strip():
            raise QueryError(f"queries[{i}] must be a non-empty string, got {q!r}")


class CachedRetriever:
    """An LRU cache of ``(query, topk)`` results in front of another retriever."""

    def __init__(self, inner: Retriever, size: int = 10_000):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"cache size must be an int >= 1, got {size!r}")
        self.inner, self.size = inner, size
        self._cache: OrderedDict[tuple[str, int], list[Passage]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def search(self, query: str, topk: int = 3) -> list[Passage]:
        return self.batch_search([query], topk)[0]

    def batch_search(self, queries: Sequence[str], topk: int = 3) -> list[list[Passage]]:
        check_request(queries, topk)
        out: list[list[Passage] | None] = []
        with self._lock:
            for q in queries:
                found = self._cache.get((q, topk))
                if found is not None:
                    self._cache.move_to_end((q, topk))
                out.append(found)
        missing = sorted({q for q, r in zip(queries, out, strict=True) if r is None})
        fresh = dict(zip(missing, self.inner.batch_search(missing, topk), strict=True)) if missing else {}
        with self._lock:
            self.hits += len(queries) - sum(r is None for r in out)
            self.misses += sum(r is None for r in out)
            for q, r in fresh.items():
                self._cache[(q, topk)] = r
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return [r if r is not None else fresh[q] for q, r in zip(queries, out, strict=True)]
