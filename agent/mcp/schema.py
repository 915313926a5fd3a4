"""A server's input schema, adapted to what every provider accepts; arguments checked against the original.

Chat Completions providers (DeepSeek above all) take a plain JSON-schema subset: an object at the root with
`properties`, no `$ref`, and few of the newer keywords. The models get the adapted schema; the server's own
schema stays the judge of the arguments.
"""

from __future__ import annotations

import json
from typing import Any

# Keywords dropped everywhere: references are inlined first; the rest only annotate, or are refused by some
# providers' schema parsers.
DROPPED = frozenset({
    "$schema", "$id", "$anchor", "$comment", "$defs", "definitions", "$dynamicRef", "$dynamicAnchor", "title",
    "examples", "readOnly", "writeOnly", "deprecated", "contentMediaType", "contentEncoding", "contentSchema",
    "if", "then", "else", "not", "dependentSchemas", "dependentRequired", "dependencies", "patternProperties",
    "propertyNames", "unevaluatedProperties", "unevaluatedItems", "prefixItems", "contains", "minContains",
    "maxContains", "$ref",
})
MAX_DEPTH = 8  # how deep references are inlined
MAX_DESCRIPTION = 1_000
MAX_NODES = 2_000  # schema nodes built per tool: references past it are no longer inlined
MAX_SCHEMA_CHARS = 24_000  # ~6K tokens, sent with every request: a bigger schema is cut to its top level


def adapt_schema(schema: dict[str, Any] | None, notes: list[str] | None = None) -> dict[str, Any]:
    """The `parameters` the models get for an MCP tool's input schema. What had to be cut (a recursive
    reference, a schema too big to send with every request) is added to `notes`."""
    root = schema if isinstance(schema, dict) else {}
    defs = {k: v for key in ("definitions", "$defs") if isinstance(root.get(key), dict) for k, v in root[key].items()}
    walk = _Walk(defs)
    out = _root_object(walk.adapt(root, ()))
    if walk.cycles:
        _note(notes, "a recursive reference is given only its first level")
    if walk.nodes > MAX_NODES:
        _note(notes, f"references past {MAX_NODES} schema nodes are not inlined")
    if len(json.dumps(out)) > MAX_SCHEMA_CHARS:
        out = _top_level(out)
        _note(notes, f"the schema was over {MAX_SCHEMA_CHARS} characters: only its top-level properties are "
                     "described")
    return out


def _note(notes: list[str] | None, text: str) -> None:
    if notes is not None:
        notes.append(text)


def _root_object(out: Any) -> dict[str, Any]:
    """An object schema with `properties` (what every provider requires at the root)."""
    if not isinstance(out, dict):
        return {"type": "object", "properties": {}}
    kind = out.get("type")
    if isinstance(kind, list) and "object" in kind:  # `["object"]`, `["object", "null"]`
        out["type"] = "object"
    alternatives = [a for key in ("anyOf", "oneOf") for a in out.get(key) or () if isinstance(a, dict)]
    if "properties" not in out and alternatives and all(a.get("type", "object") == "object" for a in alternatives):
        # One object or another: the model sees every property (none required); the server's schema judges.
        merged: dict[str, Any] = {}
        for alternative in alternatives:
            if isinstance(alternative.get("properties"), dict):
                merged.update(alternative["properties"])
        out = {k: v for k, v in out.items() if k not in ("anyOf", "oneOf", "required")}
        out.update(type="object", properties=merged)
    if "type" not in out and "properties" in out:
        out["type"] = "object"
    if out.get("type") != "object":
        out = {"type": "object", "properties": {}}
    if not isinstance(out.get("properties"), dict):
        out["properties"] = {}
    required = [name for name in out.get("required") or [] if isinstance(name, str) and name in out["properties"]]
    if required:
        out["required"] = required
    else:
        out.pop("required", None)
    return out


def _top_level(out: dict[str, Any]) -> dict[str, Any]:
    """Only the properties' types and descriptions (a cut no model call can make worse than this)."""
    properties = {}
    for name, sub in out["properties"].items():
        sub = sub if isinstance(sub, dict) else {}
        properties[name] = {k: sub[k] for k in ("type", "description", "enum") if k in sub}
    cut = {"type": "object", "properties": properties}
    if out.get("required"):
        cut["required"] = out["required"]
    return cut


class _Walk:
    """One adaptation: the definitions, the nodes built so far, whether a recursion was cut."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.nodes = 0
        self.cycles = False

    def schema(self, node: Any, refs: tuple[str, ...]) -> Any:
        """A subschema: `true` means anything (`{}`); `false`, nothing (None: its property or branch is left out)."""
        if isinstance(node, bool):
            return {} if node else None
        return self.adapt(node, refs)

    def adapt(self, node: Any, refs: tuple[str, ...]) -> Any:
        """`refs`: the references being inlined on the way here (one met again is a recursion)."""
        if isinstance(node, list):
            return [self.adapt(item, refs) for item in node]
        if not isinstance(node, dict):
            return node
        self.nodes += 1
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = _resolve(ref, self.defs)
            if ref in refs:
                self.cycles = True
            if target is None or ref in refs or len(refs) >= MAX_DEPTH or self.nodes > MAX_NODES:
                return {k: v for k, v in (("description", node.get("description")),) if isinstance(v, str)} or {}
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return self.adapt(merged, (*refs, ref))
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in DROPPED or key.startswith("x-"):
                continue
            if key == "properties" and isinstance(value, dict):
                kept = {name: self.schema(sub, refs) for name, sub in value.items()}
                out[key] = {name: sub for name, sub in kept.items() if sub is not None}
            elif key == "description" and isinstance(value, str):
                out[key] = value[:MAX_DESCRIPTION]
            elif key in ("additionalProperties", "items") and isinstance(value, dict | bool):
                adapted = self.schema(value, refs)
                out[key] = adapted if adapted is not None else False
            elif key in ("anyOf", "oneOf") and isinstance(value, list):
                out[key] = [b for b in (self.schema(branch, refs) for branch in value) if b is not None]
            elif key == "allOf" and isinstance(value, list) and len(value) == 1:
                out.update(self.schema(value[0], refs) or {})
            else:
                out[key] = self.adapt(value, refs) if isinstance(value, dict | list) else value
        return out


def _resolve(ref: str, defs: dict[str, Any]) -> dict[str, Any] | None:
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            target = defs.get(ref[len(prefix):])
            return target if isinstance(target, dict) else None
    return None


def argument_problems(schema: dict[str, Any] | None, arguments: dict[str, Any]) -> list[str]:
    """What is wrong with `arguments` under the server's own schema (empty: nothing); a schema that is itself
    invalid checks nothing (the server will say)."""
    if not isinstance(schema, dict):
        return []
    import jsonschema  # imported on use: only sessions with MCP servers need it

    try:
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator_class.check_schema(schema)
        errors = sorted(validator_class(schema).iter_errors(arguments), key=lambda e: [str(p) for p in e.path])
    except Exception:  # SchemaError, a dangling $ref (referencing's errors), whatever else a broken schema raises
        return []
    problems = []
    for error in errors:
        where = ".".join(str(part) for part in error.path) or "arguments"
        problems.append(f"{where}: {error.message}")
    return problems[:10]
