"""``RemoteEnv``: a ``gymnasium.Env`` that plays an env hosted by an OpenEnv env server.

``gym.make("toolgym/Remote-v0", url="http://127.0.0.1:8100", env_id="toolgym/Countdown-v0",
protocol="json")`` gives an env with the local env's API: ``reset(seed=, options=)`` and ``step(turn)``
return the same observation and info dict (messages, tools, task_id, turn, tool_calls, format_error,
is_success, reward_components, episode_return, error). One env holds one server session (one
WebSocket) and resets it for each episode, the way a pooled local env is reset.

It speaks OpenEnv's WebSocket messages (``reset``, ``step``, ``state``, ``close``) with the
``websockets`` library's blocking client rather than OpenEnv's own client, whose import pulls Gradio
(seconds, hundreds of MB) into every trainer. A server that is down or drops the session is an
infrastructure failure: ``reset`` raises ``InfraError``, and ``step`` ends the episode with
``info["error"]`` and ``is_success=None``, exactly as a local env does when its sandbox is down;
never a reward of 0 scored as a failure.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import gymnasium as gym

from envs.core.errors import EpisodeEndedError, InfraError
from envs.core.spaces import AnyText
from envs.server import URL_VARIABLE, env_url

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass
class RemoteTask:
    """What the client knows of the server's task: its id and prompt (the answer stays there)."""

    id: str
    prompt: str
    answer: str | None = None


