"""The retriever as a FastAPI service that speaks Search-R1's ``/retrieve`` JSON.

``POST /retrieve`` takes ``{"queries": [...], "topk": 3, "return_scores": true}`` and answers
``{"result": [[{"document": {"id", "contents", "title", "text"}, "score"}, ...], ...]}`` (without
``return_scores``, each hit is the bare document), so Search-R1 and verl-tool code can point at it
unchanged. As Search-R1's own BM25 server does, an empty or blank query gets no hits (not an error), an
empty query list gets an empty result, and a document's ``title`` and ``text`` are its contents' first
line (quotes stripped) and the rest, present when the contents has a title line. A request of up to
``max_batch`` queries is searched in slices of at most ``MAX_BATCH``, so the retriever never holds more
than one slice's hits. ``GET /health`` reports the index. The JVM starts when the app starts, in the
serving process.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from retrieval.api import MAX_BATCH, CachedRetriever, Passage, Retriever, check_topk

DEFAULT_TOPK = 3
DEFAULT_MAX_BATCH = 16_384  # Search-R1's GRPO script sends 512 prompts x 5 samples = 2,560 at once


class RetrieveRequest(BaseModel):
    """Search-R1's request body; ``topk`` defaults to 3."""

    model_config = ConfigDict(extra="ignore")
    queries: list[str]
    topk: int | None = None
    return_scores: bool = False


def search_r1_document(p: Passage) -> dict[str, str]:
    """A passage as Search-R1's server gives it: ``id`` and ``contents``, and ``title`` and ``text``
    (the first line without its quotes, and the rest) when the contents has a title line."""
    document = {"id": p.id, "contents": p.contents}
    title, newline, text = p.contents.partition("\n")
    if newline:
        document["title"], document["text"] = title.strip('"'), text
    return document


def _hit(p: Passage, with_score: bool) -> dict[str, Any]:
    document = search_r1_document(p)
    return {"document": document, "score": p.score} if with_score else document


def check_max_batch(max_batch: int) -> None:
    """Reject a ``max_batch`` that is not an int >= 1."""
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise ValueError(f"max_batch must be an int >= 1, got {max_batch!r}")


def search_in_slices(
    retriever: Retriever, queries: list[str], topk: int, with_scores: bool, slice_size: int = MAX_BATCH
) -> bytes:
    """Search-R1's ``{"result": [...]}`` JSON for ``queries``, searched ``slice_size`` at a time; a blank
    query gets no hits without reaching the retriever."""
    parts = []
    for start in range(0, len(queries), slice_size):
        part = queries[start : start + slice_size]
        live = [q for q in part if q.strip()]
        found = iter(retriever.batch_search(live, topk) if live else ())
        ranked = [next(found) if q.strip() else [] for q in part]
        parts.append(orjson.dumps([[_hit(p, with_scores) for p in hits] for hits in ranked])[1:-1])
    return b'{"result":[' + b",".join(parts) + b"]}"


def create_app(
    index_dir: str | Path | None = None,
    *,
    retriever: Retriever | None = None,
    cache_size: int = 0,
    threads: int | None = None,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> FastAPI:
    """The FastAPI app over ``retriever``, or over a ``LuceneRetriever`` of ``index_dir`` opened at startup.

    A request of more than ``max_batch`` queries gets 400.
    """
    if (index_dir is None) == (retriever is None):
        raise ValueError("give exactly one of index_dir and retriever")
    if not isinstance(cache_size, int) or cache_size < 0:
        raise ValueError(f"cache_size must be an int >= 0, got {cache_size!r}")
    check_max_batch(max_batch)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        inner = retriever
        if inner is None:
            from retrieval.lucene import LuceneRetriever

            inner = LuceneRetriever(index_dir, threads=threads)  # type: ignore[arg-type]
        state["retriever"] = CachedRetriever(inner, cache_size) if cache_size else inner
        state["inner"] = inner
        yield
        state.clear()

    app = FastAPI(title="toolgym retriever", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e.get('loc', ())[1:]) or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        )
        return JSONResponse(
            {"detail": f"bad request: {problems}. Expected JSON like "
             '{"queries": ["..."], "topk": 3, "return_scores": true}'},
            status_code=422,
        )  # fmt: skip

    @app.post("/retrieve")
    async def retrieve(req: RetrieveRequest) -> Response:
        topk = DEFAULT_TOPK if req.topk is None else req.topk
        try:
            check_topk(topk)
            if len(req.queries) > max_batch:
                raise ValueError(
                    f"queries: at most {max_batch} in one request (the server's --max-batch), "
                    f"got {len(req.queries)}"
                )
            body = search_in_slices(state["retriever"], req.queries, topk, req.return_scores)
        except ValueError as exc:  # a bad request, or a query Lucene refuses (too many terms)
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return Response(body, media_type="application/json")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        inner = state.get("inner")
        info: dict[str, Any] = {"status": "ok" if inner is not None else "starting"}
        if inner is not None and hasattr(inner, "index_dir"):
            info["index"] = str(inner.index_dir)
            info["documents"] = len(inner)
        cached = state.get("retriever")
        if isinstance(cached, CachedRetriever):
            info["cache"] = {"size": cached.size, "hits": cached.hits, "misses": cached.misses}
        return info

    return app


def serve(
    index_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    cache_size: int = 0,
    threads: int | None = None,
    log_level: str = "warning",
    max_batch: int = DEFAULT_MAX_BATCH,
) -> None:
    """Run the service in this process (blocking) until interrupted."""
    import uvicorn

    if not Path(index_dir).is_dir():
        raise FileNotFoundError(f"index directory not found: {index_dir}")
    app = create_app(index_dir, cache_size=cache_size, threads=threads, max_batch=max_batch)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
