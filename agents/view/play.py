"""The playground: a person plays an env in the browser, typing the model's turns, in either protocol."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

#: Sessions kept at once; starting another closes the oldest.
MAX_SESSIONS = 16
#: The longest turn accepted from the page.
MAX_TURN_CHARS = 100_000


class PlayError(ValueError):
    """A request the playground refuses (an unknown env or session, a bad argument): a 4xx."""


@dataclass
class _Session:
    env: Any
    env_id: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    ret: float = 0.0
    done: bool = False


class Playground:
    """Env sessions by id. ``kwargs`` are env keyword arguments given on the command line, per env id."""

    def __init__(self, kwargs: dict[str, dict[str, Any]] | None = None, max_sessions: int = MAX_SESSIONS):
        self.kwargs = kwargs or {}
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def envs() -> list[dict[str, str]]:
        """The registered envs, for the page's list."""
        import envs

        return [{"id": e.env_id, "family": e.family, "description": e.description} for e in envs.ENVS]

    def start(
        self,
        env_id: str,
        seed: int | None = None,
        protocol: str | None = None,
        difficulty: float | None = None,
    ) -> dict[str, Any]:
        """Make the env, reset it to the task of ``seed`` and return what the model would see."""
        import gymnasium as gym

        import envs

        if env_id not in {e.env_id for e in envs.ENVS}:
            raise PlayError(f"unknown env {env_id!r}")
        kwargs = dict(self.kwargs.get(env_id, {}))
        if protocol is not None:
            kwargs["protocol"] = protocol
        if difficulty is not None:
            kwargs["difficulty"] = difficulty
        try:
            env = gym.make(env_id, **kwargs)
        except (TypeError, ValueError) as exc:
            raise PlayError(f"{env_id}: {exc}") from exc
        try:
            _, info = env.reset(seed=seed)
        except Exception:
            env.close()
            raise
        sid = secrets.token_hex(8)
        with self._lock:
            self._sessions[sid] = _Session(env, env_id)
            while len(self._sessions) > self.max_sessions:
                _, old = self._sessions.popitem(last=False)
                old.env.close()
        inner = env.unwrapped
        return {
            "session": sid,
            "env_id": env_id,
            "seed": seed,
            "task_id": info.get("task_id"),
            "protocol": inner.episode.protocol,
            "max_turns": inner.episode.max_turns,
            "messages": info["messages"],
            "tools": [t.get("function", t).get("name") for t in info.get("tools") or []],
        }

    def _get(self, sid: str) -> _Session:
        with self._lock:
            session = self._sessions.get(sid)
        if session is None:
            raise PlayError(f"no play session {sid!r} (it ended or was closed): start a new one")
        return session

    def step(self, sid: str, text: str) -> dict[str, Any]:
        """Play one turn: the observation, the reward and its parts, and whether the episode is over."""
        if len(text) > MAX_TURN_CHARS:
            raise PlayError(f"a turn is at most {MAX_TURN_CHARS} characters, got {len(text)}")
        session = self._get(sid)
        with session.lock:
            if session.done:
                raise PlayError("the episode is over: start a new one")
            obs, reward, terminated, truncated, info = session.env.step(text)
            session.ret += reward
            session.done = bool(terminated or truncated)
            out = {
                "turn": info.get("turn"),
                "observation": obs,
                "reward": reward,
                "reward_components": info.get("reward_components") or {},
                "tool_calls": info.get("tool_calls") or [],
                "format_error": info.get("format_error"),
                "messages": info.get("messages") or [],
                "terminated": bool(terminated),
                "truncated": bool(truncated),
                "is_success": info.get("is_success"),
                "error": info.get("error"),
                "return": session.ret,
            }
            if session.done:
                task = getattr(session.env.unwrapped, "task", None)
                out["reference"] = getattr(task, "answer", None)
                self.close(sid)
            return out

    def close(self, sid: str) -> None:
        with self._lock:
            session = self._sessions.pop(sid, None)
        if session is not None:
            session.env.close()

    def close_all(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), OrderedDict()
        for s in sessions:
            s.env.close()
