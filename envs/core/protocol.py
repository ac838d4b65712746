"""Tool-call protocols: how a model's turn is parsed into calls and how results are shown back.

``xml``: Search-R1 / START style tags, ``<search>query</search>``, final ``<answer>...</answer>``.
``json``: Qwen / Hermes chat-template style, ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``,
final answer through the ``answer`` tool.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

from envs.core.tool import Tool
from rewards.base import reward

ANSWER = "answer"


@dataclass(frozen=True)
class ToolCall:
    """A parsed call: the tool's name and its arguments."""

    name: str
    arguments: dict[str, Any]


@dataclass
class ParsedTurn:
    """What a turn asked for: tool calls, a final answer, and what was wrong with it."""

    calls: list[ToolCall] = field(default_factory=list)
    answer: str | None = None
    errors: list[str] = field(default_factory=list)


_NOUN = (
    r"(?:answer|answers|expression|equation|solution|result|grid|text|value|number|word|code|coloring|"
    r"query|response|output|moves|move list|guess|list|names)"
)
_PUNCT = r"[\s\"'`*_:.,;!?-]*"
_TEMPLATES = [
    re.compile(rf"{_PUNCT}{pattern}{_PUNCT}", re.IGNORECASE)
    for pattern in (
        r"(?:the\s+|your\s+|my\s+)?(?:final\s+)?answers?(?:\s+(?:goes\s+)?here)?",  # "answer", "your answer here"
        rf"(?:your|my)\s+(?:final\s+|full\s+|complete\s+|whole\s+)?{_NOUN}(?:\s+(?:goes\s+)?here)?",
        rf"(?:final\s+|full\s+|complete\s+)?{_NOUN}\s+(?:goes\s+)?here",
        rf"[<\[{{(]\s*(?:(?:your|the|a|an|final|full)\s+)*{_NOUN}\s*[>\]}})]",  # "<answer>", "[expression]"
        r"placeholder|todo|tbd|fill in|insert answer",
    )
]
# one pass instead of five: a text fully matches the alternation iff it fully matches one template
_ANY_TEMPLATE = re.compile("|".join(f"(?:{t.pattern})" for t in _TEMPLATES), re.IGNORECASE)
_ANSWER_TAG = re.compile(r"</?answer>")


def is_placeholder_answer(answer: str) -> bool:
    """Whether a final answer is empty or a template rather than an answer: nothing, only dots or
    punctuation (``...``, ``…``, ``[]``), or template words such as ``your answer here``,
    ``<answer>``, ``[expression]``, ``your solution``. Such an answer is a format error, never a scored answer, so copying
    a placeholder can never beat a format error."""
    # "<answer>...</answer>" as the answer text
    text = _ANSWER_TAG.sub(" ", answer).strip() if "<" in answer else answer.strip()
    if not any(ch.isalnum() for ch in text):
        return True
    return _ANY_TEMPLATE.fullmatch(text) is not None


def answer_tool() -> Tool:
    """The ``answer`` tool of the JSON protocol."""
    return Tool(
        name=ANSWER,
        description="Submit your final answer. This ends the episode.",
        parameters={
            "type": "object",
            "properties": {"answer": {"type": "string", "description": "The final answer."}},
            "required": ["answer"],
        },
        fn=lambda answer: answer,
    )


class Protocol:
    """Base of the protocols: parse a turn, describe the tools, show results."""

    name: ClassVar[str]

    def parse(self, text: str, tools: dict[str, Tool]) -> ParsedTurn:
        raise NotImplementedError

    def describe(self, tools: list[Tool], answer_shape: str = "your final answer") -> str:
        """The part of the system prompt that says how to call the tools and how to answer;
        ``answer_shape`` says in words what the answer is (``"an arithmetic expression"``)."""
        raise NotImplementedError

    def how_to_answer(self, answer_shape: str = "your final answer") -> str:
        """A sentence saying how to submit ``answer_shape`` in this protocol, with no placeholder a
        model could copy as its answer."""
        raise NotImplementedError

    def show_answer(self, answer: str) -> str:
        """``answer`` submitted in this protocol, written inline for instructions and examples."""
        return self.render_answer(answer)

    def show_call(self, name: str, arguments: dict[str, Any], tools: dict[str, Tool]) -> str:
        """A call written inline for instructions and examples."""
        return self.render_call(name, arguments, tools)

    def render_call(self, name: str, arguments: dict[str, Any], tools: dict[str, Tool]) -> str:
        """The text a model writes to make this call (used by scripted agents and tests)."""
        raise NotImplementedError

    def render_answer(self, answer: str) -> str:
        """The text a model writes to submit a final answer."""
        raise NotImplementedError

    def render_result(self, tool: Tool, content: str) -> str:
        raise NotImplementedError

    def schemas(self, tools: list[Tool]) -> list[dict[str, Any]]:
        """The tool schemas for ``apply_chat_template(..., tools=...)``."""
        return [t.schema() for t in tools]


