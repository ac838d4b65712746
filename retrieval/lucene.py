"""BM25 search over a Lucene index in this process, through Anserini and pyjnius."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retrieval.api import Passage, check_request


class LuceneRetriever:
    """BM25 search over a Lucene index in this process, through pyjnius.

    Queries are analyzed and built exactly as pyserini's ``LuceneSearcher`` does (Anserini's English
    analyzer and bag-of-words query, BM25 k1 0.9, b 0.4), and score ties are broken by passage id as it
    does, so rankings are the same. The search itself goes to Lucene's ``IndexSearcher`` with a collector
    that prunes (skips documents that cannot reach the top k) from the first hit on. A batch runs inside
    the JVM on ``threads`` Java threads (default: one per core the JVM may use), with no Python per
    query (``retrieval.lucene_batch``).

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
        from retrieval.jvm import java_class, start_jvm

        start_jvm()  # before importing jnius, which would start a JVM without Anserini's jar
        from jnius import cast

        from retrieval.lucene_batch import BatchSearcher

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
