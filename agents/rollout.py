"""The batched multi-turn rollout engine.

Each turn it generates for every live episode in one batch, then steps the envs and appends each
env's reply. The envs live in an env host (``agents.env_runner``): by default an ``EnvRunner`` in this
process, where a step that may block (a tool, a sandbox, a search service: the env's
``step_may_block``) runs in a thread pool bounded by ``max_concurrency`` and a cheap one runs inline,
so a batch of cheap envs pays no thread hand-off; with ``ray_address``, Ray actors across a cluster
(``agents.ray_envs``), each holding an ``EnvRunner``, so CPU-bound env work uses every core. Envs
come from an ``EnvPool`` and go back to it when their episode ended cleanly, so the next ``run``
resets them instead of making new ones. Episodes end on their own; trajectories are
token-in/token-out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from agents.backends.base import Backend, Generation, GenerationRequest, SamplingConfig
from agents.chat import ChatRenderer
from agents.env_pool import EnvPool
from agents.env_runner import EnvHost, EnvRunner, EnvStart, EnvStep
from agents.trajectory import Trajectory, Turn

THINK_OPEN, THINK_CLOSE, WAIT = "<think>", "</think>", "Wait"


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to run: which env, its seed (the task), which sample of that task, env kwargs."""

    env_id: str
    seed: int | None = None
    sample: int = 0
    task_id: str | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RolloutConfig:
    """How episodes are run. ``think_budget``/``wait_rounds`` turn on s1-style budget forcing: thinking
    is cut at ``think_budget`` tokens per turn (a closing think tag is forced), and an early closing tag
    is replaced by "Wait" up to ``wait_rounds`` times. ``ray_address`` runs the envs in Ray actors on
    that cluster (``auto``: the running one; ``local``: start one here; or its address)."""

    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    max_turns: int = 8
    max_concurrency: int = 16
    max_total_tokens: int = 8192
    think_budget: int | None = None
    wait_rounds: int = 0
    ray_address: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Fail with a message naming the bad field."""
        if not 1 <= self.max_turns <= 1000:
            raise ValueError(f"max_turns must be in [1, 1000], got {self.max_turns}")
        if not 1 <= self.max_concurrency <= 4096:
            raise ValueError(f"max_concurrency must be in [1, 4096], got {self.max_concurrency}")
        if not 16 <= self.max_total_tokens <= 10_000_000:
            raise ValueError(f"max_total_tokens must be in [16, 10000000], got {self.max_total_tokens}")
        if self.think_budget is not None and not 1 <= self.think_budget <= 1_000_000:
            raise ValueError(f"think_budget must be in [1, 1000000] or None, got {self.think_budget}")
        if not 0 <= self.wait_rounds <= 100:
            raise ValueError(f"wait_rounds must be in [0, 100], got {self.wait_rounds}")
        if self.wait_rounds and self.think_budget is None:
            raise ValueError("wait_rounds needs think_budget (budget forcing)")
        check_ray_address(self.ray_address)


def check_ray_address(address: str | None) -> None:
    """Fail unless ``address`` is None, ``auto``, ``local`` or a cluster address (no blanks)."""
    if address is not None and (not address or any(c.isspace() for c in address)):
        raise ValueError(f"ray_address must be auto, local or a cluster address (host:port), got {address!r}")


@dataclass
class _Episode:
    spec: EpisodeSpec
    slot: int  # where its env is, in the engine's env host
    traj: Trajectory
    ids: list[int]  # the whole token sequence so far (None-free only with a tokenizer)
    done: bool = False
    clean: bool = False  # the env ended the episode itself, with no error: fit for reuse


class RolloutEngine:
    """Runs many episodes of one or several envs at once with one backend.

    Envs come from ``env_pool`` (pass one to keep envs across engines, as training does per step);
    without one the engine keeps its own, closed with the engine. A custom ``make_env`` alone gets a
    pool that reuses nothing (its env may depend on more than the env id and kwargs). With
    ``config.ray_address`` (or a ``agents.ray_envs.RayEnvs`` as ``env_pool``) the envs live in Ray
    actors across a cluster instead of this process; an episode stays on its actor, and the results
    are the same.
    """

    def __init__(
        self,
        backend: Backend,
        config: RolloutConfig | None = None,
        make_env: Callable[[EpisodeSpec], Any] | None = None,
        env_pool: EnvPool | EnvHost | None = None,
    ):
        self.backend = backend
        self.config = config or RolloutConfig()
        if env_pool is not None and make_env is not None:
            raise ValueError("give make_env or env_pool, not both (an EnvPool takes its own make_env)")
        if isinstance(env_pool, EnvPool) and self.config.ray_address is not None:
            raise ValueError("ray_address runs the envs in Ray actors: give no EnvPool (or a RayEnvs)")
        self._owns_envs = env_pool is None
        self._pool: ThreadPoolExecutor | None = None
        self._runner: EnvRunner | None = None
        self.envs: EnvPool | EnvHost
        if env_pool is None and self.config.ray_address is not None:
            from agents.ray_envs import RayEnvs

            env_pool = RayEnvs(
                self.config.ray_address,
                make_env=make_env,
                max_idle=0 if make_env is not None else None,
                max_concurrency=self.config.max_concurrency,
            )
        elif env_pool is None:
            env_pool = EnvPool() if make_env is None else EnvPool(make_env, max_idle=0)
        self.envs = env_pool
        if isinstance(env_pool, EnvPool):
            self._runner = EnvRunner(env_pool, self.config.max_concurrency)
            self._pool = self._runner.executor
            self._host: EnvHost = self._runner
        else:
            self._host = env_pool
        self._slots = itertools.count()
        tok = getattr(backend, "tokenizer", None)
        self.renderer = ChatRenderer(tok) if tok is not None else None
        if self.config.think_budget is not None and self.renderer is None:
            raise ValueError("budget forcing needs a backend with a tokenizer")

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
        if self._owns_envs:
            self.envs.close()

    def __enter__(self) -> RolloutEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- episodes ---------------------------------------------------------------------------------

    def run(
        self, specs: Sequence[EpisodeSpec], on_episode_end: Callable[[Trajectory], None] | None = None
    ) -> list[Trajectory]:
        """Run every episode to its end; trajectories come back in the order of ``specs``."""
        episodes = self._start_all(specs)
        try:
            for ep in episodes:
                if ep.done and on_episode_end:
                    on_episode_end(ep.traj)
            for _ in range(self.config.max_turns):
                live = [ep for ep in episodes if not ep.done]
                if not live:
                    break
                gens = self._generate(live)
                self._step_all(live, gens)
                for ep in live:
                    if ep.done and on_episode_end:
                        on_episode_end(ep.traj)
            for ep in episodes:
                if not ep.done:
                    ep.traj.truncated = True
                    ep.done = True
                    if on_episode_end:
                        on_episode_end(ep.traj)
        finally:
            self._host.release([(ep.slot, ep.clean) for ep in episodes])
        return [ep.traj for ep in episodes]

    def _start_all(self, specs: Sequence[EpisodeSpec]) -> list[_Episode]:
        """Start every episode on the env host; an episode that could not start is done, with its error."""
        slots = [next(self._slots) for _ in specs]
        started = self._host.start(list(zip(slots, specs, strict=True)))
        return [self._episode(spec, slot, s) for spec, slot, s in zip(specs, slots, started, strict=True)]

    def _episode(self, spec: EpisodeSpec, slot: int, start: EnvStart) -> _Episode:
        if start.error is not None:
            traj = Trajectory(spec.env_id, spec.task_id or "", spec.seed, spec.sample, [], [])
            traj.error = start.error
            traj.meta = dict(start.meta)
            if start.lost:
                traj.meta["env_lost"] = True
            return _Episode(spec=spec, slot=slot, traj=traj, ids=[], done=True)
        traj = Trajectory(
            env_id=spec.env_id,
            task_id=start.task_id,
            seed=spec.seed,
            sample=spec.sample,
            messages=start.messages,
            tools=start.tools,
            reference=start.reference,
            meta=dict(start.meta),
        )
        ids: list[int] = []
        if self.renderer is not None:
            ids = self.renderer.prompt_ids(start.messages, start.tools)
            traj.prompt_ids = list(ids)
        return _Episode(spec=spec, slot=slot, traj=traj, ids=ids)

    def _step_all(self, live: list[_Episode], gens: list[Generation | None]) -> None:
        """Step every live env that got a turn; an episode out of context room is cut short."""
        stepped = [(ep, gen) for ep, gen in zip(live, gens, strict=True) if gen is not None]
        for ep, gen in zip(live, gens, strict=True):
            if gen is None:  # no room left in the context
                ep.traj.truncated, ep.done = True, True
        if not stepped:
            return
        results = self._host.step([(ep.slot, gen.text) for ep, gen in stepped])
        for (ep, gen), result in zip(stepped, results, strict=True):
            self._record(ep, gen, result)

    def _record(self, ep: _Episode, gen: Generation, result: EnvStep) -> None:
        """Record what the env made of the model's turn."""
        traj = ep.traj
        if result.failure is not None:  # an infrastructure failure: an error, never a silent reward of 0
            traj.error = result.failure
            traj.is_success = None
            ep.done = True
            if result.lost:
                traj.meta["env_lost"] = True
            return
        turn = traj.turns[-1]
        turn.reward = result.reward
        turn.reward_components = dict(result.reward_components)
        turn.tool_calls = result.tool_calls
        turn.format_error = result.format_error
        traj.reward += turn.reward
        for k, v in turn.reward_components.items():
            traj.reward_components[k] = traj.reward_components.get(k, 0.0) + v
        traj.messages.append({"role": "assistant", "content": gen.text})
        if result.error:
            traj.error = result.error
        if result.terminated or result.truncated:
            traj.terminated, traj.truncated = result.terminated, result.truncated
            traj.is_success = result.is_success
            traj.answer = result.answer
            ep.done = True
            ep.clean = traj.error is None
            return
        turn.env_messages = result.env_messages
        traj.messages.extend(result.env_messages)
        if self.renderer is not None:
            turn.env_ids = self.renderer.env_reply_ids(result.env_messages, turn.completion_ids)
            ep.ids += turn.env_ids

    # -- generation -------------------------------------------------------------------------------

    def _generate(self, live: list[_Episode]) -> list[Generation | None]:
        """One model turn for every live episode, in one batch; record it in each trajectory."""
        cfg = self.config
        room = [cfg.max_total_tokens - len(ep.ids) for ep in live]
        out: list[Generation | None] = [None] * len(live)
        active = [i for i, r in enumerate(room) if self.renderer is None or r >= 1]
        if not active:
            return out
        batch = [live[i] for i in active]
        if self.renderer is not None:
            max_tokens = min(cfg.sampling.max_tokens, max(room[i] for i in active))
        else:
            max_tokens = cfg.sampling.max_tokens
        sampling = cfg.sampling.with_(max_tokens=max(1, max_tokens))
        if cfg.think_budget is not None:
            results = self._generate_budget_forced(batch, sampling)
        else:
            gens = self.backend.generate([self._request(ep) for ep in batch], sampling)
            results = [(g, []) for g in gens]
        for i, (gen, forced) in zip(active, results, strict=True):
            ep = live[i]
            if self.renderer is not None and gen.token_ids is not None and len(gen.token_ids) > room[i]:
                gen = _truncate(gen, room[i], self.renderer.tokenizer)
                forced = [j for j in forced if j < room[i]]
            ep.traj.turns.append(
                Turn(
                    completion_text=gen.text,
                    completion_ids=list(gen.token_ids or []),
                    completion_logprobs=gen.logprobs,
                    forced=forced,
                    finish_reason=gen.finish_reason,
                )
            )
            ep.ids += list(gen.token_ids or [])
            out[i] = gen
        return out

    def _request(self, ep: _Episode, extra_ids: list[int] | None = None) -> GenerationRequest:
        ids = ep.ids + (extra_ids or []) if self.renderer is not None else None
        return GenerationRequest(
            messages=ep.traj.messages, tools=ep.traj.tools, prompt_ids=ids, episode=ep.spec
        )

    def _generate_budget_forced(
        self, batch: list[_Episode], sampling: SamplingConfig
    ) -> list[tuple[Generation, list[int]]]:
        """s1-style budget forcing over a batch: think up to ``think_budget`` tokens, force the closing
        tag when the budget runs out, and replace an early closing tag by "Wait" ``wait_rounds`` times."""
        assert self.renderer is not None and self.config.think_budget is not None
        enc = self.renderer.encode
        n = len(batch)
        ids: list[list[int]] = [[] for _ in range(n)]
        lps: list[list[float] | None] = [[] for _ in range(n)]
        forced: list[list[int]] = [[] for _ in range(n)]
        phase = ["think"] * n
        waits = [0] * n
        finish = ["stop"] * n

        def add(i: int, new_ids: list[int], new_lps: list[float] | None, is_forced: bool) -> None:
            if is_forced:
                forced[i].extend(range(len(ids[i]), len(ids[i]) + len(new_ids)))
            ids[i].extend(new_ids)
            if lps[i] is not None:
                lps[i] = (
                    None
                    if (new_lps is None and not is_forced)
                    else lps[i] + (new_lps or [0.0] * len(new_ids))
                )

        for _ in range(2 * self.config.wait_rounds + 4):
            thinking = [i for i in range(n) if phase[i] == "think"]
            answering = [i for i in range(n) if phase[i] == "answer"]
            if not thinking and not answering:
                break
            if thinking:
                left = [self.config.think_budget - len(ids[i]) + len(forced[i]) for i in thinking]
                budget = max(1, min(min(left), sampling.max_tokens))
                gens = self.backend.generate(
                    [self._request(batch[i], ids[i]) for i in thinking],
                    sampling.with_(max_tokens=budget, stop=(THINK_CLOSE,)),
                )
                for i, g in zip(thinking, gens, strict=True):
                    g_ids = list(g.token_ids or [])
                    add(i, g_ids, g.logprobs, False)
                    if g_ids and g_ids[-1] == self.renderer.eos_id:
                        phase[i] = "done"
                    elif g.text.endswith(THINK_CLOSE):
                        if waits[i] < self.config.wait_rounds:
                            waits[i] += 1
                            cut = _tokens_covering_suffix(self.renderer.tokenizer, ids[i], THINK_CLOSE)
                            del ids[i][-cut:]
                            if lps[i] is not None:
                                lps[i] = lps[i][:-cut]
                            add(i, enc(WAIT), None, True)
                        else:
                            phase[i] = "answer"
                    elif self.config.think_budget - len(ids[i]) + len(forced[i]) <= 0:
                        text = self.renderer.tokenizer.decode(ids[i])
                        if THINK_OPEN in text:
                            add(i, enc("\n" + THINK_CLOSE + "\n"), None, True)
                            phase[i] = "answer"
                        else:
                            phase[i], finish[i] = "done", "length"
            if answering:
                gens = self.backend.generate([self._request(batch[i], ids[i]) for i in answering], sampling)
                for i, g in zip(answering, gens, strict=True):
                    add(i, list(g.token_ids or []), g.logprobs, False)
                    phase[i], finish[i] = "done", g.finish_reason
        results = []
        for i in range(n):
            turn_ids = ids[i]
            ended = bool(turn_ids) and turn_ids[-1] == self.renderer.eos_id
            text = self.renderer.tokenizer.decode(
                turn_ids[:-1] if ended else turn_ids, skip_special_tokens=False
            )
            results.append((Generation(text, turn_ids, lps[i], finish[i]), forced[i]))
        return results


def _truncate(gen: Generation, n: int, tokenizer: Any) -> Generation:
    """The first ``n`` tokens of a generation (an episode out of context room)."""
    ids = list(gen.token_ids or [])[:n]
    logprobs = gen.logprobs[:n] if gen.logprobs is not None else None
    return Generation(tokenizer.decode(ids, skip_special_tokens=False), ids, logprobs, "length")


def _tokens_covering_suffix(tokenizer: Any, ids: list[int], suffix: str) -> int:
    """How many trailing tokens it takes for their text to contain ``suffix``."""
    for k in range(1, len(ids) + 1):
        if suffix in tokenizer.decode(ids[-k:]):
            return k
    return len(ids)
