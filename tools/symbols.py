"""Definitions found by tree-sitter, per language (grammars come from registry wheels: no downloads)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

LANGUAGE_BY_SUFFIX = {".py": "python", ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript",
                      ".cjs": "javascript", ".go": "go"}

DEFINITION_QUERIES = {
    "python": """
        (function_definition name: (identifier) @name) @function
        (class_definition name: (identifier) @name) @class
    """,
    "javascript": """
        (function_declaration name: (identifier) @name) @function
        (class_declaration name: (identifier) @name) @class
        (method_definition name: (property_identifier) @name) @method
        (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)]) @function
    """,
    "go": """
        (function_declaration name: (identifier) @name) @function
        (method_declaration name: (field_identifier) @name) @method
        (type_spec name: (type_identifier) @name) @type
    """,
}


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str
    line: int


@functools.cache
def _language(lang: str) -> Any:
    from tree_sitter import Language

    if lang == "python":
        import tree_sitter_python as grammar
    elif lang == "javascript":
        import tree_sitter_javascript as grammar
    else:
        import tree_sitter_go as grammar
    return Language(grammar.language())


@functools.cache
def _query(lang: str) -> Any:
    from tree_sitter import Query

    return Query(_language(lang), DEFINITION_QUERIES[lang])


def definitions(source: bytes, lang: str) -> list[Definition]:
    """Every definition in `source`, in file order."""
    from tree_sitter import Parser, QueryCursor

    tree = Parser(_language(lang)).parse(source)
    found: list[Definition] = []
    for _pattern, captures in QueryCursor(_query(lang)).matches(tree.root_node):
        names = captures.get("name", [])
        kind = next((k for k in captures if k != "name"), "definition")
        for node in names:
            text = node.text.decode("utf-8", errors="replace") if node.text else ""
            found.append(Definition(name=text, kind=kind, line=node.start_point[0] + 1))
    found.sort(key=lambda d: d.line)
    return found
