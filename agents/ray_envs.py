"""``RayEnvs``: the rollout engine's envs in Ray actors spread over a cluster's nodes.

One actor per CPU of the cluster (``num_cpus=1``, SPREAD scheduling), each holding an ``EnvRunner``
(its own env pool, and threads for steps that may block), so CPU-bound env work (puzzle generation,
graders) runs on every core of every node instead of behind one process's GIL. An episode stays on
the actor that started it; each turn the engine sends every actor one call with all of its episodes'
steps. An actor that dies, or whose node does, turns its episodes into infrastructure errors (the
trajectory's ``error``, never a reward of 0) and the run goes on with the others; a lost actor is
replaced for the episodes started after. Every node needs toolgym installed (``pip install
toolgym[ray]``), as the actors import it there. Ray runs its workers at niceness 15; a cluster
started here (``local``) runs them at 0, so that env work gets its share of a shared machine (start
nodes with ``RAY_worker_niceness=0 ray start ...`` for the same).

Imported only when ``ray_address`` is given: the rest of toolgym never imports Ray.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import GetTimeoutError, RayError

from agents.env_pool import MAX_IDLE, EnvPool
from agents.env_runner import EnvHostError, EnvRunner, EnvStart, EnvStep

if TYPE_CHECKING:
    from agents.rollout import EpisodeSpec

READY_TIMEOUT = 120.0


class EnvActor:
    """A Ray actor's envs: an ``EnvRunner`` over its own pool; where it runs goes into each start."""

    def __init__(
        self, make_env: Callable[[EpisodeSpec], Any] | None, max_idle: int, max_concurrency: int
    ) -> None:
        self.runner = EnvRunner(EnvPool(make_env, max_idle=max_idle), max_concurrency)
        ctx = ray.get_runtime_context()
        self.meta = {"ray_node_id": ctx.get_node_id(), "ray_actor_id": ctx.get_actor_id()}

    def ready(self) -> dict[str, Any]:
        """Where this actor runs (and its process id)."""
        return {**self.meta, "pid": os.getpid()}

    def start(self, jobs: list[tuple[int, EpisodeSpec]]) -> list[EnvStart]:
        out = self.runner.start(jobs)
        for s in out:
            s.meta = dict(self.meta)
        return out

    def step(self, jobs: list[tuple[int, str]]) -> list[EnvStep]:
        return self.runner.step(jobs)

    def release(self, jobs: list[tuple[int, bool]]) -> None:
        self.runner.release(jobs)

    def cpu_seconds(self) -> float:
        """CPU time this actor's process has used."""
        return time.process_time()

    def close(self) -> None:
        self.runner.close()
        self.runner.pool.close()


_RemoteEnvActor = ray.remote(EnvActor)


@dataclass
class _Actor:
    handle: Any
    ready: Any  # the ObjectRef of its ready() call
    state: str = "pending"  # pending, up or dead
    meta: dict[str, Any] = field(default_factory=dict)
    releasing: list[Any] = field(default_factory=list)  # ObjectRefs of release calls not yet read


