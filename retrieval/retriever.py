"""One retrieval interface, in process or over HTTP.

``LuceneRetriever`` searches a Lucene BM25 index in this process through Anserini (the JVM and the index
are loaded once); ``RetrieverClient`` talks to ``toolgym retriever serve`` (Search-R1's ``/retrieve``
JSON); ``get_retriever`` picks one. Both return ``Passage`` lists ranked by score.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from envs.core.errors import InfraError

RETRIEVER_URL_ENV = "TOOLGYM_RETRIEVER_URL"
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


class LuceneRetriever:
    """BM25 search over a Lucene index in this process, through pyjnius.

    Queries are analyzed and built exactly as pyserini's ``LuceneSearcher`` does (Anserini's English
    analyzer and bag-of-words query, BM25 k1 0.9, b 0.4), and score ties are broken by passage id as it
    does, so rankings are the same. The search itself goes to Lucene's ``IndexSearcher`` with a collector
    that prunes (skips documents that cannot reach the top k) from the first hit on. A batch runs inside
    the JVM on ``threads`` Java threads (default: one per core the JVM may use), with no Python per
    query (``envs.search.lucene_batch``).

    Indexes of at most ``preload_max_docs`` passages have their ids and texts read into this process once,
    at start (about 5 s and 50 MB for 200k short passages), so that a hit costs no call into Java; larger
    ones fetch each hit's stored fields from Lucene.
    """

    def __init__(
        self,
        index_dir: str | Path,
        threads: int | None = None,
        k1: float = 0.9,
        b: float = 0.4,
        *,
        preload_max_docs: int = 500_000,
    ):
        from envs.search.jvm import java_class, start_jvm

        start_jvm()  # before importing jnius, which would start a JVM without Anserini's jar
        from jnius import cast

        from envs.search.lucene_batch import BatchSearcher

        index_dir = Path(index_dir)
        if not index_dir.is_dir():
            raise FileNotFoundError(f"index directory not found: {index_dir}")
        if threads is None:  # the JVM's count honours a container's CPU limit
            threads = int(java_class("java.lang.Runtime").getRuntime().availableProcessors())
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an int >= 1, got {threads!r}")
        if (
            isinstance(preload_max_docs, bool)
            or not isinstance(preload_max_docs, int)
            or preload_max_docs < 0
        ):
            raise ValueError(f"preload_max_docs must be an int >= 0, got {preload_max_docs!r}")
        self.index_dir, self.threads = index_dir, threads
        directory = java_class("org.apache.lucene.store.FSDirectory").open(
            java_class("java.nio.file.Paths").get(str(index_dir.resolve()))
        )
        self._reader = java_class("org.apache.lucene.index.DirectoryReader").open(directory)
        searcher = java_class("org.apache.lucene.search.IndexSearcher")(
            cast("org.apache.lucene.index.IndexReader", self._reader)
        )
        searcher.setSimilarity(java_class("org.apache.lucene.search.similarities.BM25Similarity")(k1, b))
        self._batch = BatchSearcher(
            searcher,
            java_class("io.anserini.search.query.BagOfWordsQueryGenerator")(),
            java_class("io.anserini.analysis.DefaultEnglishAnalyzer").newDefaultInstance(),
            "contents",
            threads,
        )
        self._ids: list[str] | None = None
        self._contents: list[str] | None = None
        self.id_ordered = False  # documents in passage-id order: Lucene breaks score ties as pyserini
        if len(self) <= preload_max_docs and int(self._reader.maxDoc()) == len(self):
            self._preload()

    def __len__(self) -> int:
        return int(self._reader.numDocs())

    def _preload(self) -> None:
        """Read every passage's id and text once, indexed by Lucene document number."""
        stored = self._reader.storedFields()
        ids, contents = [], []
        for doc in range(int(self._reader.maxDoc())):
            pid, text = _fields(stored.document(doc))
            ids.append(pid)
            contents.append(text)
        self._ids, self._contents = ids, contents
        self.id_ordered = all(a < b for a, b in zip(ids, ids[1:], strict=False))

    def _passages(self, query: str, topk: int, hits: list[tuple[float, int]], n: int) -> list[Passage]:
        """The top ``topk`` of ``n`` hits, ties broken by passage id; searches deeper when ties reach the n-th."""
        ids, contents = self._ids, self._contents
        if self.id_ordered and ids is not None and contents is not None:
            return [Passage(ids[d], contents[d], s) for s, d in hits]  # Lucene's order is pyserini's
        # Every document scoring at least the k-th score is in hits unless the n-th ties with it.
        while len(hits) == n and hits[-1][0] == hits[topk - 1][0] and n < 100_000:
            n *= 4
            hits = self._batch.search(query, n)
        if not hits:
            return []
        last = hits[min(topk, len(hits)) - 1][0]
        if ids is not None and contents is not None:
            ranked = sorted(((s, d) for s, d in hits if s >= last), key=lambda h: (-h[0], ids[h[1]]))
            return [Passage(ids[d], contents[d], s) for s, d in ranked[:topk]]
        stored = self._reader.storedFields()
        docs = [(score, _fields(stored.document(doc))) for score, doc in hits if score >= last]
        docs.sort(key=lambda h: (-h[0], h[1][0]))  # ties by passage id, as Anserini
        return [Passage(pid, text, score) for score, (pid, text) in docs[:topk]]

    def search(self, query: str, topk: int = 3) -> list[Passage]:
        return self.batch_search([query], topk)[0]

    def batch_search(self, queries: Sequence[str], topk: int = 3) -> list[list[Passage]]:
        check_request(queries, topk)
        # Lucene's top k is pyserini's in an id-ordered index; else a margin for ties at the k-th place.
        n = topk if self.id_ordered else topk + 8
        unique = list(dict.fromkeys(queries))  # rollouts repeat queries
        found = self._batch.batch_search(unique, n)
        ranked = {q: self._passages(q, topk, hits, n) for q, hits in zip(unique, found, strict=True)}
        return [list(ranked[q]) for q in queries]

    def close(self) -> None:
        self._batch.close()
        self._reader.close()


