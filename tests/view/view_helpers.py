"""Helpers of the viewer tests: episodes played for real by the rollout engine (a scripted model
tokenized with the tiny tokenizer, so they carry token ids and the env mask) and synthetic records."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import gymnasium as gym

import envs  # noqa: F401
from agents.backends.base import Generation, GenerationRequest, SamplingConfig
from agents.rollout import EpisodeSpec, RolloutConfig, RolloutEngine
from agents.trajectory import Trajectory, Turn

#: A 1x1 PNG, standing for a train run's reward plot.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001d507211d0000000049454e44ae426082"
)


class Scripted:
    """A backend whose turns ``script(env, seed, turn_number)`` writes, tokenized for real."""

    def __init__(self, tokenizer: Any, script: Callable[[Any, int, int], str], env: Any):
        self.tokenizer, self.script, self.env = tokenizer, script, env

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[Generation]:
        out = []
        for r in requests:
            self.env.reset(seed=r.episode.seed)
            turn = sum(m["role"] == "assistant" for m in r.messages)
            text = self.script(self.env, r.episode.seed, turn)
            ids = self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id]
            out.append(Generation(text=text, token_ids=ids, logprobs=[-0.5] * len(ids)))
        return out

    def close(self) -> None:
        pass


def play(tokenizer: Any, env_id: str, kwargs: dict, seeds: list[int], script) -> list[Trajectory]:
    """Episodes of ``env_id`` on ``seeds`` played by ``script``."""
    env = gym.make(env_id, **kwargs).unwrapped
    with RolloutEngine(Scripted(tokenizer, script, env), RolloutConfig(max_turns=4)) as engine:
        return engine.run([EpisodeSpec(env_id, seed=s, env_kwargs=kwargs) for s in seeds])


def checker(solved: Callable[[int], bool], fumble: Callable[[int], bool] = lambda s: False):
    """Turn 1 checks a candidate with the check tool (or writes no call at all when ``fumble``), turn 2
    answers it: the reference when ``solved(seed)``, else a wrong answer."""

    def script(env: Any, seed: int, turn: int) -> str:
        answer = env.task.answer if solved(seed) else "1 + 1"
        if turn == 0:
            return (
                "I am not sure yet."
                if fumble(seed)
                else "Let me check. " + env.call_turn("check", candidate=answer)
            )
        return env.answer_turn(answer)

    return script


def synthetic(n: int, k: int = 4, seed: int = 0) -> list[Trajectory]:
    """``n`` tasks x ``k`` samples of made-up episodes over two envs (no token ids): varied rewards,
    answers (for maj@k), format errors, truncations and infrastructure errors."""
    rng = random.Random(seed)
    out = []
    for task in range(n):
        env_id = "toolgym/Countdown-v0" if task % 3 else "toolgym/Sudoku-v0"
        for sample in range(k):
            error = rng.random() < 0.05
            success = None if error else rng.random() < 0.4
            turns = [
                Turn(
                    completion_text=f"turn {t}", tool_calls=rng.randint(0, 2), format_error=rng.random() < 0.1
                )
                for t in range(rng.randint(1, 4))
            ]
            out.append(
                Trajectory(
                    env_id=env_id,
                    task_id=f"{env_id.split('/')[1].lower()}/{task}",
                    seed=task,
                    sample=sample,
                    messages=[{"role": "user", "content": f"task {task}"}],
                    tools=[],
                    turns=turns,
                    reward=float(bool(success)) + rng.choice([0.0, -0.1]),
                    is_success=success,
                    answer=None if error else rng.choice(["A", "a ", "B", "c"]),
                    error="boom" if error else None,
                    terminated=not error and rng.random() < 0.8,
                    truncated=rng.random() < 0.2,
                )
            )
    return out