class RayEnvs:
    """The envs of running episodes in Ray actors on the cluster at ``address``: ``auto`` (the running
    cluster, or ``RAY_ADDRESS``), ``local`` (start a one-node cluster here) or an address
    (``host:port``, ``ray://host:port``). Connects unless Ray is connected already (and disconnects at
    ``close`` only then).

    ``num_actors`` defaults to the cluster's CPUs; ``max_concurrency`` (steps that may block running
    at once) is shared out among the actors; ``make_env`` and ``max_idle`` are the actors' ``EnvPool``'s.
    """

    def __init__(
        self,
        address: str,
        make_env: Callable[[EpisodeSpec], Any] | None = None,
        max_idle: int | None = None,
        max_concurrency: int = 16,
        num_actors: int | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        self.address = address
        self.ready_timeout = ready_timeout
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            _connect(address)
        try:
            cpus = int(ray.cluster_resources().get("CPU", 0))
            self.size = num_actors or cpus
            if self.size < 1:
                raise EnvHostError(f"the Ray cluster at {address!r} has no CPU for env actors")
            per_actor = max(1, math.ceil(max_concurrency / self.size))
            self._options = {"num_cpus": 1, "scheduling_strategy": "SPREAD"}
            self._args = (make_env, MAX_IDLE if max_idle is None else max_idle, per_actor)
            self._actors: list[_Actor] = []
            self._where: dict[int, int] = {}  # slot -> actor index
            self._top_up()
            ray.wait([a.ready for a in self._actors], num_returns=self.size, timeout=ready_timeout)
            self._refresh()
            if not self._up():
                raise EnvHostError(
                    f"no env actor started on the Ray cluster at {address!r} within {ready_timeout:.0f}s"
                )
        except BaseException:
            self.close()
            raise

    # -- actors ------------------------------------------------------------------------------------

    def _top_up(self) -> None:
        """Start new actors for the dead ones (a lost node's stay pending until there is room)."""
        live = sum(a.state != "dead" for a in self._actors)
        for _ in range(self.size - live):
            handle = _RemoteEnvActor.options(**self._options).remote(*self._args)
            self._actors.append(_Actor(handle, handle.ready.remote()))

    def _refresh(self, timeout: float = 0) -> None:
        """Mark the pending actors that came up (waiting up to ``timeout`` for the first)."""
        pending = [a for a in self._actors if a.state == "pending"]
        if not pending:
            return
        done, _ = ray.wait([a.ready for a in pending], num_returns=1, timeout=timeout)
        if done:
            done, _ = ray.wait([a.ready for a in pending], num_returns=len(pending), timeout=0)
        ready = set(done)
        for a in pending:
            if a.ready in ready:
                try:
                    a.meta = ray.get(a.ready)
                    a.state = "up"
                except RayError:
                    a.state = "dead"

    def _up(self) -> list[int]:
        return [i for i, a in enumerate(self._actors) if a.state == "up"]

    def _lost(self, index: int, exc: BaseException) -> str:
        """Mark actor ``index`` dead (ending it if it still runs) and say what was lost."""
        actor = self._actors[index]
        actor.state = "dead"
        with contextlib.suppress(Exception):  # already gone
            ray.kill(actor.handle, no_restart=True)
        first = (str(exc).strip().splitlines() or [""])[0]
        node = str(actor.meta.get("ray_node_id", "?"))[:12]
        return f"env actor lost (Ray node {node}): {type(exc).__name__}: {first}"

    @property
    def node_ids(self) -> list[str]:
        """The nodes of the actors that are up."""
        return [self._actors[i].meta["ray_node_id"] for i in self._up()]

    def cpu_seconds(self) -> float:
        """CPU time the actors that are up have used, summed."""
        return float(sum(ray.get([self._actors[i].handle.cpu_seconds.remote() for i in self._up()])))

    @property
    def actors(self) -> list[tuple[Any, dict[str, Any]]]:
        """The actors that are up: each handle with where it runs (node, actor id, pid)."""
        return [(self._actors[i].handle, dict(self._actors[i].meta)) for i in self._up()]

    # -- the env host ------------------------------------------------------------------------------

    def start(self, jobs: Sequence[tuple[int, EpisodeSpec]]) -> list[EnvStart]:
        """Start the episodes on the actors that are up, in turn (``jobs[i]`` on actor ``i % n``)."""
        self._top_up()
        self._refresh()
        if not self._up():
            self._refresh(self.ready_timeout)
        up = self._up()
        if not up:
            msg = f"reset failed: EnvHostError: no env actor is up on the Ray cluster at {self.address!r}"
            return [EnvStart(error=msg, lost=True) for _ in jobs]
        groups: dict[int, list[int]] = {}
        for i, (slot, _) in enumerate(jobs):
            actor = up[i % len(up)]
            self._where[slot] = actor
            groups.setdefault(actor, []).append(i)
        refs = {a: self._actors[a].handle.start.remote([jobs[i] for i in idx]) for a, idx in groups.items()}
        out: list[EnvStart | None] = [None] * len(jobs)
        for a, ref in refs.items():
            try:
                results = ray.get(ref)
                self._settle(a)
            except RayError as exc:
                msg = "reset failed: " + self._lost(a, exc)
                meta = {k: v for k, v in self._actors[a].meta.items() if k != "pid"}
                results = [EnvStart(error=msg, lost=True, meta=dict(meta)) for _ in groups[a]]
            for i, result in zip(groups[a], results, strict=True):
                out[i] = result
        return out  # type: ignore[return-value]

    def step(self, jobs: Sequence[tuple[int, str]]) -> list[EnvStep]:
        """Step each episode on its own actor, one call per actor; a lost actor's steps are failures."""
        groups: dict[int, list[int]] = {}
        for i, (slot, _) in enumerate(jobs):
            groups.setdefault(self._where[slot], []).append(i)
        out: list[EnvStep | None] = [None] * len(jobs)
        refs = {}
        for a, idx in groups.items():
            if self._actors[a].state == "up":
                refs[a] = self._actors[a].handle.step.remote([jobs[i] for i in idx])
            else:
                for i in idx:
                    out[i] = EnvStep(failure="env actor lost before this step", lost=True)
        for a, ref in refs.items():
            try:
                results = ray.get(ref)
            except RayError as exc:
                msg = self._lost(a, exc)
                results = [EnvStep(failure=msg, lost=True) for _ in groups[a]]
            for i, result in zip(groups[a], results, strict=True):
                out[i] = result
        return out  # type: ignore[return-value]

    def release(self, jobs: Sequence[tuple[int, bool]]) -> None:
        """Hand the envs back to their actors' pools (clean) or close them. Not waited for: an
        actor runs its calls in order, so its next ``start`` sees them; its outcome is read then."""
        groups: dict[int, list[tuple[int, bool]]] = {}
        for slot, clean in jobs:
            actor = self._where.pop(slot, None)
            if actor is not None and self._actors[actor].state == "up":
                groups.setdefault(actor, []).append((slot, clean))
        for a, group in groups.items():
            self._actors[a].releasing.append(self._actors[a].handle.release.remote(group))

    def _settle(self, index: int) -> None:
        """Read the outcome of actor ``index``'s earlier releases (they ran before its last call)."""
        refs, self._actors[index].releasing = self._actors[index].releasing, []
        for ref in refs:
            try:
                ray.get(ref)
            except RayError as exc:
                self._lost(index, exc)
                return

    def close(self) -> None:
        """Close the actors' envs, end the actors, and disconnect from Ray if this connected."""
        actors = getattr(self, "_actors", [])
        closing = [a.handle.close.remote() for a in actors if a.state == "up"]
        closing += [ref for a in actors for ref in a.releasing]
        if closing:
            with contextlib.suppress(RayError, GetTimeoutError):
                ray.wait(closing, num_returns=len(closing), timeout=10)
        for a in actors:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(a.handle, no_restart=True)
        self._actors = []
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
            self._owns_ray = False


def _connect(address: str) -> None:
    """Connect to the cluster (or start a local one for ``local``); a one-line error if it fails."""
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING}
    if address == "local":  # Ray's workers run at niceness 15: env work would yield to all else here
        kwargs.update(include_dashboard=False, _system_config={"worker_niceness": 0})
    try:
        ray.init(address=address, **kwargs)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise EnvHostError(f"cannot reach the Ray cluster at {address!r}: {first}") from exc
