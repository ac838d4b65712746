"""The XML and JSON protocols parse the same tool definitions."""

import json

import pytest

from envs.core import format_reward, get_protocol, tool
from rewards import combine, exact_match


@tool(result_tag="information")
def search(query: str) -> str:
    """Search the index."""
    return query


@tool
def add(a: int, b: int) -> str:
    """Add two numbers."""
    return str(a + b)


TOOLS = {"search": search, "add": add}


def test_xml_calls_answer_and_json_arguments():
    xml = get_protocol("xml")
    turn = xml.parse(
        '<think>hm</think><search> capital of France </search><add>{"a": 1, "b": 2}</add>', TOOLS
    )
    assert [(c.name, c.arguments) for c in turn.calls] == [
        ("search", {"query": "capital of France"}),
        ("add", {"a": 1, "b": 2}),
    ]
    assert turn.answer is None and not turn.errors
    turn = xml.parse("<answer>one</answer> then <answer> Paris </answer>", TOOLS)
    assert turn.answer == "Paris"


def test_xml_reports_malformed_turns():
    xml = get_protocol("xml")
    assert "never closed" in xml.parse("<search>open forever", TOOLS).errors[0]
    assert "JSON object" in xml.parse("<add>1 2</add>", TOOLS).errors[0]


def test_json_calls_answer_and_errors():
    js = get_protocol("json")
    call = '<tool_call>{"name": "search", "arguments": {"query": "x"}}</tool_call>'
    turn = js.parse("reasoning " + call, TOOLS)
    assert turn.calls[0].name == "search" and turn.calls[0].arguments == {"query": "x"}
    turn = js.parse('<tool_call>{"name": "answer", "arguments": {"answer": "42"}}</tool_call>', TOOLS)
    assert turn.answer == "42"
    stringified = '<tool_call>{"name": "add", "arguments": "{\\"a\\": 1, \\"b\\": 2}"}</tool_call>'
    assert js.parse(stringified, TOOLS).calls[0].arguments == {"a": 1, "b": 2}
    assert "not valid JSON" in js.parse("<tool_call>{nope}</tool_call>", TOOLS).errors[0]
    assert (
        "unknown tool 'rm'"
        in js.parse('<tool_call>{"name": "rm", "arguments": {}}</tool_call>', TOOLS).errors[0]
    )
    assert "never closed" in js.parse('<tool_call>{"name": "add"', TOOLS).errors[0]


def test_rendered_calls_parse_back():
    for name in ("xml", "json"):
        proto = get_protocol(name)
        text = proto.render_call("add", {"a": 2, "b": 5}, TOOLS) + proto.render_call(
            "search", {"query": "q"}, TOOLS
        )
        turn = proto.parse(text, TOOLS)
        assert [(c.name, c.arguments) for c in turn.calls] == [
            ("add", {"a": 2, "b": 5}),
            ("search", {"query": "q"}),
        ]
        assert proto.parse(proto.render_answer("x y"), TOOLS).answer == "x y"


def test_descriptions_and_schemas():
    xml, js = get_protocol("xml"), get_protocol("json")
    assert "<search>query</search>" in xml.describe([search, add])
    assert "<information>" in xml.describe([search])
    schemas = js.schemas([search])
    assert [s["function"]["name"] for s in schemas] == ["search", "answer"]
    assert json.dumps(schemas[0]) in js.describe([search])


def test_format_reward_scores_one_well_formed_answer_in_either_protocol():
    assert format_reward("<think>..</think><answer>x</answer>") == 1.0
    assert format_reward("<answer>x") == 0.0
    assert format_reward("<answer>x</answer><answer>y</answer>") == 0.0
    answer_call = '<tool_call>{"name": "answer", "arguments": {"answer": "x"}}</tool_call>'
    assert format_reward(answer_call, protocol="json") == 1.0
    rubric = combine({exact_match: 1.0, format_reward: 0.2})
    assert rubric(completions=["<answer>4</answer>", "<answer>4"], answer=["4", "4"]) == [
        pytest.approx(1.2),
        0.0,
    ]