@lru_cache(maxsize=256)
def _tag_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """``<tag>content</tag>`` for any of ``names``, compiled once per set of tools."""
    alternatives = "|".join(map(re.escape, names))
    return re.compile(rf"<({alternatives})>(.*?)</\1>", re.DOTALL)


class XmlProtocol(Protocol):
    name = "xml"

    def parse(self, text: str, tools: dict[str, Tool]) -> ParsedTurn:
        turn = ParsedTurn()
        names = (*tools, ANSWER)
        answers = []
        closed = set()
        if "<" in text:  # no tag at all: nothing to match
            for m in _tag_pattern(names).finditer(text):
                tag, content = m.group(1, 2)
                closed.add(tag)
                if tag == ANSWER:
                    answers.append(content.strip())
                    continue
                try:
                    turn.calls.append(ToolCall(tag, self._arguments(tools[tag], content)))
                except ValueError as e:
                    turn.errors.append(str(e))
        if answers:
            turn.answer = answers[-1]
        for tag in names:
            if tag not in closed and f"<{tag}>" in text:
                turn.errors.append(f"<{tag}> is opened but never closed with </{tag}>")
        return turn

    @staticmethod
    def _arguments(tool: Tool, content: str) -> dict[str, Any]:
        primary = tool.primary_argument
        if primary is not None:
            return {primary: content.strip("\n") if "\n" in content.strip() else content.strip()}
        try:
            args = json.loads(content)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"<{tool.name}> expects a JSON object of arguments: {e.msg} at char {e.pos}"
            ) from None
        if not isinstance(args, dict):
            raise ValueError(f"<{tool.name}> expects a JSON object of arguments, got {type(args).__name__}")
        return args

    def describe(self, tools: list[Tool], answer_shape: str = "your final answer") -> str:
        lines = []
        if tools:
            lines.append(
                "You can call tools by writing a tag; its result comes back to you before you go on."
            )
            for t in tools:
                primary = t.primary_argument
                body = f"{primary}" if primary else "JSON object of arguments"
                lines.append(f"- <{t.name}>{body}</{t.name}>: {t.description}")
                if not primary:
                    lines.append(f"  arguments schema: {json.dumps(t.parameters['properties'])}")
            tags = sorted({t.result_tag for t in tools})
            lines.append("Results come back inside " + ", ".join(f"<{g}>...</{g}>" for g in tags) + ".")
        lines.append(f"When you are done, {self.how_to_answer(answer_shape)}.")
        return "\n".join(lines)

    def how_to_answer(self, answer_shape: str = "your final answer") -> str:
        # "<answer></answer>" copied back is an empty answer, a format error; "between <answer> and
        # </answer>" would parse as the answer "and"
        return f"give your final answer ({answer_shape}) inside <answer></answer> tags"

    def render_call(self, name: str, arguments: dict[str, Any], tools: dict[str, Tool]) -> str:
        primary = tools[name].primary_argument
        body = arguments[primary] if primary else json.dumps(arguments)
        return f"<{name}>{body}</{name}>"

    def render_answer(self, answer: str) -> str:
        return f"<answer>{answer}</answer>"

    def render_result(self, tool: Tool, content: str) -> str:
        return f"<{tool.result_tag}>\n{content}\n</{tool.result_tag}>"


