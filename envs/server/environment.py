"""A toolgym env as an OpenEnv ``Environment``: the action, observation and state models and the
wrapper the OpenEnv server makes one of per session (needs the ``openenv`` extra)."""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import Action, EnvironmentMetadata, Observation, State
from pydantic import Field

from envs.core.errors import EpisodeEndedError

#: The fields ``reset`` takes besides OpenEnv's ``seed`` and ``episode_id``.
RESET_FIELDS = ("seed", "episode_id", "options", "env_id", "env_kwargs")


class BadRequest(ValueError):
    """A request field the server refuses; the message names the field (HTTP: 400)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"bad request: {field}: {problem}")
        self.field = field


class ToolgymAction(Action):
    """One model turn: the whole text of the assistant's message, tool calls and answer included."""

    message: str = Field(description="The model's whole turn, parsed by the env's protocol (xml or json).")


class ToolgymObservation(Observation):
    """What a toolgym env gives back: the observation text and the env's info dict, unchanged.

    ``reward`` is None at reset and when the step failed on the infrastructure side (``error`` is set
    then): an infrastructure failure is never a reward of 0.
    """

    text: str = Field(default="", description="The env's observation (the tools' results, a board).")
    info: dict[str, Any] = Field(
        default_factory=dict,
        description="toolgym's info dict: messages, tools, turn, tool_calls, format_error, is_success, "
        "reward_components, episode_return, error, task_id.",
    )
    terminated: bool = Field(default=False, description="The episode ended with an answer or a verdict.")
    truncated: bool = Field(default=False, description="The episode was cut (turn limit, infra error).")
    is_success: bool | None = Field(default=None, description="The verdict; None when not scored.")
    error: str | None = Field(default=None, description="An infrastructure failure: never scored.")
    answer: str | None = Field(default=None, description="A final turn's answer, as the env parsed it.")
    env: dict[str, Any] | None = Field(
        default=None, description="At reset: env_id, protocol, tools_in_prompt, max_turns, step_may_block."
    )


class ToolgymState(State):
    """The session's env and where its episode stands."""

    env_id: str | None = None
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    task_id: str | None = None
    done: bool = True
    episode_return: float = 0.0


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays, tuples and other objects turned into JSON types."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return jsonable(value.tolist())
    return str(value)


