"""The viewer's web server, a FastAPI app: the page, its assets, and a JSON API over the runs given
(sources are named by number, never by path, so nothing outside them can be asked for) and the
playground. Query parameters and bodies are typed; a bad value is FastAPI's 422, whose ``detail``
lists each bad field by its location (``["query", "limit"]``) with the reason.

The app serves no OpenAPI schema or docs pages (``openapi_url=None``): nothing builds the schema.
"""

import contextlib
import math
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents.view.compare import CHANGES, Pairing
from agents.view.episode import TokenTexts, episode_view, load_token_texts
from agents.view.index import EpisodeIndex
from agents.view.play import MAX_TURN_CHARS, PlayError, Playground
from agents.view.query import SORT_KEYS, Filter, Selector, rows
from agents.view.runs import Run, Source, curves
from agents.view.summary import summarize_index

#: Hosts the server answers to: a page from any other name (DNS rebinding) gets a 400.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: The page's assets, by name.
ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}
MAX_PAGE = 500
#: The largest request body read (a playground turn of ``MAX_TURN_CHARS`` characters, JSON-escaped).
MAX_BODY_BYTES = 8 * MAX_TURN_CHARS
_SEED_MAX = 2**63 - 1

SortKey = Literal[SORT_KEYS]  # type: ignore[valid-type]
Change = Literal[CHANGES]  # type: ignore[valid-type]


def asset(name: str) -> str:
    """The text of one of the page's files (``index.html``, ``app.js``, ``style.css``)."""
    return resources.files("agents.view").joinpath("static", name).read_text(encoding="utf-8")


def clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


class SummaryCache:
    """Summaries of filtered selections, the last few kept."""

    def __init__(self, keep: int = 16):
        self._cache: dict[tuple, dict[str, Any]] = {}
        self._keep = keep
        self._lock = threading.Lock()

    def get(self, index: EpisodeIndex, flt: Filter, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        key = (id(index), index.generation, flt)
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = compute()
            with self._lock:
                if len(self._cache) >= self._keep:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = hit
        return hit


@dataclass
class Viewer:
    """The server's state: the sources with their indexes, the runs, the playground."""

    sources: list[Source]
    runs: list[Run]
    indexes: dict[str, EpisodeIndex]
    tokenizer: Path | None = None
    playground: Playground | None = None
    play_env: dict[str, Any] | None = None
    selector: Selector = field(default_factory=Selector)
    summaries: SummaryCache = field(default_factory=SummaryCache)
    _texts: dict[Path, TokenTexts | str] = field(default_factory=dict)
    _pairings: dict[tuple, Pairing] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """Start indexing every file not indexed yet (in the background; a no-op for those started)."""
        for index in self.indexes.values():
            index.start()

    def source(self, sid: str) -> tuple[Source, EpisodeIndex]:
        for s in self.sources:
            if s.id == sid:
                return s, self.indexes[sid]
        raise HTTPException(404, f"no source {sid!r}")

    def run(self, rid: str) -> Run:
        for r in self.runs:
            if r.id == rid:
                return r
        raise HTTPException(404, f"no run {rid!r}")

    def texts(self, source: Source) -> tuple[TokenTexts | None, str]:
        """The token decoder for a source (its run's final tokenizer, else ``--tokenizer``), or why none."""
        run = next((r for r in self.runs if r.id == source.run), None)
        path = run.tokenizer if run is not None and run.tokenizer is not None else self.tokenizer
        if path is None:
            return None, ""
        with self._lock:
            if path not in self._texts:
                try:
                    self._texts[path] = load_token_texts(path)
                except Exception as exc:  # a missing package, file or a bad tokenizer: shown, not fatal
                    self._texts[path] = f"token texts unavailable: {exc}"
            got = self._texts[path]
        return (None, got) if isinstance(got, str) else (got, "")

    def pairing(self, a: str, b: str) -> Pairing:
        (_, ia), (_, ib) = self.source(a), self.source(b)
        key = (a, b, ia.generation, ib.generation)
        with self._lock:
            if key not in self._pairings:
                self._pairings.clear()
                self._pairings[key] = Pairing(ia, ib)
            return self._pairings[key]

    def config(self) -> dict[str, Any]:
        return {
            "mode": "server",
            "sources": [
                {"id": s.id, "label": s.label, "run": s.run, **self.indexes[s.id].status()}
                for s in self.sources
            ],
            "runs": [
                {"id": r.id, "label": r.label, "curves": r.history is not None, "files": sorted(r.files)}
                for r in self.runs
            ],
            "play": self.playground is not None,
            "play_env": self.play_env,
            "sort_keys": SORT_KEYS,
        }


# -- requests ------------------------------------------------------------------------------------


def episode_filter(
    env: str | None = None,
    task: str | None = None,
    success: bool | None = None,
    error: bool | None = None,
    format_error: bool | None = None,
    truncated: bool | None = None,
    reward_min: float | None = None,
    reward_max: float | None = None,
    turns_min: int | None = None,
    turns_max: int | None = None,
    tools_min: int | None = None,
    tools_max: int | None = None,
) -> Filter:
    """The episode filter of the query string."""
    return Filter(
        env, task, success, error, format_error, truncated, reward_min, reward_max,
        turns_min, turns_max, tools_min, tools_max,
    )  # fmt: skip


FilterQuery = Annotated[Filter, Depends(episode_filter)]
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]


