"""Lucene top-n searches of a whole batch inside the JVM, on every core, with no Python per query.

One query's work (analyze the text, build the bag-of-words query, search with a collector that prunes
from the first n hits on, format the hits) is composed from Java method handles into a single
``java.util.function.Function``, so it runs without calling back into Python. A batch is a parallel
stream of that function on a ``ForkJoinPool`` and comes back as one string: one call into Java per
batch, during which pyjnius releases the GIL. A single query calls the function directly.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from retrieval.api import QueryError
from retrieval.jvm import java_class

# Lucene's ScoreDoc.toString(): "doc=12 score=3.4567 shardIndex=-1"; Arrays.toString wraps a list.
_HIT = re.compile(r"doc=(\d+) score=(\S+?) shardIndex")
_SEPARATOR = "\n"


class QueryTooLargeError(QueryError):
    """A query Lucene refuses to run (more distinct terms than a boolean query may hold)."""


class BatchSearcher:
    """Top-``n`` (score, Lucene doc) lists for a batch of query strings, searched on ``threads`` Java threads.

    ``searcher`` is a Lucene ``IndexSearcher``; queries are built by ``query_generator.buildQuery(field,
    analyzer, text)`` (Anserini's generators). Hits are best first; equal scores come in Lucene doc order.
    """

    def __init__(self, searcher: Any, query_generator: Any, analyzer: Any, field: str, threads: int):
        from jnius import cast

        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an int >= 1, got {threads!r}")
        self.threads = threads
        self._cast = cast
        self._handles = java_class("java.lang.invoke.MethodHandles")
        self._type = java_class("java.lang.invoke.MethodType")
        self._lookup = self._handles.publicLookup()
        self._arrays = java_class("java.util.Arrays")
        self._proxies = java_class("java.lang.invoke.MethodHandleProxies")
        self._integer = java_class("java.lang.Integer")
        self._searcher, self._generator = searcher, query_generator
        self._analyzer, self._field = analyzer, field
        self._pool = java_class("java.util.concurrent.ForkJoinPool")(threads)
        self._functions: dict[int, Any] = {}
        self._batch_tasks: dict[int, Any] = {}
        self._batch_input = java_class("java.util.concurrent.atomic.AtomicReference")()
        self._batch_lock = threading.Lock()
        self._build_lock = threading.RLock()  # threads searching at once build the handles once

    def _class(self, name: str) -> Any:
        return java_class("java.lang.Class").forName(name)

    def _method_type(self, returns: Any, *params: Any) -> Any:
        return self._type.methodType(returns, list(params))

    def _function(self, n: int) -> Any:
        """``Function<String, String>``: query text to its top-``n`` hits as ``Arrays.toString(scoreDocs)``."""
        if n not in self._functions:
            with self._build_lock:
                if n not in self._functions:
                    self._functions[n] = self._build_function(n)
        return self._functions[n]

    def _build_function(self, n: int) -> Any:
        mh, mt, lookup, cls = self._handles, self._method_type, self._lookup, self._class
        string, obj = cls("java.lang.String"), cls("java.lang.Object")
        query, manager = (
            cls("org.apache.lucene.search.Query"),
            cls("org.apache.lucene.search.CollectorManager"),
        )
        score_doc, int_type = cls("org.apache.lucene.search.ScoreDoc"), self._integer.TYPE
        # (String) -> Query
        build = lookup.findVirtual(
            self._generator.getClass(), "buildQuery",
            mt(query, string, cls("org.apache.lucene.analysis.Analyzer"), string),
        )  # fmt: skip
        build = mh.insertArguments(build, 0, self._generator, self._field, self._analyzer)
        # () -> a fresh collector manager: top n, pruning once n hits are in (one per query: it holds state)
        n_obj = self._integer(n)
        new_manager = lookup.findStatic(
            cls("org.apache.lucene.search.TopScoreDocCollector"), "createSharedManager",
            mt(manager, int_type, score_doc, int_type),
        )  # fmt: skip
        new_manager = mh.insertArguments(mh.insertArguments(new_manager, 2, n_obj), 0, n_obj)
        new_manager = mh.collectArguments(new_manager, 0, mh.zero(score_doc))
        # (Query) -> TopDocs, then (String) -> TopDocs
        search = lookup.findVirtual(
            cls("org.apache.lucene.search.IndexSearcher"), "search", mt(obj, query, manager)
        ).bindTo(self._searcher)
        search = mh.filterArguments(mh.collectArguments(search, 1, new_manager), 0, build)
        # TopDocs -> String
        object_array = cls("[Ljava.lang.Object;")
        hits = lookup.findGetter(
            cls("org.apache.lucene.search.TopDocs"), "scoreDocs", cls("[Lorg.apache.lucene.search.ScoreDoc;")
        ).asType(mt(object_array, obj))
        to_string = lookup.findStatic(cls("java.util.Arrays"), "toString", mt(string, object_array))
        pipeline = mh.filterReturnValue(search, mh.filterReturnValue(hits, to_string))
        function = self._proxies.asInterfaceInstance(
            cls("java.util.function.Function"), pipeline.asType(mt(obj, obj))
        )
        return self._cast("java.util.function.Function", function)

    def _batch_task(self, n: int) -> Any:
        """A ``Callable<String>``: the parallel stream of the batch in ``self._batch_input``, lines joined.

        Made once per ``n``; each batch is handed over through the holder, so a batch makes no new
        method handles or proxies in the JVM.
        """
        if n not in self._batch_tasks:
            with self._build_lock:
                if n not in self._batch_tasks:
                    self._batch_tasks[n] = self._build_batch_task(n)
        return self._batch_tasks[n]

    def _build_batch_task(self, n: int) -> Any:
        mh, mt, lookup, cls = self._handles, self._method_type, self._lookup, self._class
        stream, obj = cls("java.util.stream.Stream"), cls("java.lang.Object")
        collection = cls("java.util.Collection")
        batch = lookup.findVirtual(cls("java.util.concurrent.atomic.AtomicReference"), "get", mt(obj)).bindTo(
            self._batch_input
        )
        parallel = lookup.findVirtual(collection, "parallelStream", mt(stream)).asType(mt(stream, obj))
        mapped = mh.insertArguments(
            lookup.findVirtual(stream, "map", mt(stream, cls("java.util.function.Function"))), 1, self._function(n)
        )  # fmt: skip
        joining = java_class("java.util.stream.Collectors").joining(
            self._cast("java.lang.CharSequence", java_class("java.lang.String")(_SEPARATOR))
        )
        collect = mh.insertArguments(
            lookup.findVirtual(stream, "collect", mt(obj, cls("java.util.stream.Collector"))), 1, joining
        )
        task = mh.filterReturnValue(
            mh.filterReturnValue(mh.filterReturnValue(batch, parallel), mapped), collect
        )
        callable_ = self._proxies.asInterfaceInstance(cls("java.util.concurrent.Callable"), task)
        return self._cast("java.util.concurrent.Callable", callable_)

    def search(self, query: str, n: int) -> list[tuple[float, int]]:
        """The top ``n`` hits of one query, searched on the calling thread."""
        try:
            return _parse(self._function(n).apply(query))
        except Exception as exc:
            raise _query_error(exc, query) from exc

    def batch_search(self, queries: Sequence[str], n: int) -> list[list[tuple[float, int]]]:
        """The top ``n`` hits of each query; the batch is spread over the pool's threads."""
        if len(queries) == 1 or self.threads == 1:
            return [self.search(q, n) for q in queries]
        task = self._batch_task(n)
        with self._batch_lock:  # one batch at a time uses the holder (and every core)
            self._batch_input.set(self._arrays.asList(*queries))
            try:
                text = self._pool.submit(task).get()
            except Exception:  # one bad query fails the stream: find it, with its own message
                return [self.search(q, n) for q in queries]
            finally:
                self._batch_input.set(None)
        lines = text.split(_SEPARATOR)
        if len(lines) != len(queries):
            raise RuntimeError(f"batch search returned {len(lines)} results for {len(queries)} queries")
        return _parse_lines(lines)

    def close(self) -> None:
        self._pool.shutdown()


def _parse(text: str) -> list[tuple[float, int]]:
    """``Arrays.toString(scoreDocs)`` to (score, doc) pairs; scores are Lucene's float32 values exactly."""
    return _parse_lines([text])[0]


def _parse_lines(lines: list[str]) -> list[list[tuple[float, int]]]:
    """Each line's (score, doc) pairs, with one float32 conversion for all of them."""
    found = [_HIT.findall(line) for line in lines]
    for line, hits in zip(lines, found, strict=True):
        if not hits and line != "[]":  # never read a format we do not know as "no hits"
            raise RuntimeError(f"unexpected hit list from Lucene: {line[:200]!r}")
    scores = iter(np.array([s for hits in found for _, s in hits], dtype=np.float32).tolist())
    return [[(next(scores), int(doc)) for doc, _ in hits] for hits in found]


def _query_error(exc: Exception, query: str) -> Exception:
    """A query Lucene refuses becomes a ``QueryTooLargeError``; anything else is re-raised as it is."""
    if "TooManyClauses" in str(exc) or "maxClauseCount" in str(exc):
        return QueryTooLargeError(
            f"query has too many distinct terms for Lucene (at most 1024): {query[:80]!r}..."
        )
    return exc