class ToolgymEnvironment(Environment[ToolgymAction, ToolgymObservation, ToolgymState]):
    """One session's toolgym env. ``reset(env_id=..., env_kwargs=..., seed=..., options=...)`` makes
    the env (or keeps the one of the same id and kwargs) and starts an episode; ``step`` plays a turn.

    ``env_ids`` are the ids this server hosts; ``default_env_id`` is played when a reset names none.
    A step that cannot block (puzzles) runs on the server's event loop; one that may block (a
    sandbox, a retriever) runs on this session's own thread.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, env_ids: tuple[str, ...], default_env_id: str):
        super().__init__()
        self.env_ids = env_ids
        self.default_env_id = default_env_id
        self._env: Any = None
        self._key: tuple[str, str] | None = None
        self._state = ToolgymState()
        self._executor: ThreadPoolExecutor | None = None

    # ---- OpenEnv's Environment API ----------------------------------------------------------
    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        options: dict[str, Any] | None = None,
        env_id: str | None = None,
        env_kwargs: dict[str, Any] | None = None,
        **unknown: Any,
    ) -> ToolgymObservation:
        """Start an episode of ``env_id`` (default: the server's first env) made with ``env_kwargs``;
        ``seed`` and ``options`` (``task_id``) mean what they mean to the env's own ``reset``."""
        if unknown:
            raise BadRequest(
                sorted(unknown)[0], f"unknown reset field; the fields are {', '.join(RESET_FIELDS)}"
            )
        if seed is not None and (type(seed) is not int or seed < 0):
            raise BadRequest("seed", f"must be an integer >= 0 or null, got {seed!r}")
        if options is not None and not isinstance(options, dict):
            raise BadRequest("options", f"must be an object, got {type(options).__name__}")
        if episode_id is not None and not isinstance(episode_id, str):
            raise BadRequest("episode_id", f"must be a string, got {type(episode_id).__name__}")
        env = self._make(env_id if env_id is not None else self.default_env_id, env_kwargs or {})
        try:
            text, info = env.reset(seed=seed, options=options)
        except KeyError as exc:  # a task_id the env does not have
            if not (options and "task_id" in options):
                raise
            raise BadRequest("options.task_id", str(exc.args[0] if exc.args else exc)) from None
        inner = env.unwrapped
        self._state = ToolgymState(
            episode_id=episode_id,
            step_count=0,
            env_id=self._state.env_id,
            env_kwargs=self._state.env_kwargs,
            task_id=str(info.get("task_id")) if info.get("task_id") is not None else None,
            done=False,
        )
        episode = getattr(inner, "episode", None)
        described = {
            "env_id": self._state.env_id,
            "protocol": getattr(episode, "protocol", None),
            "tools_in_prompt": getattr(episode, "tools_in_prompt", None),
            "max_turns": getattr(episode, "max_turns", None),
            "step_may_block": bool(getattr(inner, "step_may_block", True)),
        }
        return ToolgymObservation(text=text, info=jsonable(info), reward=None, done=False, env=described)

    def step(
        self, action: ToolgymAction, timeout_s: float | None = None, **kwargs: Any
    ) -> ToolgymObservation:
        """Play one turn of the current episode."""
        if self._env is None or self._state.done:
            raise EpisodeEndedError("the episode has ended (or never started): reset before step")
        text, reward, terminated, truncated, info = self._env.step(action.message)
        done = bool(terminated or truncated)
        error = info.get("error")
        answer = None
        if done and error is None:
            answer = _final_answer(self._env.unwrapped, action.message)
        self._state.step_count += 1
        self._state.done = done
        self._state.episode_return = float(info.get("episode_return", self._state.episode_return))
        return ToolgymObservation(
            text=text,
            info=jsonable(info),
            reward=None if error else float(reward),
            done=done,
            terminated=bool(terminated),
            truncated=bool(truncated),
            is_success=jsonable(info.get("is_success")),
            error=None if error is None else str(error),
            answer=answer,
        )

    async def step_async(
        self, action: ToolgymAction, timeout_s: float | None = None, **kwargs: Any
    ) -> ToolgymObservation:
        """``step`` inline when the env promises a cheap step, else on this session's thread."""
        if self._env is not None and not getattr(self._env.unwrapped, "step_may_block", True):
            return self.step(action)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="toolgym-session")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.step, action)

    @property
    def state(self) -> ToolgymState:
        return self._state

    def get_metadata(self) -> EnvironmentMetadata:
        return EnvironmentMetadata(
            name="toolgym",
            description="toolgym's multi-turn, tool-using text envs: " + ", ".join(self.env_ids),
            version="0.1.0",
            documentation_url="docs/env-server.md",
        )

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    # ---- helpers ---------------------------------------------------------------------------
    def _make(self, env_id: Any, env_kwargs: Any) -> Any:
        """The session's env for this id and kwargs: the current one when they match, else a new one."""
        import json

        import gymnasium as gym

        if not isinstance(env_id, str) or env_id not in self.env_ids:
            raise BadRequest("env_id", f"{env_id!r} is not served here; served: {', '.join(self.env_ids)}")
        if not isinstance(env_kwargs, dict):
            raise BadRequest("env_kwargs", f"must be an object, got {type(env_kwargs).__name__}")
        key = (env_id, json.dumps(env_kwargs, sort_keys=True, default=repr))
        if self._env is not None and key == self._key:
            return self._env
        if self._env is not None:
            self._env.close()
            self._env, self._key = None, None
        try:
            env = gym.make(env_id, **env_kwargs)
        except (TypeError, ValueError) as exc:  # an unknown or bad kwarg: the env's message names it
            raise BadRequest("env_kwargs", str(exc)) from None
        self._env, self._key = env, key
        self._state.env_id, self._state.env_kwargs = env_id, dict(env_kwargs)
        return env


def _final_answer(inner: Any, text: str) -> str | None:
    """The answer a final turn gave, parsed with the env's own protocol (None if it gave none)."""
    try:
        tools = {t.name: t for t in inner.all_tools()}
        answer = inner.protocol.parse(text, tools).answer
    except Exception:  # an env without the protocol API
        return None
    return None if answer is None else str(answer).strip()
