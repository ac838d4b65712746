"""Tools: declared once from a typed Python function, rendered for every protocol and chat template."""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, Union, get_args, get_origin

_JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


class ToolArgumentError(ValueError):
    """The arguments of a tool call do not fit the tool's schema."""


def _json_schema(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a type annotation (str, int, float, bool, list, dict, Literal, Optional)."""
    if annotation in _JSON_TYPES:
        return {"type": _JSON_TYPES[annotation]}
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return {"type": _JSON_TYPES.get(type(args[0]), "string"), "enum": list(args)}
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _json_schema(rest[0])
        return {"anyOf": [_json_schema(a) for a in rest]}
    if origin in (list, tuple) or annotation in (list, tuple):
        return {"type": "array", "items": _json_schema(args[0])} if args else {"type": "array"}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    raise TypeError(
        f"tool parameters must be str, int, float, bool, list, dict or Literal, not {annotation!r}"
    )


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and its ``Args:`` entries."""
    doc = inspect.cleandoc(doc or "")
    parts = re.split(r"^\s*(?:Args|Arguments|Parameters):\s*$", doc, maxsplit=1, flags=re.MULTILINE)
    description = " ".join(parts[0].split("\n\n")[0].split())
    params: dict[str, str] = {}
    if len(parts) == 2:
        current = None
        for line in parts[1].splitlines():
            m = re.match(r"^\s{0,8}(\w+)\s*(?:\([^)]*\))?:\s*(.*)$", line)
            if m and not line.startswith(" " * 9):
                current = m.group(1)
                params[current] = m.group(2).strip()
            elif re.match(r"^\s*(Returns|Raises|Yields|Examples?):", line):
                current = None
            elif current and line.strip():
                params[current] += " " + line.strip()
    return description, params


@dataclass(frozen=True)
class Tool:
    """A tool the agent may call: a name, a description, a JSON schema and the function behind it.

    ``result_tag`` is the tag its results are wrapped in by the XML protocol (``<information>`` for
    search, ``<output>`` for code). Binding works like a method: a ``Tool`` declared in a class body
    with ``@tool`` is bound to the instance it is read from.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any]
    result_tag: str = "result"
    _bound: bool = field(default=False, repr=False)

    def __get__(self, obj: Any, objtype: Any = None) -> Tool:
        if obj is None or self._bound:
            return self
        return replace(self, fn=self.fn.__get__(obj, objtype), _bound=True)

    @property
    def required(self) -> list[str]:
        return list(self.parameters.get("required", []))

    @cached_property
    def primary_argument(self) -> str | None:
        """The parameter that the XML protocol fills with the tag's content, if there is one."""
        props = self.parameters["properties"]
        if len(props) == 1 or len(self.required) == 1:
            name = self.required[0] if len(self.required) == 1 else next(iter(props))
            if props[name].get("type") == "string":
                return name
        return None

    def schema(self) -> dict[str, Any]:
        """The OpenAI / Hugging Face function schema, for ``apply_chat_template(..., tools=...)``."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Check call arguments against the schema; raise ``ToolArgumentError`` saying what is wrong."""
        if not isinstance(arguments, dict):
            raise ToolArgumentError(
                f"arguments of {self.name!r} must be a JSON object, got {type(arguments).__name__}"
            )
        props = self.parameters["properties"]
        unknown = sorted(set(arguments) - set(props))
        if unknown:
            raise ToolArgumentError(f"{self.name!r} takes no argument(s) {unknown}; it takes {sorted(props)}")
        missing = [p for p in self.required if p not in arguments]
        if missing:
            raise ToolArgumentError(f"{self.name!r} is missing required argument(s) {missing}")
        out = {}
        for key, value in arguments.items():
            out[key] = _coerce(self.name, key, value, props[key])
        return out

    def __call__(self, **arguments: Any) -> str:
        """Validate the arguments and run the tool; the result is the observation text."""
        result = self.fn(**self.validate(arguments))
        if isinstance(result, str):
            return result
        return json.dumps(result, ensure_ascii=False, default=str)


def _coerce(tool: str, key: str, value: Any, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        raise ToolArgumentError(
            f"argument {key!r} of {tool!r} must be one of {schema['enum']}, got {value!r}"
        )
    ok = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }.get(kind)
    if ok is not None and not ok(value):
        raise ToolArgumentError(
            f"argument {key!r} of {tool!r} must be of type {kind}, got {type(value).__name__}"
        )
    return value


def tool(fn: Callable[..., Any] | None = None, *, name: str | None = None, result_tag: str = "result") -> Any:
    """Declare a tool from a typed function; its docstring gives the description and argument docs.

    Use as ``@tool``, ``@tool(result_tag="output")`` or ``tool(some_function)``.
    """

    def build(f: Callable[..., Any]) -> Tool:
        sig = inspect.signature(f)
        hints = typing.get_type_hints(f)
        description, arg_docs = _parse_docstring(f.__doc__ or "")
        props: dict[str, Any] = {}
        required: list[str] = []
        for i, (pname, param) in enumerate(sig.parameters.items()):
            if i == 0 and pname in ("self", "cls"):
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if pname not in hints:
                raise TypeError(f"tool {f.__name__!r}: parameter {pname!r} needs a type annotation")
            prop = _json_schema(hints[pname])
            if pname in arg_docs:
                prop["description"] = arg_docs[pname]
            props[pname] = prop
            if param.default is param.empty:
                required.append(pname)
        if not description:
            raise TypeError(f"tool {f.__name__!r} needs a docstring: it is the description the model reads")
        parameters = {"type": "object", "properties": props, "required": required}
        bound = inspect.ismethod(f)
        return Tool(name or f.__name__, description, parameters, f, result_tag, _bound=bound)

    return build(fn) if fn is not None else build
