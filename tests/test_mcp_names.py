"""What the providers get for an MCP tool: a legal, unique name and a plain JSON schema."""

from __future__ import annotations

import re

from agent.mcp.names import wire_name
from agent.mcp.schema import adapt_schema, argument_problems

LEGAL = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_names_are_legal_and_unique() -> None:
    assert wire_name("tickets", "lookup_ticket") == "mcp__tickets__lookup_ticket"
    assert wire_name("my docs", "search.pages") == "mcp__my_docs__search_pages"
    taken = {"mcp__my_docs__search_pages"}
    other = wire_name("my.docs", "search pages", taken)  # the same after cleaning: told apart by a hash
    assert LEGAL.match(other) and other not in taken and other.startswith("mcp__my_docs__search_pag")
    long_a = wire_name("server", "a" * 80)
    long_b = wire_name("server", "a" * 79 + "b")
    assert len(long_a) == 64 and LEGAL.match(long_a) and long_a != long_b
    assert wire_name("ünïcode", "wérk") == "mcp___n_code__w_rk"


def test_schema_is_adapted_for_plain_json_schema_providers() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Args", "type": "object",
        "$defs": {"Priority": {"title": "Priority", "type": "string", "enum": ["low", "high"]},
                  "Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "properties": {
            "priority": {"$ref": "#/$defs/Priority", "description": "How urgent."},
            "tags": {"type": "array", "items": {"type": "string"}, "examples": [["a"]], "x-ui": "chips"},
            "when": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}], "default": None},
            "tree": {"$ref": "#/$defs/Node"},
        },
        "required": ["priority", "gone"],
        "if": {"properties": {"priority": {"const": "high"}}}, "then": {"required": ["tags"]},
    }
    adapted = adapt_schema(schema)
    assert adapted["type"] == "object" and adapted["required"] == ["priority"]
    assert adapted["properties"]["priority"] == {"type": "string", "enum": ["low", "high"],
                                                 "description": "How urgent."}
    assert adapted["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert adapted["properties"]["when"]["anyOf"][1] == {"type": "null"}
    text = str(adapted)
    for dropped in ("$ref", "$defs", "$schema", "title", "examples", "x-ui", "'if'", "'then'"):
        assert dropped not in text
    assert adapt_schema(None) == {"type": "object", "properties": {}}
    assert adapt_schema({"properties": {"a": {"type": "integer"}}}) == {
        "type": "object", "properties": {"a": {"type": "integer"}}}
    assert adapt_schema({"type": "string"}) == {"type": "object", "properties": {}}


def test_arguments_are_checked_against_the_servers_own_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"],
              "additionalProperties": False}
    assert argument_problems(schema, {"n": 3}) == []
    problems = argument_problems(schema, {"n": 0, "extra": True})
    assert any(p.startswith("n: 0 is less than the minimum of 1") for p in problems)
    assert any("extra" in p for p in problems)
    assert argument_problems(schema, {}) == ["arguments: 'n' is a required property"]
    assert argument_problems({"type": 12}, {"x": 1}) == []  # an invalid schema checks nothing; the server judges
