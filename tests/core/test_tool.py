"""Tools: schemas derived from typed functions, argument validation, binding to instances."""

from typing import Literal

import pytest

from envs.core import Tool, ToolArgumentError, tool


@tool(result_tag="output")
def lookup(
    query: str, topk: int = 3, mode: Literal["fast", "exact"] = "fast", tags: list[str] | None = None
) -> str:
    """Look something up.

    Args:
        query: What to look for.
        topk: How many results,
            at most 10.
        mode: Search mode.
        tags: Optional tags.
    """
    return f"{query}:{topk}:{mode}:{tags}"


def test_schema_is_derived_from_the_signature_and_docstring():
    schema = lookup.schema()
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == "lookup"
    assert fn["description"] == "Look something up."
    props = fn["parameters"]["properties"]
    assert props["query"] == {"type": "string", "description": "What to look for."}
    assert props["topk"] == {"type": "integer", "description": "How many results, at most 10."}
    assert props["mode"]["enum"] == ["fast", "exact"]
    assert props["tags"]["type"] == "array" and props["tags"]["items"] == {"type": "string"}
    assert fn["parameters"]["required"] == ["query"]
    assert lookup.result_tag == "output"
    assert lookup.primary_argument == "query"


def test_calls_are_validated_with_clear_messages():
    assert lookup(query="x", topk=2) == "x:2:fast:None"
    with pytest.raises(ToolArgumentError, match="missing required argument"):
        lookup(topk=2)
    with pytest.raises(ToolArgumentError, match="takes no argument"):
        lookup(query="x", nope=1)
    with pytest.raises(ToolArgumentError, match="must be of type integer"):
        lookup(query="x", topk="2")
    with pytest.raises(ToolArgumentError, match="must be one of"):
        lookup(query="x", mode="slow")
    with pytest.raises(ToolArgumentError, match="must be of type integer"):
        lookup(query="x", topk=True)


def test_a_tool_in_a_class_binds_to_its_instance():
    class Counter:
        def __init__(self):
            self.n = 0

        @tool
        def bump(self, by: int) -> str:
            """Add to the counter."""
            self.n += by
            return str(self.n)

    c = Counter()
    assert isinstance(c.bump, Tool)
    assert "self" not in c.bump.parameters["properties"]
    assert c.bump(by=2) == "2" and c.bump(by=3) == "5"


def test_untyped_or_undocumented_functions_are_refused():
    def untyped(x):
        """Doc."""

    def undocumented(x: str) -> str:
        return x

    with pytest.raises(TypeError, match="type annotation"):
        tool(untyped)
    with pytest.raises(TypeError, match="docstring"):
        tool(undocumented)


def test_non_string_results_are_json():
    @tool
    def listing(n: int) -> list:
        """List numbers."""
        return list(range(n))

    assert listing(n=3) == "[0, 1, 2]"
