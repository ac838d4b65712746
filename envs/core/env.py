"""``ToolEnv``: the base class of every toolgym env, a multi-turn, tool-using text ``gymnasium.Env``."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from envs.core.config import Config, EpisodeConfig
from envs.core.errors import EpisodeEndedError, InfraError
from envs.core.protocol import ParsedTurn, Protocol, get_protocol, is_placeholder_answer
from envs.core.seeding import reseed
from envs.core.spaces import AnyText
from envs.core.task import Task, Verdict
from envs.core.tool import Tool, ToolArgumentError, tool

_MAX_OBS_CHARS = 16_000
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters other than \t \n \r


def looks_binary(text: str) -> bool:
    """Whether a turn looks like binary data rather than text (NUL bytes or many control chars)."""
    if "\x00" in text:
        return True
    sample = text[:4096]
    controls = len(_CONTROLS.findall(sample))
    return len(sample) > 0 and controls / len(sample) > 0.1


@dataclass
class _Frame:
    """What every episode of an env shares while its config stays the same: the tools, the system
    prompt and the tool schemas, built once and reused (a task only fills in the user turn)."""

    config: Any
    episode: EpisodeConfig
    tools: list[Tool]
    by_name: dict[str, Tool]
    system_prompt: str
    schemas: list[dict[str, Any]]
    answer_shape: str


class ToolEnv(gym.Env[str, str]):
    """A multi-turn env: the action is the model's whole turn, the observation the tools' results.

    Subclasses set ``config_cls`` and implement ``instructions``, ``verify`` and either
    ``_make_task`` (procedural tasks) or ``task_ids`` and ``_load_task`` (a fixed task list); they list
    their tools in ``tools``. Keyword arguments are split between ``EpisodeConfig`` (protocol,
    max_turns, format_penalty, tool_cost, check_tool, ...) and the family's ``config_cls``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    config_cls: ClassVar[type[Config]] = Config
    episode_defaults: ClassVar[dict[str, Any]] = {}
    supports_check: ClassVar[bool] = False
    #: Whether ``step`` may block on something outside the process (a sandbox, a service, I/O, a
    #: slow tool): an agent loop then runs it off its main thread; ``False`` promises a cheap,
    #: CPU-only step that is fine to run inline. Unknown tools may block, so the default is ``True``.
    step_may_block: ClassVar[bool] = True

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        episode_kwargs, rest = EpisodeConfig.split_kwargs({**self.episode_defaults, **kwargs})
        family_kwargs, unknown = self.config_cls.split_kwargs(rest)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown keyword argument(s): {sorted(unknown)}")
        self.episode = EpisodeConfig(**episode_kwargs)
        if self.episode.check_tool and not self.supports_check:
            raise ValueError(f"check_tool: {type(self).__name__} has no check tool")
        self.config = self.config_cls(**family_kwargs)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.protocol: Protocol = get_protocol(self.episode.protocol)
        self.observation_space = AnyText()
        self.action_space = AnyText()
        self.task: Task | None = None
        self.messages: list[dict[str, Any]] = []
        self.turn = 0
        self._done = True
        self._return = 0.0
        self._final: Verdict | None = None
        self._frame: _Frame | None = None
        self._own_rng: np.random.Generator | None = None

    # ---- what subclasses provide -------------------------------------------------------------
    def instructions(self) -> str:
        """What the system prompt says about the task family and the answer format."""
        raise NotImplementedError

    def answer_shape(self) -> str:
        """What a final answer of this family is, in words (``"an arithmetic expression"``): the
        system prompt and the format-error message say it instead of showing a copyable placeholder."""
        return "your final answer"

    def verify(self, task: Task, answer: str) -> Verdict:
        """Decide on a final answer; raise ``InfraError`` when the verifier itself cannot run."""
        raise NotImplementedError

    def tools(self) -> list[Tool]:
        """The tools of this episode (besides ``check`` and the JSON protocol's ``answer``)."""
        return []

    def _make_task(self, rng: np.random.Generator) -> Task:
        """A new task drawn with ``rng`` (procedural envs)."""
        raise NotImplementedError

    def task_ids(self) -> Sequence[str] | None:
        """The ids of a fixed task list, or ``None`` for procedural envs."""
        return None

    def _load_task(self, task_id: str) -> Task:
        """The task with this id (fixed lists, and procedural envs whose ids encode a seed)."""
        raise KeyError(f"{type(self).__name__} cannot select a task by id")

    def _start_episode(self) -> None:
        """Per-episode state (sessions, boards); called after the task is chosen."""

    def _end_episode(self) -> None:
        """Release per-episode resources; called when an episode ends, on reset and on close."""

    # ---- the gymnasium API ------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        if type(seed) is int and seed >= 0:
            # gymnasium's seeding, with the env's generator re-seeded in place rather than made anew
            self._own_rng = reseed(self._own_rng, seed)
            self._np_random = self._own_rng
            self._np_random_seed = seed
        else:
            super().reset(seed=seed)
        self._end_episode()
        options = options or {}
        if "task_id" in options:
            self.task = self._load_task(str(options["task_id"]))
        elif (ids := self.task_ids()) is not None:
            self.task = self._load_task(ids[int(self.np_random.integers(len(ids)))])
        else:
            self.task = self._make_task(self.np_random)
        self.turn = 0
        self._done = False
        self._return = 0.0
        self._final = None
        self._start_episode()
        frame = self._episode_frame()
        self.messages = [
            {"role": "system", "content": frame.system_prompt},
            {"role": "user", "content": self.task.prompt},
        ]
        info = {
            "messages": [dict(m) for m in self.messages],
            "tools": list(frame.schemas),
            "task_id": self.task.id,
            "turn": 0,
        }
        return self.task.prompt, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise EpisodeEndedError("the episode has ended (or never started): call reset() before step()")
        if not isinstance(action, str):
            raise TypeError(f"an action is the model's turn as a str, got {type(action).__name__}")
        self.turn += 1
        self.messages.append({"role": "assistant", "content": action})
        frame = self._episode_frame()
        tools = frame.by_name
        parts: dict[str, float] = {"format": 0.0, "tool_cost": 0.0, "score": 0.0}
        info: dict[str, Any] = {"turn": self.turn, "tool_calls": [], "format_error": None}

        parsed = self._parse(action, tools)
        if parsed.answer is not None and self._is_placeholder(parsed.answer, frame.answer_shape):
            # an empty or template answer is a format error, never scored: copying a placeholder must
            # not beat a format error
            parsed.errors.append(
                f"the answer {parsed.answer[:40]!r} is empty or a placeholder; "
                f"{self.protocol.how_to_answer(self.answer_shape())}"
            )
            parsed.answer = None
        results: list[tuple[Tool, str]] = []
        terminated = truncated = False
        verdict: Verdict | None = None
        try:
            if parsed.answer is not None:
                verdict = self.verify(self.task, parsed.answer)
                terminated = True
            else:
                for call in parsed.calls[: self.episode.max_calls_per_turn]:
                    results.append(
                        (tools[call.name], self._run_tool(tools[call.name], call.arguments, parsed))
                    )
                    info["tool_calls"].append({"name": call.name, "arguments": call.arguments})
                if len(parsed.calls) > self.episode.max_calls_per_turn:
                    parsed.errors.append(
                        f"only {self.episode.max_calls_per_turn} tool calls per turn are run; "
                        f"{len(parsed.calls) - self.episode.max_calls_per_turn} were dropped"
                    )
                if not parsed.calls and not parsed.errors:
                    parsed.errors.append(self._nothing_found())
                if self._final is not None:
                    verdict, terminated = self._final, True
        except InfraError as e:
            return self._infra_failure(str(e), info)

        if parsed.errors:
            parts["format"] = -self.episode.format_penalty
            info["format_error"] = "; ".join(parsed.errors)
        if info["tool_calls"] and self.episode.tool_cost:
            parts["tool_cost"] = -self.episode.tool_cost * len(info["tool_calls"])
        if not terminated and self.turn >= self.episode.max_turns:
            truncated = True
        if verdict is not None:
            parts["score"] = float(verdict.score)
            parts.update({k: float(v) for k, v in verdict.parts.items()})
            info["is_success"] = bool(verdict.success)
        elif truncated:
            info["is_success"] = False

        obs, new_messages = self._observation(parsed, results, terminated, truncated)
        self.messages.extend(new_messages)
        reward = parts["format"] + parts["tool_cost"] + parts["score"]
        self._return += reward
        info.update(messages=new_messages, reward_components=parts, episode_return=self._return)
        if terminated or truncated:
            self._finish()
        return obs, float(reward), terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return "\n\n".join(f"[{m['role']}] {m['content']}" for m in self.messages)

    def close(self) -> None:
        self._end_episode()
        super().close()

    # ---- helpers ---------------------------------------------------------------------------
    def all_tools(self) -> list[Tool]:
        """This episode's tools, with ``check`` when it is on."""
        tools = list(self.tools())
        if self.episode.check_tool:
            tools.append(self.check)
        return tools

    def _episode_frame(self) -> _Frame:
        """The tools, system prompt and schemas of this env's episodes, rebuilt only when its
        ``config`` or ``episode`` settings changed (a curriculum raising the difficulty)."""
        frame = self._frame
        if frame is not None and frame.config == self.config and frame.episode == self.episode:
            return frame
        config, episode = copy.copy(self.config), copy.copy(self.episode)
        tools = self.all_tools()
        self._frame = frame = _Frame(
            config=config,
            episode=episode,
            tools=tools,
            by_name={t.name: t for t in tools},
            system_prompt=self.system_prompt(tools),
            schemas=self.protocol.schemas(tools),
            answer_shape=self.answer_shape(),
        )
        return frame

    def system_prompt(self, tools: list[Tool]) -> str:
        parts = [self.instructions().strip()]
        if self.episode.tools_in_prompt or self.episode.protocol == "xml":
            parts.append(self.protocol.describe(tools, self.answer_shape()))
        return "\n\n".join(parts)

    def finish(self, verdict: Verdict) -> None:
        """End the episode after this turn's tool calls with ``verdict`` (for games, where a move can
        win or lose): tools call it; the calls after it in the same turn are still run."""
        self._final = verdict

    def demonstration(self) -> list[str]:
        """The model turns of a demonstration of the current task: its reference solution played in
        this env's protocol, to be stepped one by one (the tool results come from the env itself).
        Here: a ``check`` call on ``task.answer`` when that tool is on, then the answer; envs with
        tools override it to use them first. Empty when the task has no reference answer."""
        return self._closing_turns(self.episode.max_turns)

    def _closing_turns(self, turns_left: int) -> list[str]:
        """The last turns of a demonstration with ``turns_left`` turns to go: a ``check`` call on the
        reference answer when that tool is on and there is room for it, then the answer."""
        if self.task is None:
            raise EpisodeEndedError("no task yet: call reset() before demonstration()")
        answer = self.task.answer
        if not answer.strip() or turns_left < 1:
            return []
        if self.episode.check_tool and turns_left > 1:
            return [self.call_turn("check", candidate=answer), self.answer_turn(answer)]
        return [self.answer_turn(answer)]

    def answer_turn(self, answer: str) -> str:
        """The turn that submits ``answer`` in this env's protocol."""
        return self.protocol.render_answer(answer)

    def show_answer(self, answer: str) -> str:
        """``answer`` submitted in this env's protocol, inline, for instructions and examples."""
        return self.protocol.show_answer(answer)

    def show_call(self, name: str, **arguments: Any) -> str:
        """The call of tool ``name`` in this env's protocol, inline, for instructions and examples."""
        return self.protocol.show_call(name, arguments, self._tools_by_name())

    def call_turn(self, name: str, **arguments: Any) -> str:
        """The turn that calls tool ``name`` with ``arguments`` in this env's protocol."""
        return self.protocol.render_call(name, arguments, self._tools_by_name())

    @tool
    def check(self, candidate: str) -> str:
        """Check a candidate answer without ending the episode; says whether it is correct and why not.

        Args:
            candidate: The answer to check, written as you would write the final answer.
        """
        verdict = self.verify(self.task, candidate)
        return "correct" if verdict.success else f"incorrect: {verdict.feedback}"

    def _tools_by_name(self) -> dict[str, Tool]:
        # while the frame is being built (instructions showing a call), the tools are bound afresh
        frame = self._frame
        if frame is not None and frame.config == self.config and frame.episode == self.episode:
            return frame.by_name
        return {t.name: t for t in self.all_tools()}

    def _parse(self, action: str, tools: dict[str, Tool]) -> ParsedTurn:
        if len(action) > self.episode.max_action_chars:
            return ParsedTurn(
                errors=[
                    f"the turn is {len(action)} characters, over the limit of "
                    f"{self.episode.max_action_chars}; nothing in it was run"
                ]
            )
        if looks_binary(action):
            return ParsedTurn(errors=["the turn looks like binary data, not text; nothing in it was run"])
        return self.protocol.parse(action, tools)

    def _is_placeholder(self, answer: str, shape: str | None = None) -> bool:
        """An empty or template answer, or the words the instructions use for the answer's shape."""
        words = " ".join(answer.lower().strip(" .()").split())
        shape = self._episode_frame().answer_shape if shape is None else shape
        return is_placeholder_answer(answer) or words == " ".join(shape.lower().split())

    def _nothing_found(self) -> str:
        # Says what to do without a placeholder that could be copied back as a turn.
        names = [t.name for t in self.all_tools()]
        how = self.protocol.how_to_answer(self.answer_shape())
        if not names:
            return f"no tool call or answer found; {how}"
        if self.episode.protocol == "xml":
            tags = ", ".join(f"<{n}>" for n in names)
            return f"no tool call or answer found; call a tool by its tag ({tags}) or {how}"
        return f"no tool call or answer found; call a tool ({', '.join(names)}) inside <tool_call> or {how}"

    @staticmethod
    def _run_tool(tool: Tool, arguments: dict[str, Any], parsed: ParsedTurn) -> str:
        """A tool's observation. Only the model's own mistakes are observations: arguments that do
        not fit (``ToolArgumentError``, which tools also raise for a move or query they refuse) and
        what its code did (a sandbox reports that as a normal result). Anything else escaping a tool
        is the infrastructure failing (a missing dependency, a crashed service, a bug) and ends the
        episode unscored as an ``InfraError``. An argument that is empty or a placeholder (``...``,
        ``your answer here``) is the model's mistake too, and the tool is not run: such a call must
        not cost less than a turn that is not a call at all."""
        blank = [k for k, v in arguments.items() if isinstance(v, str) and is_placeholder_answer(v)]
        if blank:
            message = f"{tool.name}: {blank[0]!r} is empty or a placeholder; nothing was run"
            parsed.errors.append(message)
            return f"error: {message}"
        try:
            return tool(**arguments)
        except ToolArgumentError as e:
            parsed.errors.append(str(e))
            return f"error: {e}"
        except InfraError:
            raise
        except Exception as e:
            raise InfraError(f"the {tool.name} tool failed: {type(e).__name__}: {e}"[:1000]) from e

    def _observation(
        self, parsed: ParsedTurn, results: list[tuple[Tool, str]], terminated: bool, truncated: bool
    ) -> tuple[str, list[dict[str, Any]]]:
        blocks = [self.protocol.render_result(t, _clip(content)) for t, content in results]
        shown = {content for _, content in results}
        errors = [e for e in parsed.errors if f"error: {e}" not in shown]  # not twice: once, in its result
        if errors:
            blocks.append("Error: " + "; ".join(errors))
        if truncated and not terminated:
            blocks.append(
                f"The turn limit ({self.episode.max_turns}) is reached; the episode ends without an answer."
            )
        obs = "\n".join(blocks)
        if terminated:
            return obs, []
        if self.episode.protocol == "json" and results and not parsed.errors:
            msgs = [{"role": "tool", "name": t.name, "content": _clip(c)} for t, c in results]
        else:
            msgs = [{"role": "user", "content": obs}] if obs else []
        return obs, msgs

    def _infra_failure(
        self, error: str, info: dict[str, Any]
    ) -> tuple[str, float, bool, bool, dict[str, Any]]:
        info.update(
            error=error, is_success=None, messages=[], reward_components={}, episode_return=self._return
        )
        self._finish()
        return f"Infrastructure error: {error}", 0.0, False, True, info

    def _finish(self) -> None:
        self._done = True
        self._end_episode()


def _clip(text: str) -> str:
    if len(text) <= _MAX_OBS_CHARS:
        return text
    return text[:_MAX_OBS_CHARS] + f"\n... [{len(text) - _MAX_OBS_CHARS} more characters cut]"
