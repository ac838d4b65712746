"""The retriever as a FastAPI service that speaks Search-R1's ``/retrieve`` JSON.

``POST /retrieve`` takes ``{"queries": [...], "topk": 3, "return_scores": true}`` and answers
``{"result": [[{"document": {"id", "contents"}, "score"}, ...], ...]}`` (without ``return_scores``, each
hit is the bare document), so Search-R1 and verl-tool code can point at it unchanged. ``GET /health``
reports the index. The JVM starts when the app starts, in the serving process.
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

from envs.search.retriever import CachedRetriever, Passage, Retriever, check_request

DEFAULT_TOPK = 3


class RetrieveRequest(BaseModel):
    """Search-R1's request body; ``topk`` defaults to 3."""

    model_config = ConfigDict(extra="ignore")
    queries: list[str]
    topk: int | None = None
    return_scores: bool = False


def _hit(p: Passage, with_score: bool) -> dict[str, Any]:
    document = {"id": p.id, "contents": p.contents}
    return {"document": document, "score": p.score} if with_score else document


def create_app(
    index_dir: str | Path | None = None,
    *,
    retriever: Retriever | None = None,
    cache_size: int = 0,
    threads: int | None = None,
) -> FastAPI:
    """The FastAPI app over ``retriever``, or over a ``LuceneRetriever`` of ``index_dir`` opened at startup."""
    if (index_dir is None) == (retriever is None):
        raise ValueError("give exactly one of index_dir and retriever")
    if not isinstance(cache_size, int) or cache_size < 0:
        raise ValueError(f"cache_size must be an int >= 0, got {cache_size!r}")
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        inner = retriever
        if inner is None:
            from envs.search.retriever import LuceneRetriever

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
            check_request(req.queries, topk)
            ranked = state["retriever"].batch_search(req.queries, topk)
        except ValueError as exc:  # a bad request, or a query Lucene refuses (too many terms)
            return JSONResponse({"detail": str(exc)}, status_code=400)
        body = {"result": [[_hit(p, req.return_scores) for p in hits] for hits in ranked]}
        return Response(orjson.dumps(body), media_type="application/json")

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
) -> None:
    """Run the service in this process (blocking) until interrupted."""
    import uvicorn

    if not Path(index_dir).is_dir():
        raise FileNotFoundError(f"index directory not found: {index_dir}")
    app = create_app(index_dir, cache_size=cache_size, threads=threads)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
