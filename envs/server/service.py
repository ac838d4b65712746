"""The env server: registered toolgym envs over the OpenEnv protocol, on OpenEnv's own server.

OpenEnv's ``HTTPEnvServer`` gives the routes and the session handling: ``/ws`` (one session per
WebSocket connection, each its own env instance, under a random UUID4 id), ``/reset``, ``/step`` and
``/state`` over HTTP (stateless in OpenEnv: a fresh env per request), ``/schema``, ``/metadata``,
``/health``, and ``/mcp`` sessions. What this module adds around it:

- a gate in front of ``/ws``: past ``max_sessions`` open sessions a new connection is refused at the
  handshake with HTTP 503 and ``Retry-After``, and a session whose client says nothing for
  ``idle_timeout_s`` is closed (its env with it); OpenEnv's own reaper does the same for ``/mcp``
  sessions;
- a refused request field is a 400 naming the field (OpenEnv's models give 422 for theirs), a step
  outside an episode a 409, an infrastructure failure raised by an env over HTTP a 503.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from envs.core.errors import EpisodeEndedError, InfraError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_PORT = 8100
DEFAULT_MAX_SESSIONS = 256
DEFAULT_IDLE_TIMEOUT_S = 600.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def served_ids(env_ids: Sequence[str] = ()) -> tuple[str, ...]:
    """The env ids to serve: the ones given (each must be registered), else every registered env."""
    from envs.registration import ENVS, env_entry

    if not env_ids:
        return tuple(e.env_id for e in ENVS)
    for env_id in env_ids:
        env_entry(env_id)  # a KeyError naming the registered ids
    return tuple(dict.fromkeys(env_ids))


class SessionGate:
    """ASGI middleware in front of OpenEnv's ``/ws``: refuses a connection past capacity with HTTP
    503 at the handshake, and ends a session idle for ``idle_timeout_s`` (the route then sees its
    client leave and closes the session's env)."""

    def __init__(
        self, app: Any, server: Any, max_sessions: int, idle_timeout_s: float | None, path: str = "/ws"
    ):
        self.app, self.server, self.path = app, server, path
        self.max_sessions = max_sessions
        self.idle_timeout_s = idle_timeout_s
        self.open = 0
        self.refused = 0
        self.reaped = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        if self.open >= self.max_sessions or self.server.active_sessions >= self.max_sessions:
            self.refused += 1
            await self._refuse(scope, receive, send)
            return
        self.open += 1
        try:
            await self.app(scope, self._idle_receive(receive) if self.idle_timeout_s else receive, send)
        finally:
            self.open -= 1

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        detail = f"at capacity: {self.max_sessions} sessions open (max_sessions); close one or retry later"
        if "websocket.http.response" in scope.get("extensions", {}):
            body = json.dumps({"detail": detail}).encode()
            headers = [(b"content-type", b"application/json"), (b"retry-after", b"1")]
            await send({"type": "websocket.http.response.start", "status": 503, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:  # a server without the denial extension: close before accepting (1013: try again later)
            await send({"type": "websocket.close", "code": 1013, "reason": detail[:120]})

    def _idle_receive(self, receive: Receive) -> Receive:
        pending: asyncio.Future[Message] | None = None

        async def idle_receive() -> Message:
            nonlocal pending
            if pending is None:
                pending = asyncio.ensure_future(receive())
            done, _ = await asyncio.wait({pending}, timeout=self.idle_timeout_s)
            if not done:
                pending.cancel()
                pending = None
                self.reaped += 1
                return {"type": "websocket.disconnect", "code": 1001, "reason": "idle timeout"}
            message, pending = pending.result(), None
            return message

        return idle_receive


def create_app(
    env_ids: Sequence[str] = (),
    *,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
) -> Any:
    """The FastAPI app serving ``env_ids`` (default: every registered env) through OpenEnv's server.

    A session plays the first id unless its reset names ``env_id``; ``max_sessions`` sessions at
    most; a session idle ``idle_timeout_s`` seconds is closed (None: never).
    """
    if not 1 <= max_sessions <= 100_000:
        raise ValueError(f"max_sessions must be in [1, 100000], got {max_sessions}")
    if idle_timeout_s is not None and not 0 < idle_timeout_s <= 86_400:
        raise ValueError(f"idle_timeout_s must be in (0, 86400] or None, got {idle_timeout_s}")
    ids = served_ids(env_ids)

    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from openenv.core.env_server import ConcurrencyConfig, HTTPEnvServer

    from envs.server.environment import (
        BadRequest,
        ToolgymAction,
        ToolgymEnvironment,
        ToolgymObservation,
        ToolgymState,
    )

    app = FastAPI(title="toolgym env server (OpenEnv protocol)", version="0.1.0")
    server = HTTPEnvServer(
        functools.partial(ToolgymEnvironment, ids, ids[0]),
        ToolgymAction,
        ToolgymObservation,
        concurrency_config=ConcurrencyConfig(
            max_concurrent_envs=max_sessions, session_timeout=idle_timeout_s
        ),
        env_name="toolgym",
        state_cls=ToolgymState,
    )
    server.register_routes(app)

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=400)

    @app.exception_handler(EpisodeEndedError)
    async def episode_ended(request: Request, exc: EpisodeEndedError) -> JSONResponse:
        detail = f"{exc}; over HTTP each request gets a fresh env: play episodes over /ws"
        return JSONResponse({"detail": detail}, status_code=409)

    @app.exception_handler(InfraError)
    async def infra_error(request: Request, exc: InfraError) -> JSONResponse:
        return JSONResponse({"detail": f"infrastructure error: {exc}"}, status_code=503)

    @app.get("/envs", tags=["Environment Info"])
    async def list_served() -> dict[str, Any]:
        """The env ids served, the default one, and the sessions open."""
        return {
            "env_ids": list(ids),
            "default": ids[0],
            "sessions": server.active_sessions,
            "max_sessions": max_sessions,
            "idle_timeout_s": idle_timeout_s,
        }

    app.add_middleware(SessionGate, server=server, max_sessions=max_sessions, idle_timeout_s=idle_timeout_s)
    app.state.env_server = server
    app.state.env_ids = ids
    return app


def serve(
    env_ids: Sequence[str] = (),
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
) -> None:
    """Run the env server with uvicorn until interrupted."""
    import uvicorn

    app = create_app(env_ids, max_sessions=max_sessions, idle_timeout_s=idle_timeout_s)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        backlog=2048,
        timeout_keep_alive=30,
        ws_max_size=MAX_MESSAGE_BYTES,
    )
