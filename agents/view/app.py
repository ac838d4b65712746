"""The viewer's web server, a Starlette app: the page, its assets, and a JSON API over the runs given
(sources are named by number, never by path, so nothing outside them can be asked for) and the
playground. Query strings and bodies are checked here; a bad value is a 422 whose ``detail`` is one
line naming the field.

Starlette rather than FastAPI: the page's API is a dozen routes, and FastAPI's import (its OpenAPI
models built through pydantic) was about half of the CPU time from ``toolgym view`` to its first page.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
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


# -- request checking ------------------------------------------------------------------------------

_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


def _bad(name: str, want: str, got: Any) -> HTTPException:
    return HTTPException(422, f"{name} must be {want}, got {got!r}"[:300])


class Params:
    """Typed values of a query string; a value that does not parse is a 422 naming the parameter."""

    def __init__(self, query: QueryParams):
        self.query = query

    def str(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, default)

    def int(self, name: str, default: int | None = None, lo: int | None = None, hi: int | None = None) -> Any:
        raw = self.query.get(name)
        if raw is None:
            return default
        want = "an integer" + (f" in [{lo}, {hi}]" if lo is not None and hi is not None else "")
        if lo is not None and hi is None:
            want += f" >= {lo}"
        try:
            value = int(raw)
        except ValueError:
            raise _bad(name, want, raw) from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise _bad(name, want, raw)
        return value

    def float(self, name: str) -> float | None:
        raw = self.query.get(name)
        if raw is None:
            return None
        try:
            return float(raw)
        except ValueError:
            raise _bad(name, "a number", raw) from None

    def bool(self, name: str, default: bool | None = None) -> Any:
        raw = self.query.get(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise _bad(name, "true or false", raw)

    def filter(self) -> Filter:
        """The episode filter of the query string."""
        return Filter(
            self.str("env"), self.str("task"), self.bool("success"), self.bool("error"),
            self.bool("format_error"), self.bool("truncated"), self.float("reward_min"),
            self.float("reward_max"), self.int("turns_min"), self.int("turns_max"),
            self.int("tools_min"), self.int("tools_max"),
        )  # fmt: skip

    def page(self) -> tuple[int, int]:
        """``offset`` and ``limit``."""
        return self.int("offset", 0, lo=0), self.int("limit", 50, lo=1, hi=MAX_PAGE)


async def _body(request: Request) -> dict[str, Any]:
    """The request's JSON object; a 422 when it is not one, a 413 past ``MAX_BODY_BYTES``."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY_BYTES:
            raise HTTPException(413, f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(422, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise HTTPException(422, f"the body must be a JSON object, got {type(body).__name__}")
    return body


def _field(
    body: dict[str, Any], name: str, kinds: tuple[type, ...], want: str, required: bool = False
) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise HTTPException(422, f"{name} is required ({want})")
        return None
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise _bad(name, want, value)
    return value


def start_body(body: dict[str, Any]) -> dict[str, Any]:
    """The arguments of ``Playground.start`` from a ``/api/play/start`` body."""
    seed = _field(body, "seed", (int,), f"an integer in [0, {_SEED_MAX}] or null")
    if seed is not None and not 0 <= seed <= _SEED_MAX:
        raise _bad("seed", f"an integer in [0, {_SEED_MAX}] or null", seed)
    difficulty = _field(body, "difficulty", (int, float), "a number or null")
    return {
        "env_id": _field(body, "env_id", (str,), "a string", required=True),
        "seed": seed,
        "protocol": _field(body, "protocol", (str,), "a string or null"),
        "difficulty": None if difficulty is None else float(difficulty),
    }


def step_text(body: dict[str, Any]) -> str:
    """The turn of a ``/api/play/{session}/step`` body."""
    text = _field(body, "text", (str,), f"a string of at most {MAX_TURN_CHARS} characters", required=True)
    if len(text) > MAX_TURN_CHARS:
        raise HTTPException(422, f"text must be at most {MAX_TURN_CHARS} characters, got {len(text)}")
    return text


# -- the app ---------------------------------------------------------------------------------------


class LocalOnly:
    """ASGI middleware: a request whose Host is not one of ``allowed_hosts`` is a 400 (DNS rebinding);
    every response says ``X-Content-Type-Options: nosniff``."""

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


def create_app(viewer: Viewer, allowed_hosts: frozenset[str] = LOCAL_HOSTS) -> Starlette:
    """The app over ``viewer``'s runs; indexing starts (for files not started yet) as it starts up."""

    def page(request: Request) -> Response:
        return HTMLResponse(asset("index.html"))

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            raise HTTPException(404, "no such asset")
        return Response(asset(name), media_type=ASSETS[name])

    def config(request: Request) -> Response:
        return _json(viewer.config())

    def status(request: Request) -> Response:
        return _json(viewer.source(request.path_params["sid"])[1].status())

    def episodes(request: Request) -> Response:
        _, index = viewer.source(request.path_params["sid"])
        q = Params(request.query_params)
        flt, (offset, limit) = q.filter(), q.page()
        sort, desc = q.str("sort", "line"), q.bool("desc", False)
        if sort not in SORT_KEYS:
            raise HTTPException(400, f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
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

    def source_summary(request: Request) -> Response:
        _, index = viewer.source(request.path_params["sid"])
        flt = Params(request.query_params).filter()
        if not index.done:  # computed once the whole file is indexed
            return _json({"pending": True, "k": 1, "rows": [], "episodes": len(index)})
        if flt == Filter():
            return _json({**(index.summary() or {}), "filtered": False})
        summary = viewer.summaries.get(
            index, flt, lambda: summarize_index(index, viewer.selector.select(index, flt))
        )
        return _json({**summary, "filtered": True})

    def episode(request: Request) -> Response:
        sid, raw = request.path_params["sid"], request.path_params["pos"]
        source, index = viewer.source(sid)
        try:
            pos = int(raw)
        except ValueError:
            raise _bad("pos", "an integer", raw) from None
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

    def bad_lines(request: Request) -> Response:
        _, index = viewer.source(request.path_params["sid"])
        return _json(
            {"count": index.bad_count, "lines": [{"line": b.line, "error": b.error} for b in index.bad_lines]}
        )

    def compare(request: Request) -> Response:
        q = Params(request.query_params)
        a, b = q.str("a"), q.str("b")
        if a is None or b is None:
            raise HTTPException(422, f"{'a' if a is None else 'b'} is required (a source id)")
        change = q.str("change") or None
        offset, limit = q.page()
        if change is not None and change not in CHANGES:
            raise HTTPException(400, f"change must be one of {', '.join(CHANGES)}, got {change!r}")
        pairing = viewer.pairing(a, b)
        pairs = pairing.select(change, q.str("env") or None, q.str("task") or None)
        return _json(
            {
                "total": len(pairs),
                "offset": offset,
                "limit": limit,
                "counts": pairing.counts(),
                "rows": pairing.rows(pairs[offset : offset + limit]),
            }
        )

    def run_curves(request: Request) -> Response:
        run = viewer.run(request.path_params["rid"])
        if run.history is None:
            raise HTTPException(404, f"run {run.label} has no log_history.json")
        try:
            return _json(curves(run.history))
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc

    def run_file(request: Request) -> Response:
        run = viewer.run(request.path_params["rid"])
        name = request.path_params["name"]
        if name not in run.files:  # only the files listed when the run was found, by name
            raise HTTPException(404, f"no file {name!r} in run {run.label}")
        return FileResponse(run.files[name])

    def play_envs(request: Request) -> Response:
        return _json(_playground(viewer).envs())

    async def play_start(request: Request) -> Response:
        args = start_body(await _body(request))

        def start() -> dict[str, Any]:
            with _env_failures("reset"):
                return _playground(viewer).start(**args)

        return _json(await run_in_threadpool(start))

    async def play_step(request: Request) -> Response:
        session, text = request.path_params["session"], step_text(await _body(request))

        def step() -> dict[str, Any]:
            with _env_failures("step"):
                return _playground(viewer).step(session, text)

        return _json(await run_in_threadpool(step))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        viewer.start()
        yield

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/config", config),
        Route("/api/sources/{sid}/status", status),
        Route("/api/sources/{sid}/episodes", episodes),
        Route("/api/sources/{sid}/summary", source_summary),
        Route("/api/sources/{sid}/episodes/{pos}", episode),
        Route("/api/sources/{sid}/bad-lines", bad_lines),
        Route("/api/compare", compare),
        Route("/api/runs/{rid}/curves", run_curves),
        Route("/api/runs/{rid}/files/{name}", run_file),
        Route("/api/play/envs", play_envs),
        Route("/api/play/start", play_start, methods=["POST"]),
        Route("/api/play/{session}/step", play_step, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(LocalOnly, allowed_hosts=allowed_hosts)],
        exception_handlers={HTTPException: _http_error, PlayError: _play_error},
        lifespan=lifespan,
    )
    app.state.viewer = viewer
    return app


async def _http_error(_request: Request, exc: Exception) -> Response:
    """Every error as ``{"detail": ...}``, the page's one shape for errors."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


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
