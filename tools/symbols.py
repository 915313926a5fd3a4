"""Definitions found by tree-sitter, per language (grammars come from registry wheels: no downloads)."""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any

LANGUAGE_BY_SUFFIX = {".py": "python", ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript",
                      ".cjs": "javascript", ".go": "go", ".ts": "typescript", ".tsx": "tsx", ".rs": "rust",
                      ".java": "java"}
_TS = """
        (function_declaration name: (identifier) @name) @function
        (class_declaration name: (type_identifier) @name) @class
        (method_definition name: (property_identifier) @name) @method
        (interface_declaration name: (type_identifier) @name) @interface
        (type_alias_declaration name: (type_identifier) @name) @type
        (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)]) @function
    """

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
    "typescript": _TS,
    "tsx": _TS,
    "rust": """
        (function_item name: (identifier) @name) @function
        (struct_item name: (type_identifier) @name) @struct
        (enum_item name: (type_identifier) @name) @enum
        (trait_item name: (type_identifier) @name) @trait
        (function_signature_item name: (identifier) @name) @function
    """,
    "java": """
        (class_declaration name: (identifier) @name) @class
        (interface_declaration name: (identifier) @name) @interface
        (method_declaration name: (identifier) @name) @method
        (enum_declaration name: (identifier) @name) @enum
    """,
}


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str
    line: int
    signature: str = ""


@functools.cache
def _language(lang: str) -> Any:
    from tree_sitter import Language

    if lang in ("typescript", "tsx"):
        import tree_sitter_typescript

        grammar = tree_sitter_typescript.language_typescript() if lang == "typescript" \
            else tree_sitter_typescript.language_tsx()
        return Language(grammar)
    module = {"python": "tree_sitter_python", "javascript": "tree_sitter_javascript", "go": "tree_sitter_go",
              "rust": "tree_sitter_rust", "java": "tree_sitter_java"}[lang]
    return Language(importlib.import_module(module).language())


@functools.cache
def _query(lang: str) -> Any:
    from tree_sitter import Query

    return Query(_language(lang), DEFINITION_QUERIES[lang])


def definitions(source: bytes, lang: str) -> list[Definition]:
    """Every definition in `source`, in file order."""
    from tree_sitter import Parser, QueryCursor

    tree = Parser(_language(lang)).parse(source)
    lines = source.splitlines()
    found: list[Definition] = []
    for _pattern, captures in QueryCursor(_query(lang)).matches(tree.root_node):
        names = captures.get("name", [])
        kind = next((k for k in captures if k != "name"), "definition")
        for node in names:
            text = node.text.decode("utf-8", errors="replace") if node.text else ""
            row = node.start_point[0]
            signature = lines[row].decode("utf-8", errors="replace").rstrip() if row < len(lines) else ""
            found.append(Definition(name=text, kind=kind, line=row + 1, signature=signature[:200]))
    found.sort(key=lambda d: d.line)
    return found
