"""``EnvPool``: env instances kept between episodes and reused (``reset``, not made anew).

Envs are keyed by env id and kwargs, so an env only ever serves episodes of its own configuration;
``reset(seed=...)`` fully determines the task, so a reused env plays exactly the episode a fresh one
would. The rollout engine hands an env back only when its episode ended cleanly (the env itself
ended it, with no error); any other env is closed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.rollout import EpisodeSpec

PoolKey = tuple[str, Hashable]
MAX_IDLE = 4096
_SCALARS = (str, int, float, bool, type(None))


def step_may_block(env: Any) -> bool:
    """Whether the env's ``step`` may block (a tool, a sandbox, a service), so that it belongs off the
    main thread. Read from the env's ``step_may_block`` class attribute (``envs.core.ToolEnv`` has
    it); an env without one may block."""
    return bool(getattr(env.unwrapped, "step_may_block", True))


def gym_make(spec: EpisodeSpec) -> Any:
    """A new env of a registered id with the spec's kwargs; with ``TOOLGYM_ENV_URL`` set, a remote env
    playing that id on the env server there."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the toolgym envs)
    from envs.server import REMOTE_ENV_ID, env_url

    if (url := env_url()) and spec.env_id != REMOTE_ENV_ID:  # TOOLGYM_ENV_URL: play it on that server
        return gym.make(REMOTE_ENV_ID, url=url, env_id=spec.env_id, **spec.env_kwargs)
    return gym.make(spec.env_id, **spec.env_kwargs)


class EnvPool:
    """Idle envs by (env id, kwargs). ``take`` an idle one or ``make`` a new one; ``put`` a finished
    one back (up to ``max_idle`` per key; beyond that, and with ``max_idle=0``, it is closed).

    ``make_env`` defaults to ``gym.make``. A custom maker whose env depends on more than the id and
    kwargs (on the seed, say) must not be pooled: give it ``max_idle=0``.
    """

    def __init__(self, make_env: Callable[[EpisodeSpec], Any] | None = None, max_idle: int = MAX_IDLE):
        if max_idle < 0:
            raise ValueError(f"max_idle must be >= 0, got {max_idle}")
        self.make_env = make_env or gym_make
        self.max_idle = max_idle
        self._idle: dict[PoolKey, list[Any]] = {}
        self._cheap: dict[PoolKey, bool] = {}
        self._lock = threading.Lock()
        self.made = 0
        self.reused = 0

    @staticmethod
    def key(spec: EpisodeSpec) -> PoolKey:
        """The pool key of a spec: its env id and its kwargs, each value with its type (``1``, ``1.0``
        and ``True`` stay apart); kwargs beyond flat scalars are written out as JSON."""
        kwargs = spec.env_kwargs
        if all(type(v) in _SCALARS for v in kwargs.values()):
            return spec.env_id, tuple(sorted((k, type(v).__name__, v) for k, v in kwargs.items()))
        return spec.env_id, json.dumps(kwargs, sort_keys=True, default=repr)

    def take(self, key: PoolKey) -> Any | None:
        """An idle env of this key, or None."""
        with self._lock:
            idle = self._idle.get(key)
            if not idle:
                return None
            self.reused += 1
            return idle.pop()

    def make(self, spec: EpisodeSpec) -> Any:
        """A new env for ``spec``."""
        env = self.make_env(spec)
        with self._lock:
            self.made += 1
            if self.max_idle:
                self._cheap[self.key(spec)] = not step_may_block(env)
        return env

    def cheap(self, key: PoolKey) -> bool:
        """Whether the envs of this key are known not to block (an env of it was made here before and
        its ``step_may_block`` is false): then a new one may be made and reset inline. Never with
        ``max_idle=0``, whose maker may make a different env for the same key."""
        return self._cheap.get(key, False)

    def put(self, key: PoolKey, env: Any) -> None:
        """Keep a finished env for the next episode of its key (or close it when the pool is full)."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle:
                idle.append(env)
                return
        env.close()

    def idle(self, key: PoolKey | None = None) -> int:
        """How many envs wait, of one key or in all."""
        with self._lock:
            if key is not None:
                return len(self._idle.get(key, []))
            return sum(len(v) for v in self._idle.values())

    def close(self) -> None:
        """Close every idle env."""
        with self._lock:
            envs = [env for idle in self._idle.values() for env in idle]
            self._idle.clear()
        for env in envs:
            env.close()