class StartBody(BaseModel):
    """A ``/api/play/start`` body: the arguments of ``Playground.start``."""

    model_config = ConfigDict(strict=True, extra="forbid")

    env_id: str
    seed: Annotated[int, Field(ge=0, le=_SEED_MAX)] | None = None
    protocol: str | None = None
    difficulty: float | None = None


class StepBody(BaseModel):
    """A ``/api/play/{session}/step`` body: the turn."""

    model_config = ConfigDict(strict=True, extra="forbid")

    text: Annotated[str, Field(max_length=MAX_TURN_CHARS)]


# -- the app ---------------------------------------------------------------------------------------


class LocalOnly:
    """ASGI middleware: a request whose Host is not one of ``allowed_hosts`` is a 400 (DNS rebinding);
    every response says ``X-Content-Type-Options: nosniff``. (Starlette's ``TrustedHostMiddleware``
    reads an IPv6 Host such as ``[::1]:8765`` wrong.)"""

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str]):
        self.app, self.allowed_hosts = app, allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _host(Headers(scope=scope).get("host", ""))
        if host not in self.allowed_hosts:
            await JSONResponse({"detail": f"host {host!r} not served"}, status_code=400)(scope, receive, send)
            return

        async def nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, nosniff)


def _json(value: Any) -> JSONResponse:
    return JSONResponse(clean(value))


