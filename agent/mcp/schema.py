"""A server's input schema, adapted to what every provider accepts; arguments checked against the original.

Chat Completions providers (DeepSeek above all) take a plain JSON-schema subset: an object at the root with
`properties`, no `$ref`, and few of the newer keywords. The models get the adapted schema; the server's own
schema stays the judge of the arguments.
"""

from __future__ import annotations

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
MAX_DEPTH = 8  # how deep references are inlined: a recursive schema ends in an unconstrained value
MAX_DESCRIPTION = 1_000


def adapt_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """The `parameters` the models get for an MCP tool's input schema."""
    root = schema if isinstance(schema, dict) else {}
    defs = {k: v for key in ("definitions", "$defs") if isinstance(root.get(key), dict) for k, v in root[key].items()}
    out = _adapt(root, defs, 0)
    if "type" not in out and "properties" in out:
        out["type"] = "object"
    if out.get("type") != "object":
        out = {"type": "object", "properties": {}}
    if not isinstance(out.get("properties"), dict):
        out["properties"] = {}
    required = [name for name in out.get("required", []) if name in out["properties"]]
    if required:
        out["required"] = required
    else:
        out.pop("required", None)
    return out


def _adapt(node: Any, defs: dict[str, Any], depth: int) -> Any:
    if isinstance(node, list):
        return [_adapt(item, defs, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, defs)
        if target is None or depth >= MAX_DEPTH:
            return {k: v for k, v in (("description", node.get("description")),) if v} or {}
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _adapt(merged, defs, depth + 1)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED or key.startswith("x-"):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _adapt(sub, defs, depth) for name, sub in value.items()}
        elif key == "description" and isinstance(value, str):
            out[key] = value[:MAX_DESCRIPTION]
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = _adapt(value, defs, depth)
        elif key == "allOf" and isinstance(value, list) and len(value) == 1:
            out.update(_adapt(value[0], defs, depth))
        else:
            out[key] = _adapt(value, defs, depth) if isinstance(value, dict | list) else value
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
