"""Where the envs of running episodes live and step: ``EnvRunner``, and what crosses to and from it.

The rollout engine addresses an episode's env by a slot number: ``start`` makes (or takes from the
pool) and resets an env per slot, ``step`` steps a batch of slots with the model's turns, ``release``
hands each env back to its pool or closes it. ``EnvRunner`` does this in the engine's process (steps
that may block in a thread pool, cheap ones inline); ``agents.ray_envs.RayEnvs`` does it in Ray actors,
each of which holds an ``EnvRunner``, so both play exactly the same episodes. What a reset or a step
gave comes back as plain data (``EnvStart``, ``EnvStep``); an exception becomes the episode's error.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agents.env_pool import EnvPool, PoolKey, step_may_block

if TYPE_CHECKING:
    from agents.rollout import EpisodeSpec


class EnvHostError(RuntimeError):
    """The envs' host cannot serve at all (a Ray cluster that cannot be reached or runs no actor)."""


@dataclass
class EnvStart:
    """What an episode's reset gave; ``error`` instead when it could not start (``lost``: because its
    host was lost, a Ray actor or its node, so the episode could be played again elsewhere). ``meta``
    says where the env runs (a Ray node and actor; empty in the engine's own process)."""

    error: str | None = None
    lost: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    task_id: str = ""
    reference: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class EnvStep:
    """What one step gave. ``failure``: the step raised (or, ``lost``, the env's host was lost), an
    infrastructure error that ends the episode; ``error``: the env's own ``info["error"]``."""

    failure: str | None = None
    lost: bool = False
    reward: float = 0.0
    reward_components: dict[str, float] = field(default_factory=dict)
    tool_calls: int = 0
    format_error: bool = False
    error: str | None = None
    terminated: bool = False
    truncated: bool = False
    is_success: bool | None = None
    answer: str | None = None
    env_messages: list[dict[str, Any]] = field(default_factory=list)


class EnvHost(Protocol):
    """What the rollout engine needs of the place its envs live."""

    def start(self, jobs: Sequence[tuple[int, EpisodeSpec]]) -> list[EnvStart]: ...

    def step(self, jobs: Sequence[tuple[int, str]]) -> list[EnvStep]: ...

    def release(self, jobs: Sequence[tuple[int, bool]]) -> None: ...

    def close(self) -> None: ...


def reset_env(env: Any, spec: EpisodeSpec) -> EnvStart:
    """Reset ``env`` to the spec's task (its seed, or its task id) and read the prompt off it."""
    options = {"task_id": spec.task_id} if spec.task_id is not None else None
    _, info = env.reset(seed=spec.seed, options=options)
    return EnvStart(
        messages=[dict(m) for m in info["messages"]],
        tools=list(info.get("tools") or []) if _template_renders_tools(env) else [],
        task_id=str(info.get("task_id", "")),
        reference=getattr(getattr(env.unwrapped, "task", None), "answer", None),
    )


def step_env(env: Any, text: str) -> EnvStep:
    """Step ``env`` with one model turn and read the result off it (an exception propagates)."""
    _, reward, terminated, truncated, info = env.step(text)
    out = EnvStep(
        reward=float(reward),
        reward_components={k: float(v) for k, v in (info.get("reward_components") or {}).items()},
        tool_calls=len(info.get("tool_calls") or []),
        format_error=bool(info.get("format_error", False)),
        error=str(info["error"]) if info.get("error") else None,
        terminated=bool(terminated),
        truncated=bool(truncated),
    )
    if terminated or truncated:
        out.is_success = info.get("is_success")
        out.answer = _final_answer(env, text)
    else:
        out.env_messages = [dict(m) for m in info.get("messages") or []]
    return out


@dataclass
class _Slot:
    env: Any
    key: PoolKey
    inline: bool = False  # step on the calling thread (the env's step cannot block)


