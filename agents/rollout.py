"""The batched multi-turn rollout engine.

Each turn it generates for every live episode in one batch, then steps the envs and appends each
env's reply. A step that may block (a tool, a sandbox, a search service: the env's ``step_may_block``)
runs in a thread pool bounded by ``max_concurrency``; a cheap one runs inline, so a batch of cheap
envs pays no thread hand-off. Envs come from an ``EnvPool`` and go back to it when their episode
ended cleanly, so the next ``run`` resets them instead of making new ones. Episodes end on their own;
trajectories are token-in/token-out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from agents.backends.base import Backend, Generation, GenerationRequest, SamplingConfig
from agents.chat import ChatRenderer
from agents.env_pool import EnvPool, PoolKey, step_may_block
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
    is replaced by "Wait" up to ``wait_rounds`` times."""

    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    max_turns: int = 8
    max_concurrency: int = 16
    max_total_tokens: int = 8192
    think_budget: int | None = None
    wait_rounds: int = 0

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


@dataclass
class _Episode:
    spec: EpisodeSpec
    env: Any
    traj: Trajectory
    ids: list[int]  # the whole token sequence so far (None-free only with a tokenizer)
    done: bool = False
    key: PoolKey = ("", "")
    inline: bool = False  # step on the main thread (the env's step cannot block)
    clean: bool = False  # the env ended the episode itself, with no error: fit for reuse


class RolloutEngine:
    """Runs many episodes of one or several envs at once with one backend.

    Envs come from ``env_pool`` (pass one to keep envs across engines, as training does per step);
    without one the engine keeps its own, closed with the engine. A custom ``make_env`` alone gets a
    pool that reuses nothing (its env may depend on more than the env id and kwargs).
    """

    def __init__(
        self,
        backend: Backend,
        config: RolloutConfig | None = None,
        make_env: Callable[[EpisodeSpec], Any] | None = None,
        env_pool: EnvPool | None = None,
    ):
        self.backend = backend
        self.config = config or RolloutConfig()
        if env_pool is not None and make_env is not None:
            raise ValueError("give make_env or env_pool, not both (an EnvPool takes its own make_env)")
        self._owns_envs = env_pool is None
        if env_pool is None:
            env_pool = EnvPool() if make_env is None else EnvPool(make_env, max_idle=0)
        self.envs = env_pool
        tok = getattr(backend, "tokenizer", None)
        self.renderer = ChatRenderer(tok) if tok is not None else None
        if self.config.think_budget is not None and self.renderer is None:
            raise ValueError("budget forcing needs a backend with a tokenizer")
        self._pool = ThreadPoolExecutor(max_workers=self.config.max_concurrency, thread_name_prefix="env")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
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
            self._release(episodes)
        return [ep.traj for ep in episodes]

    def _release(self, episodes: list[_Episode]) -> None:
        """Hand each env back to the pool when the env itself ended its episode with no error; close
        it otherwise (an error, an exception, an episode the engine cut short)."""
        for ep in episodes:
            if ep.env is None:
                continue
            if ep.clean:
                self.envs.put(ep.key, ep.env)
            else:
                ep.env.close()
            ep.env = None

    def _start_all(self, specs: Sequence[EpisodeSpec]) -> list[_Episode]:
        """Start every episode. Inline: a pooled env that cannot block is reset, and a new env of a key
        known not to block is made and reset. In the thread pool: the rest (envs that may block, new
        envs of a key not seen yet)."""
        episodes: list[_Episode | None] = [None] * len(specs)
        later: list[tuple[int, EpisodeSpec, PoolKey, Any]] = []
        for i, spec in enumerate(specs):
            key = self.envs.key(spec)
            env = self.envs.take(key)
            inline = self.envs.cheap(key) if env is None else not step_may_block(env)
            if inline:
                episodes[i] = self._start(spec, key, env)
            else:
                later.append((i, spec, key, env))
        if later:
            started = self._pool.map(lambda job: self._start(*job[1:]), later)
            for (i, *_), ep in zip(later, started, strict=True):
                episodes[i] = ep
        return episodes  # type: ignore[return-value]

    def _start(self, spec: EpisodeSpec, key: PoolKey, env: Any | None) -> _Episode:
        try:
            if env is None:
                env = self.envs.make(spec)
            options = {"task_id": spec.task_id} if spec.task_id is not None else None
            _, info = env.reset(seed=spec.seed, options=options)
        except Exception as exc:  # an env that cannot start is this episode's error, not the batch's
            traj = Trajectory(spec.env_id, spec.task_id or "", spec.seed, spec.sample, [], [])
            traj.error = f"reset failed: {type(exc).__name__}: {exc}"
            return _Episode(spec=spec, env=env, traj=traj, ids=[], done=True, key=key)
        messages = [dict(m) for m in info["messages"]]
        tools = list(info.get("tools") or []) if _template_renders_tools(env) else []
        traj = Trajectory(
            env_id=spec.env_id,
            task_id=str(info.get("task_id", "")),
            seed=spec.seed,
            sample=spec.sample,
            messages=messages,
            tools=tools,
            reference=getattr(getattr(env.unwrapped, "task", None), "answer", None),
        )
        ids: list[int] = []
        if self.renderer is not None:
            ids = self.renderer.prompt_ids(messages, tools)
            traj.prompt_ids = list(ids)
        return _Episode(spec=spec, env=env, traj=traj, ids=ids, key=key, inline=not step_may_block(env))

    def _step_all(self, live: list[_Episode], gens: list[Generation | None]) -> None:
        """Step every live env: the ones that may block in the thread pool, meanwhile the rest inline."""
        futures: list[Future[None]] = [
            self._pool.submit(self._step, ep, gen)
            for ep, gen in zip(live, gens, strict=True)
            if not ep.inline
        ]
        try:
            for ep, gen in zip(live, gens, strict=True):
                if ep.inline:
                    self._step(ep, gen)
        finally:
            wait(futures)
        for f in futures:
            f.result()

    def _step(self, ep: _Episode, gen: Generation | None) -> None:
        """Step one env with the model's turn; record the reply. Runs inline or in a pool thread."""
        if gen is None:  # no room left in the context
            ep.traj.truncated, ep.done = True, True
            return
        turn = ep.traj.turns[-1]
        try:
            _, reward, terminated, truncated, info = ep.env.step(gen.text)
        except Exception as exc:  # an infrastructure failure: an error, never a silent reward of 0
            ep.traj.error = f"{type(exc).__name__}: {exc}"
            ep.traj.is_success = None
            ep.done = True
            return
        turn.reward = float(reward)
        turn.reward_components = {k: float(v) for k, v in (info.get("reward_components") or {}).items()}
        turn.tool_calls = len(info.get("tool_calls") or [])
        turn.format_error = bool(info.get("format_error", False))
        traj = ep.traj
        traj.reward += turn.reward
        for k, v in turn.reward_components.items():
            traj.reward_components[k] = traj.reward_components.get(k, 0.0) + v
        traj.messages.append({"role": "assistant", "content": gen.text})
        if info.get("error"):
            traj.error = str(info["error"])
        if terminated or truncated:
            traj.terminated, traj.truncated = bool(terminated), bool(truncated)
            traj.is_success = info.get("is_success")
            traj.answer = _final_answer(ep.env, gen.text)
            ep.done = True
            ep.clean = traj.error is None
            return
        env_messages = [dict(m) for m in info.get("messages") or []]
        turn.env_messages = env_messages
        traj.messages.extend(env_messages)
        if self.renderer is not None:
            turn.env_ids = self.renderer.env_reply_ids(env_messages, turn.completion_ids)
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