def create_app(viewer: Viewer, allowed_hosts: frozenset[str] = LOCAL_HOSTS) -> FastAPI:
    """The app over ``viewer``'s runs; indexing starts (for files not started yet) as it starts up."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        viewer.start()
        yield

    app = FastAPI(
        title="toolgym view",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
    app.add_middleware(LocalOnly, allowed_hosts=allowed_hosts)
    app.add_exception_handler(PlayError, _play_error)
    app.state.viewer = viewer

    @app.get("/")
    def page() -> Response:
        return HTMLResponse(asset("index.html"))

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, "no such asset")
        return Response(asset(name), media_type=ASSETS[name])

    @app.get("/api/config")
    def config() -> Response:
        return _json(viewer.config())

    @app.get("/api/sources/{sid}/status")
    def status(sid: str) -> Response:
        return _json(viewer.source(sid)[1].status())

    @app.get("/api/sources/{sid}/episodes")
    def episodes(
        sid: str,
        flt: FilterQuery,
        offset: Offset = 0,
        limit: Limit = 50,
        sort: SortKey = "line",
        desc: bool = False,
    ) -> Response:
        _, index = viewer.source(sid)
        positions = viewer.selector.select(index, flt, sort, desc)
        return _json(
            {
                "total": len(positions),
                "offset": offset,
                "limit": limit,
                "rows": rows(index, positions[offset : offset + limit]),
                "status": index.status(),
            }
        )

    @app.get("/api/sources/{sid}/summary")
    def source_summary(sid: str, flt: FilterQuery) -> Response:
        _, index = viewer.source(sid)
        if not index.done:  # computed once the whole file is indexed
            return _json({"pending": True, "k": 1, "rows": [], "episodes": len(index)})
        if flt == Filter():
            return _json({**(index.summary() or {}), "filtered": False})
        summary = viewer.summaries.get(
            index, flt, lambda: summarize_index(index, viewer.selector.select(index, flt))
        )
        return _json({**summary, "filtered": True})

    @app.get("/api/sources/{sid}/episodes/{pos}")
    def episode(sid: str, pos: int) -> Response:
        source, index = viewer.source(sid)
        try:
            rec = index.read(pos)
        except IndexError as exc:
            raise HTTPException(404, str(exc)) from exc
        except (ValueError, OSError) as exc:
            raise HTTPException(409, str(exc)) from exc
        texts, note = viewer.texts(source)
        view = episode_view(rec, texts)
        if note and view["tokens"].get("available"):
            view["tokens"]["note"] = note
        cols = index.columns()
        view.update(id=pos, line=int(cols["line"][pos]), source=sid)
        return _json(view)

    @app.get("/api/sources/{sid}/bad-lines")
    def bad_lines(sid: str) -> Response:
        _, index = viewer.source(sid)
        return _json(
            {"count": index.bad_count, "lines": [{"line": b.line, "error": b.error} for b in index.bad_lines]}
        )

    @app.get("/api/compare")
    def compare(
        a: str,
        b: str,
        offset: Offset = 0,
        limit: Limit = 50,
        change: Change | None = None,
        env: str | None = None,
        task: str | None = None,
    ) -> Response:
        pairing = viewer.pairing(a, b)
        pairs = pairing.select(change, env or None, task or None)
        return _json(
            {
                "total": len(pairs),
                "offset": offset,
                "limit": limit,
                "counts": pairing.counts(),
                "rows": pairing.rows(pairs[offset : offset + limit]),
            }
        )

    @app.get("/api/runs/{rid}/curves")
    def run_curves(rid: str) -> Response:
        run = viewer.run(rid)
        if run.history is None:
            raise HTTPException(404, f"run {run.label} has no log_history.json")
        try:
            return _json(curves(run.history))
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc

    @app.get("/api/runs/{rid}/files/{name}")
    def run_file(rid: str, name: str) -> Response:
        run = viewer.run(rid)
        if name not in run.files:  # only the files listed when the run was found, by name
            raise HTTPException(404, f"no file {name!r} in run {run.label}")
        return FileResponse(run.files[name])

    @app.get("/api/play/envs")
    def play_envs() -> Response:
        return _json(_playground(viewer).envs())

    @app.post("/api/play/start")
    def play_start(body: StartBody) -> Response:
        with _env_failures("reset"):
            return _json(_playground(viewer).start(**body.model_dump()))

    @app.post("/api/play/{session}/step")
    def play_step(session: str, body: StepBody) -> Response:
        with _env_failures("step"):
            return _json(_playground(viewer).step(session, body.text))

    return app


async def _play_error(_request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": str(exc)}, status_code=400)


@contextlib.contextmanager
def _env_failures(what: str) -> Iterator[None]:
    """An env that fails (a service down, a missing index) is a 500 whose detail says why."""
    try:
        yield
    except (PlayError, HTTPException):
        raise
    except Exception as exc:
        raise HTTPException(500, f"the env's {what} failed: {type(exc).__name__}: {exc}"[:500]) from exc


def _host(header: str) -> str:
    """The name in a Host header, without its port (``[::1]:8000`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _playground(viewer: Viewer) -> Playground:
    if viewer.playground is None:
        raise HTTPException(404, "the playground is off")
    return viewer.playground


def make_viewer(
    paths: list[str | Path],
    tokenizer: str | Path | None = None,
    play: bool = True,
    play_env: dict[str, Any] | None = None,
    cache: Path | None = None,
    start: bool = True,
) -> Viewer:
    """The runs of ``paths`` with their indexes opened: from the cache, else built in the background,
    starting now or (``start=False``) at ``Viewer.start``, which the app calls as it starts serving."""
    from agents.view.runs import discover

    sources, runs = discover(paths) if paths else ([], [])
    if tokenizer is not None and not Path(tokenizer).exists():
        raise FileNotFoundError(f"no such tokenizer: {tokenizer}")
    indexes = {s.id: EpisodeIndex.open(s.path, cache, start=start) for s in sources}
    kwargs = {play_env["env_id"]: play_env.get("kwargs", {})} if play_env else {}
    return Viewer(
        sources,
        runs,
        indexes,
        tokenizer=Path(tokenizer) if tokenizer is not None else None,
        playground=Playground(kwargs) if play else None,
        play_env=play_env,
    )
