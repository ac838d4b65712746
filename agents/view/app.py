"""The viewer's FastAPI server: the page, its assets, and a JSON API over the runs given (sources are
named by number, never by path, so nothing outside them can be asked for) and the playground."""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

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


def filter_params(
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
    """The episode filter from the query string."""
    return Filter(
        env, task, success, error, format_error, truncated,
        reward_min, reward_max, turns_min, turns_max, tools_min, tools_max,
    )  # fmt: skip


class StartBody(BaseModel):
    env_id: str
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    protocol: str | None = None
    difficulty: float | None = None


class StepBody(BaseModel):
    text: str = Field(max_length=MAX_TURN_CHARS)


def create_app(viewer: Viewer, allowed_hosts: frozenset[str] = LOCAL_HOSTS) -> FastAPI:
    """The app over ``viewer``'s runs."""
    app = FastAPI(title="toolgym view", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.viewer = viewer

    @app.middleware("http")
    async def local_only(request: Request, call_next: Any) -> Response:
        host = _host(request.headers.get("host", ""))
        if host not in allowed_hosts:
            return JSONResponse({"detail": f"host {host!r} not served"}, status_code=400)
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.exception_handler(PlayError)
    async def play_error(_request: Request, exc: PlayError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return asset("index.html")

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, "no such asset")
        return Response(asset(name), media_type=ASSETS[name])

    @app.get("/api/config")
    def config() -> dict[str, Any]:
        return clean(viewer.config())

    @app.get("/api/sources/{sid}/status")
    def status(sid: str) -> dict[str, Any]:
        return viewer.source(sid)[1].status()

    @app.get("/api/sources/{sid}/episodes")
    def episodes(
        sid: str,
        flt: Annotated[Filter, Depends(filter_params)],
        sort: str = "line",
        desc: bool = False,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> dict[str, Any]:
        _, index = viewer.source(sid)
        if sort not in SORT_KEYS:
            raise HTTPException(400, f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
        positions = viewer.selector.select(index, flt, sort, desc)
        return clean(
            {
                "total": len(positions),
                "offset": offset,
                "limit": limit,
                "rows": rows(index, positions[offset : offset + limit]),
                "status": index.status(),
            }
        )

    @app.get("/api/sources/{sid}/summary")
    def source_summary(sid: str, flt: Annotated[Filter, Depends(filter_params)]) -> dict[str, Any]:
        _, index = viewer.source(sid)
        if not index.done:  # computed once the whole file is indexed
            return {"pending": True, "k": 1, "rows": [], "episodes": len(index)}
        if flt == Filter():
            return {**(index.summary() or {}), "filtered": False}
        return {
            **viewer.summaries.get(
                index, flt, lambda: summarize_index(index, viewer.selector.select(index, flt))
            ),
            "filtered": True,
        }

    @app.get("/api/sources/{sid}/episodes/{pos}")
    def episode(sid: str, pos: int) -> dict[str, Any]:
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
        return clean(view)

    @app.get("/api/sources/{sid}/bad-lines")
    def bad_lines(sid: str) -> dict[str, Any]:
        _, index = viewer.source(sid)
        return {
            "count": index.bad_count,
            "lines": [{"line": b.line, "error": b.error} for b in index.bad_lines],
        }

    @app.get("/api/compare")
    def compare(
        a: str,
        b: str,
        change: str | None = None,
        env: str | None = None,
        task: str | None = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> dict[str, Any]:
        if change is not None and change not in CHANGES:
            raise HTTPException(400, f"change must be one of {', '.join(CHANGES)}, got {change!r}")
        pairing = viewer.pairing(a, b)
        pairs = pairing.select(change or None, env or None, task or None)
        return clean(
            {
                "total": len(pairs),
                "offset": offset,
                "limit": limit,
                "counts": pairing.counts(),
                "rows": pairing.rows(pairs[offset : offset + limit]),
            }
        )

    @app.get("/api/runs/{rid}/curves")
    def run_curves(rid: str) -> dict[str, Any]:
        run = viewer.run(rid)
        if run.history is None:
            raise HTTPException(404, f"run {run.label} has no log_history.json")
        try:
            return curves(run.history)
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc

    @app.get("/api/runs/{rid}/files/{name}")
    def run_file(rid: str, name: str) -> FileResponse:
        run = viewer.run(rid)
        if name not in run.files:  # only the files listed when the run was found, by name
            raise HTTPException(404, f"no file {name!r} in run {run.label}")
        return FileResponse(run.files[name])

    @app.get("/api/play/envs")
    def play_envs() -> list[dict[str, str]]:
        return _playground(viewer).envs()

    @app.post("/api/play/start")
    def play_start(body: StartBody) -> dict[str, Any]:
        with _env_failures("reset"):
            return clean(_playground(viewer).start(body.env_id, body.seed, body.protocol, body.difficulty))

    @app.post("/api/play/{session}/step")
    def play_step(session: str, body: StepBody) -> dict[str, Any]:
        with _env_failures("step"):
            return clean(_playground(viewer).step(session, body.text))

    return app


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
) -> Viewer:
    """The runs of ``paths`` with their indexes opened (built in the background where not cached)."""
    from agents.view.runs import discover

    sources, runs = discover(paths) if paths else ([], [])
    if tokenizer is not None and not Path(tokenizer).exists():
        raise FileNotFoundError(f"no such tokenizer: {tokenizer}")
    indexes = {s.id: EpisodeIndex.open(s.path, cache) for s in sources}
    kwargs = {play_env["env_id"]: play_env.get("kwargs", {})} if play_env else {}
    return Viewer(
        sources,
        runs,
        indexes,
        tokenizer=Path(tokenizer) if tokenizer is not None else None,
        playground=Playground(kwargs) if play else None,
        play_env=play_env,
    )