def _fields(doc: Any) -> tuple[str, str]:
    """A Lucene document's (id, contents); indexes that store only the raw JSON give its "contents"."""
    contents = doc.get("contents")
    if contents is None:
        raw = doc.get("raw") or ""
        try:
            contents = json.loads(raw).get("contents", raw)
        except (json.JSONDecodeError, AttributeError):
            contents = raw
    return doc.get("id"), contents


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


def _detail(resp: Any) -> str:
    try:
        return str(resp.json()["detail"])[:500]
    except Exception:
        return resp.text[:500]


class RetrieverClient:
    """The retriever interface over HTTP, against ``toolgym retriever serve`` or Search-R1's server.

    ``url`` is the service's base URL (a trailing ``/retrieve`` is accepted). A service that cannot be
    reached, times out or fails raises ``InfraError``, never an empty result; a request the service
    rejects (4xx) raises ``ValueError`` with its message.
    """

    def __init__(self, url: str, timeout: float = 30.0):
        import httpx

        self.url = url.rstrip("/").removesuffix("/retrieve")
        self._httpx = httpx
        self._client = httpx.Client(timeout=timeout)

    def search(self, query: str, topk: int = 3) -> list[Passage]:
        return self.batch_search([query], topk)[0]

    def batch_search(self, queries: Sequence[str], topk: int = 3) -> list[list[Passage]]:
        check_request(queries, topk)
        payload = {"queries": list(queries), "topk": topk, "return_scores": True}
        try:
            resp = self._client.post(f"{self.url}/retrieve", json=payload)
        except self._httpx.HTTPError as exc:
            raise InfraError(f"retriever at {self.url} unreachable: {type(exc).__name__}: {exc}") from exc
        if resp.status_code == 400:  # the service refused a query (see check_request)
            raise QueryError(f"retriever rejected the query: {_detail(resp)}")
        if 400 <= resp.status_code < 500:
            raise ValueError(f"retriever rejected the request ({resp.status_code}): {resp.text[:500]}")
        if resp.status_code != 200:
            raise InfraError(f"retriever at {self.url} failed ({resp.status_code}): {resp.text[:500]}")
        try:
            result = resp.json()["result"]
            ranked = [[_parse_hit(h) for h in hits] for hits in result]
        except (ValueError, KeyError, TypeError) as exc:
            raise InfraError(
                f"retriever at {self.url} sent a malformed response: {resp.text[:200]!r}"
            ) from exc
        if len(ranked) != len(queries):
            raise InfraError(f"retriever at {self.url} answered {len(ranked)} of {len(queries)} queries")
        return ranked

    def health(self) -> dict[str, Any]:
        """The service's ``GET /health``; raises ``InfraError`` when it is down."""
        try:
            resp = self._client.get(f"{self.url}/health")
            resp.raise_for_status()
            return resp.json()
        except self._httpx.HTTPError as exc:
            raise InfraError(f"retriever at {self.url} is not healthy: {exc}") from exc

    def close(self) -> None:
        self._client.close()


def _parse_hit(hit: dict[str, Any]) -> Passage:
    """One hit of Search-R1's JSON: ``{"document": {"id", "contents"}, "score"}``."""
    doc = hit["document"]
    return Passage(str(doc["id"]), str(doc["contents"]), float(hit["score"]))


_embedded: dict[Path, LuceneRetriever] = {}
_embedded_lock = threading.Lock()


def get_retriever(url: str | None = None, index_dir: str | Path | None = None) -> Retriever:
    """A client when ``url`` or env ``TOOLGYM_RETRIEVER_URL`` is set, else the embedded retriever.

    The embedded one searches ``index_dir``, by default the generated knowledge base's index (built
    into the cache on first use). One embedded retriever per index is shared in a process.
    """
    url = url or os.environ.get(RETRIEVER_URL_ENV)
    if url:
        return RetrieverClient(url)
    if index_dir is None:
        from envs.search.index import default_index_dir

        index_dir = default_index_dir()
    key = Path(index_dir).resolve()
    with _embedded_lock:
        if key not in _embedded:
            _embedded[key] = LuceneRetriever(key)
        return _embedded[key]