class JsonProtocol(Protocol):
    name = "json"
    _CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)

    def parse(self, text: str, tools: dict[str, Tool]) -> ParsedTurn:
        turn = ParsedTurn()
        closed = 0
        for m in self._CALL.finditer(text):
            closed += 1
            try:
                call = self._call(m.group(1), tools)
            except ValueError as e:
                turn.errors.append(str(e))
                continue
            if call.name == ANSWER:
                turn.answer = str(call.arguments.get("answer", "")).strip()
            else:
                turn.calls.append(call)
        if text.count("<tool_call>") > closed:
            turn.errors.append("<tool_call> is opened but never closed with </tool_call>")
        return turn

    @staticmethod
    def _call(body: str, tools: dict[str, Tool]) -> ToolCall:
        try:
            obj = json.loads(body)
        except json.JSONDecodeError as e:
            raise ValueError(f"tool call is not valid JSON: {e.msg} at char {e.pos}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            raise ValueError('a tool call must be a JSON object {"name": ..., "arguments": {...}}')
        name, args = obj["name"], obj.get("arguments", {})
        if isinstance(args, str):  # some models emit the arguments as a JSON string
            try:
                args = json.loads(args)
            except json.JSONDecodeError:
                raise ValueError(f"arguments of {name!r} are a string that is not a JSON object") from None
        if name != ANSWER and name not in tools:
            known = ", ".join([*tools, ANSWER])
            raise ValueError(f"unknown tool {name!r}; available tools: {known}")
        if not isinstance(args, dict):
            raise ValueError(f"arguments of {name!r} must be a JSON object")
        if name == ANSWER and not isinstance(args.get("answer"), str | int | float):
            raise ValueError('the answer tool takes {"answer": "..."}')
        return ToolCall(name, args)

    def describe(self, tools: list[Tool], answer_shape: str = "your final answer") -> str:
        schemas = "\n".join(json.dumps(s, ensure_ascii=False) for s in self.schemas(tools))
        return (
            "# Tools\n\nYou may call one or more functions to assist with the user query.\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n"
            f"<tools>\n{schemas}\n</tools>\n\n"
            "For each function call, return a json object with function name and arguments within "
            "<tool_call></tool_call> XML tags:\n"
            '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n'
            "Results come back inside <tool_response></tool_response>. When you are done, "
            f"{self.how_to_answer(answer_shape)}."
        )

    def how_to_answer(self, answer_shape: str = "your final answer") -> str:
        return f'give your final answer ({answer_shape}) by calling the "answer" function'

    def show_answer(self, answer: str) -> str:
        return self.show_call(ANSWER, {"answer": answer}, {})

    def show_call(self, name: str, arguments: dict[str, Any], tools: dict[str, Tool]) -> str:
        body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
        return f"<tool_call>{body}</tool_call>"

    def schemas(self, tools: list[Tool]) -> list[dict[str, Any]]:
        return [t.schema() for t in [*tools, answer_tool()]]

    def render_call(self, name: str, arguments: dict[str, Any], tools: dict[str, Tool]) -> str:
        return (
            "<tool_call>\n"
            + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
            + "\n</tool_call>"
        )

    def render_answer(self, answer: str) -> str:
        return self.render_call(ANSWER, {"answer": answer}, {})

    def render_result(self, tool: Tool, content: str) -> str:
        return f"<tool_response>\n{content}\n</tool_response>"


PROTOCOLS: dict[str, type[Protocol]] = {"xml": XmlProtocol, "json": JsonProtocol}


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name`` (``xml`` or ``json``)."""
    try:
        return PROTOCOLS[name]()
    except KeyError:
        raise ValueError(f"protocol must be one of {sorted(PROTOCOLS)}, got {name!r}") from None


@reward
def format_reward(completion: str, protocol: str = "xml", **_: object) -> float:
    """1.0 when the completion gives exactly one well-formed final answer in ``protocol`` and no
    malformed call, else 0.0. An empty or placeholder answer (``<answer>...</answer>``) is not a
    well-formed answer. A reward function: it scores TRL batches and goes into ``rewards.combine``."""
    proto = get_protocol(protocol)
    turn = proto.parse(completion, {})
    if turn.errors or turn.answer is None or is_placeholder_answer(turn.answer):
        return 0.0
    if protocol == "xml":
        return float(len(re.findall(r"<answer>", completion)) == 1)
    return float(completion.count('"answer"') >= 1)