class RemoteEnv(gym.Env[str, str]):
    """A toolgym env played over the OpenEnv protocol; see the module docstring.

    ``url``: the env server (``http(s)://`` or ``ws(s)://``; default ``$TOOLGYM_ENV_URL``);
    ``env_id``: the registered env to play there; ``timeout_s``: the longest wait for one reply;
    every other keyword argument goes to the env on the server.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    #: Every step is a round trip to a server.
    step_may_block: ClassVar[bool] = True

    def __init__(
        self,
        url: str | None = None,
        env_id: str | None = None,
        render_mode: str | None = None,
        timeout_s: float = 300.0,
        connect_timeout_s: float = 10.0,
        **env_kwargs: Any,
    ):
        url = url or env_url()
        if not url:
            raise ValueError(f"url: give the env server's URL, or set {URL_VARIABLE}")
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError(f"url: must start with http://, https://, ws:// or wss://, got {url!r}")
        if not isinstance(env_id, str) or not env_id:
            raise ValueError(
                f"env_id: name the env to play on the server, e.g. toolgym/Countdown-v0; got {env_id!r}"
            )
        if not 0 < timeout_s <= 86_400:
            raise ValueError(f"timeout_s must be in (0, 86400], got {timeout_s}")
        if not 0 < connect_timeout_s <= 600:
            raise ValueError(f"connect_timeout_s must be in (0, 600], got {connect_timeout_s}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        try:
            json.dumps(env_kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"env_kwargs: must be JSON values to travel to the server: {exc}") from None
        base = url.rstrip("/")
        if base.startswith("http"):
            base = "ws" + base[len("http") :]
        self.url = url
        self.ws_url = base if base.endswith("/ws") else base + "/ws"
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.render_mode = render_mode
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.observation_space = AnyText()
        self.action_space = AnyText()
        self.task: RemoteTask | None = None
        self.episode: Any = None  # protocol, tools_in_prompt, max_turns of the served env
        self.messages: list[dict[str, Any]] = []
        self.turn = 0
        self._done = True
        self._answer: str | None = None
        self._ws: Any = None

    # ---- the gymnasium API ------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        data: dict[str, Any] = {"env_id": self.env_id, "env_kwargs": self.env_kwargs}
        if seed is not None:
            data["seed"] = seed
        if options is not None:
            data["options"] = options
        self._done = True
        obs = self._call({"type": "reset", "data": data})
        described = obs.get("env") or {}
        self.episode = SimpleNamespace(
            protocol=described.get("protocol"),
            tools_in_prompt=described.get("tools_in_prompt"),
            max_turns=described.get("max_turns"),
        )
        info = obs.get("info") or {}
        self.task = RemoteTask(id=str(info.get("task_id", "")), prompt=obs.get("text", ""))
        self.messages = [dict(m) for m in info.get("messages") or []]
        self.turn = 0
        self._answer = None
        self._done = False
        return obs.get("text", ""), info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise EpisodeEndedError("the episode has ended (or never started): call reset() before step()")
        if not isinstance(action, str):
            raise TypeError(f"an action is the model's turn as a str, got {type(action).__name__}")
        self.turn += 1
        self.messages.append({"role": "assistant", "content": action})
        try:
            obs = self._call({"type": "step", "data": {"message": action}})
        except InfraError as exc:  # the server is gone mid-episode: end it unscored, as a local env does
            self._done = True
            self._drop()
            info = {
                "turn": self.turn,
                "tool_calls": [],
                "format_error": None,
                "error": str(exc),
                "is_success": None,
                "messages": [],
                "reward_components": {},
            }
            return f"Infrastructure error: {exc}", 0.0, False, True, info
        info = obs.get("info") or {}
        terminated, truncated = bool(obs.get("terminated")), bool(obs.get("truncated"))
        reward = obs.get("reward")
        self.messages.extend(dict(m) for m in info.get("messages") or [])
        if terminated or truncated:
            self._done = True
            self._answer = obs.get("answer")
        return obs.get("text", ""), float(reward or 0.0), terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return "\n\n".join(f"[{m['role']}] {m['content']}" for m in self.messages)

    def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                self._ws.send(json.dumps({"type": "close"}))
            self._drop()
        super().close()

    # ---- what the rollout engine asks of a toolgym env --------------------------------------
    def final_answer(self, text: str) -> str | None:
        """The answer of the episode's final turn, as the server's env parsed it (None if none)."""
        return self._answer

    def answer_turn(self, answer: str) -> str:
        """The turn that submits ``answer`` in the served env's protocol (known after ``reset``)."""
        from envs.core.protocol import get_protocol

        if self.episode is None or self.episode.protocol is None:
            raise EpisodeEndedError("no episode yet: call reset() before answer_turn()")
        return get_protocol(self.episode.protocol).render_answer(answer)

    def state(self) -> dict[str, Any]:
        """The server's state of this session (env id and kwargs, task id, steps, done, return)."""
        return self._call({"type": "state"})

    # ---- the wire ---------------------------------------------------------------------------
    def _connect(self) -> Any:
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import connect

        try:
            # entered, not used in a ``with``: the connection lives as long as this env (websockets
            # 17 warns about a connection neither entered nor opened with its newer legacy flag)
            self._ws = connect(
                self.ws_url,
                open_timeout=self.connect_timeout_s,
                max_size=MAX_MESSAGE_BYTES,
                compression=None,
                proxy=None,
            ).__enter__()
        except InvalidStatus as exc:
            status = exc.response.status_code
            body = exc.response.body.decode("utf-8", "replace")[:300] if exc.response.body else ""
            raise InfraError(
                f"env server {self.url} refused a session: HTTP {status} {body}".strip()
            ) from None
        except (OSError, TimeoutError) as exc:
            raise InfraError(f"env server {self.url} unreachable: {type(exc).__name__}: {exc}") from None
        except Exception as exc:  # a failed handshake
            raise InfraError(f"env server {self.url}: no session: {type(exc).__name__}: {exc}") from None
        return self._ws

    def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.close()

    def _call(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one message, return its reply's data (an observation's fields, or the state)."""
        from websockets.exceptions import ConnectionClosed

        fresh = self._ws is None
        ws = self._ws if not fresh else self._connect()
        try:
            ws.send(json.dumps(message))
            raw = ws.recv(timeout=self.timeout_s)
        except ConnectionClosed as exc:
            self._drop()
            if not fresh and message["type"] == "reset":  # reaped while idle: a new session, once
                return self._call(message)
            raise InfraError(f"env server {self.url} closed the session: {exc}") from None
        except (OSError, TimeoutError) as exc:
            self._drop()
            raise InfraError(f"env server {self.url}: no reply: {type(exc).__name__}: {exc}") from None
        reply = json.loads(raw)
        data = reply.get("data") or {}
        if reply.get("type") == "error":
            text = str(data.get("message", "unknown error"))
            if data.get("code") == "VALIDATION_ERROR":
                fields = [".".join(map(str, e.get("loc", ()))) for e in data.get("errors") or []]
                msgs = [e.get("msg", "") for e in data.get("errors") or []]
                raise ValueError(f"{', '.join(fields) or 'message'}: {'; '.join(msgs) or text}")
            if text.startswith("bad request: "):
                raise ValueError(text[len("bad request: ") :])
            raise InfraError(f"env server {self.url}: {data.get('code', 'error')}: {text}")
        if reply.get("type") == "state":
            return data
        obs = dict(data.get("observation") or {})
        obs["reward"], obs["done"] = data.get("reward"), data.get("done")
        return obs
