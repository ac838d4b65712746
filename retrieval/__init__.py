"""Search over a corpus: index building, BM25 / dense / hybrid retrievers, the service and its client.

Every retriever offers one interface (``retrieval.api.Retriever``): in this process (``LuceneRetriever``
over a Lucene BM25 index, ``DenseRetriever``, ``HybridRetriever``) or over HTTP (``RetrieverClient``
against ``toolgym retriever serve``). ``get_retriever()`` gives the one to use: a client of the service
named by ``TOOLGYM_RETRIEVER_URL`` when set, else the process-wide embedded retriever of an index.
Importing this package starts no JVM and loads no pyserini, faiss or web framework.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from retrieval.api import (
    MAX_BATCH,
    MAX_TOPK,
    CachedRetriever,
    Passage,
    QueryError,
    Retriever,
    RetrieverError,
)
from retrieval.client import RetrieverClient
from retrieval.dense import DenseRetriever, HybridRetriever
from retrieval.lucene import LuceneRetriever

__all__ = [
    "MAX_BATCH",
    "MAX_TOPK",
    "RETRIEVER_URL_ENV",
    "CachedRetriever",
    "DenseRetriever",
    "HybridRetriever",
    "LuceneRetriever",
    "Passage",
    "QueryError",
    "Retriever",
    "RetrieverClient",
    "RetrieverError",
    "get_retriever",
]

RETRIEVER_URL_ENV = "TOOLGYM_RETRIEVER_URL"

_embedded: dict[Path, LuceneRetriever] = {}
_embedded_lock = threading.Lock()


def get_retriever(url: str | None = None, index_dir: str | Path | None = None) -> Retriever:
    """A ``RetrieverClient`` for ``url`` (or ``$TOOLGYM_RETRIEVER_URL``), else the embedded
    ``LuceneRetriever`` of ``index_dir``, opened on first use and shared by the whole process."""
    url = url or os.environ.get(RETRIEVER_URL_ENV) or None
    if url:
        return RetrieverClient(url)
    if index_dir is None:
        raise ValueError(
            f"index_dir: an embedded retriever needs an index folder (or give url, or set {RETRIEVER_URL_ENV})"
        )
    key = Path(index_dir).resolve()
    with _embedded_lock:
        if key not in _embedded:
            _embedded[key] = LuceneRetriever(key)
        return _embedded[key]