class EnvRunner:
    """The envs of running episodes in this process, by slot, from ``pool``.

    A step that may block (a tool, a sandbox, a search service: the env's ``step_may_block``) runs in
    a thread pool of ``max_concurrency`` threads; a cheap one runs on the calling thread, so a batch of
    cheap envs pays no thread hand-off. An env goes back to the pool only when its episode ended
    cleanly (``release(slot, True)``); any other is closed.
    """

    def __init__(self, pool: EnvPool, max_concurrency: int):
        self.pool = pool
        self.executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="env")
        self._slots: dict[int, _Slot] = {}

    def start(self, jobs: Sequence[tuple[int, EpisodeSpec]]) -> list[EnvStart]:
        """Start every job's episode. Inline: a pooled env that cannot block is reset, and a new env
        of a key known not to block is made and reset. In the thread pool: the rest (envs that may
        block, new envs of a key not seen yet)."""
        out: list[EnvStart | None] = [None] * len(jobs)
        later: list[tuple[int, int, EpisodeSpec, PoolKey, Any]] = []
        for i, (slot, spec) in enumerate(jobs):
            key = self.pool.key(spec)
            env = self.pool.take(key)
            inline = self.pool.cheap(key) if env is None else not step_may_block(env)
            if inline:
                out[i] = self._start(slot, spec, key, env)
            else:
                later.append((i, slot, spec, key, env))
        if later:
            started = self.executor.map(lambda job: self._start(*job[1:]), later)
            for (i, *_), result in zip(later, started, strict=True):
                out[i] = result
        return out  # type: ignore[return-value]

    def _start(self, slot: int, spec: EpisodeSpec, key: PoolKey, env: Any | None) -> EnvStart:
        try:
            if env is None:
                env = self.pool.make(spec)
            result = reset_env(env, spec)
        except Exception as exc:  # an env that cannot start is this episode's error, not the batch's
            self._slots[slot] = _Slot(env, key)
            return EnvStart(error=f"reset failed: {type(exc).__name__}: {exc}")
        self._slots[slot] = _Slot(env, key, inline=not step_may_block(env))
        return result

    def step(self, jobs: Sequence[tuple[int, str]]) -> list[EnvStep]:
        """Step every job's env with its turn: the ones that may block in the thread pool, meanwhile
        the rest inline."""
        out: list[EnvStep | None] = [None] * len(jobs)
        futures: list[tuple[int, Future[EnvStep]]] = [
            (i, self.executor.submit(self._step, slot, text))
            for i, (slot, text) in enumerate(jobs)
            if not self._slots[slot].inline
        ]
        try:
            for i, (slot, text) in enumerate(jobs):
                if self._slots[slot].inline:
                    out[i] = self._step(slot, text)
        finally:
            wait([f for _, f in futures])
        for i, f in futures:
            out[i] = f.result()
        return out  # type: ignore[return-value]

    def _step(self, slot: int, text: str) -> EnvStep:
        try:
            return step_env(self._slots[slot].env, text)
        except Exception as exc:  # an infrastructure failure: an error, never a silent reward of 0
            return EnvStep(failure=f"{type(exc).__name__}: {exc}")

    def release(self, jobs: Sequence[tuple[int, bool]]) -> None:
        """Hand each slot's env back to the pool when its episode ended cleanly (the env itself ended
        it, with no error); close it otherwise (an error, an exception, an episode cut short)."""
        for slot, clean in jobs:
            held = self._slots.pop(slot, None)
            if held is None or held.env is None:
                continue
            if clean:
                self.pool.put(held.key, held.env)
            else:
                held.env.close()

    def close(self) -> None:
        """Stop the thread pool (the pool's idle envs are its owner's to close)."""
        self.executor.shutdown(wait=True)


def _template_renders_tools(env: Any) -> bool:
    """Whether the chat template should list the tools: not when the env's system prompt already does
    (the XML protocol always, the JSON protocol with ``tools_in_prompt``)."""
    episode = getattr(env.unwrapped, "episode", None)
    if episode is None:
        return True
    return episode.protocol == "json" and not episode.tools_in_prompt


def _final_answer(env: Any, text: str) -> str | None:
    """The answer a final turn gave, parsed with the env's own protocol (None if it gave none)."""
    inner = env.unwrapped
    if hasattr(inner, "final_answer"):  # an env that parses its answers elsewhere (a remote env)
        return inner.final_answer(text)
    try:
        tools = {t.name: t for t in inner.all_tools()}
        answer = inner.protocol.parse(text, tools).answer
    except Exception:  # an env without the protocol API: no answer to vote on
        return None
    return None if answer is None else str(answer).strip()
