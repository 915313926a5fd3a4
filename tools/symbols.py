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


MAX_SIGNATURE = 1_000
# Node types that hold methods (a definition inside one is shown under it) and that hide helpers
# (a function defined inside a function is an implementation detail, not part of the map).
CONTAINERS = frozenset({"class_definition", "class_declaration", "interface_declaration", "impl_item",
                        "trait_item", "class", "abstract_class_declaration", "enum_declaration"})
FUNCTIONS = frozenset({"function_definition", "function_declaration", "method_definition", "function_item",
                       "method_declaration", "arrow_function", "function_expression"})


@dataclass(frozen=True)
class Definition:
    """One definition: its name, kind, first line (of the name), the full signature (decorators, parameters,
    return annotation; whitespace folded), its last line, and the class it belongs to (methods)."""

    name: str
    kind: str
    line: int
    signature: str = ""
    end_line: int = 0
    parent: str = ""
    start_line: int = 0  # first line of the signature, decorators included


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
    found: list[Definition] = []
    for _pattern, captures in QueryCursor(_query(lang)).matches(tree.root_node):
        names = captures.get("name", [])
        kind = next((k for k in captures if k != "name"), "definition")
        whole = captures[kind][0] if kind in captures else None
        for node in names:
            text = node.text.decode("utf-8", errors="replace") if node.text else ""
            outer = whole if whole is not None else node
            parent, inside_function = _enclosing(outer)
            if inside_function:
                continue  # a helper inside a function is not part of the file's interface
            start = outer.parent if outer.parent is not None and outer.parent.type == "decorated_definition" \
                else outer
            found.append(Definition(name=text, kind=kind, line=node.start_point[0] + 1,
                                    signature=_signature(source, start, outer), end_line=outer.end_point[0] + 1,
                                    parent=parent, start_line=start.start_point[0] + 1))
    found.sort(key=lambda d: d.line)
    return found


def _enclosing(node: Any) -> tuple[str, bool]:
    """(name of the class/impl holding `node` or "", whether a function holds it first)."""
    current = node.parent
    while current is not None:
        if current.type in FUNCTIONS and current is not node:
            return "", True
        if current.type in CONTAINERS:
            name = current.child_by_field_name("name") or current.child_by_field_name("type")
            text = name.text.decode("utf-8", errors="replace") if name is not None and name.text else ""
            return text, False
        current = current.parent
    return "", False


def _signature(source: bytes, start: Any, outer: Any) -> str:
    """From the first decorator to the body (or the first line when there is none), whitespace folded."""
    body = outer.child_by_field_name("body")
    end = body.start_byte if body is not None and body.start_byte > outer.start_byte else None
    colon = [c.end_byte for c in outer.children if c.type == ":" and (end is None or c.end_byte <= end)]
    end = colon[-1] if colon else end  # Python: stop at the colon, before any comment ahead of the body
    if end is None:
        line_end = source.find(b"\n", outer.start_byte)
        end = len(source) if line_end < 0 else line_end
    text = source[start.start_byte:end].decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    decorators = [line for line in lines if line.startswith("@")] if start is not outer else []
    rest = " ".join(line for line in lines[len(decorators):])
    rest = rest.replace("( ", "(").replace(" )", ")").replace(", )", ")").replace(",)", ")").rstrip(" {")
    return "\n".join([*decorators, rest])[:MAX_SIGNATURE]
