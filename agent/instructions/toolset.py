"""The tools one model gets: its own list and order from its config entry, apply_patch as a freeform tool with
its grammar where the model takes that (GPT-5.5 on the Responses API, as Codex sends it), and short descriptions
for a small window.

Pure functions of the session's tool box and the model's entry, so every call to the same model sends
byte-identical tools (the prompt cache's prefix) without anything to keep in step.
"""

from __future__ import annotations

from typing import Any

from agent.catalog import ModelConfig, WireApi
from agent.providers.base import FREEFORM_ARGUMENT
from agent.window import compact_tools
from prompts import render
from tools.registry import ToolBox, default_tools, first_sentence

FREEFORM = {"apply_patch": "patch"}
"""Tools that can be sent as freeform text, and the one argument their text fills."""


def builtin_names() -> frozenset[str]:
    return frozenset(tool.name for tool in default_tools())


def _name(schema: dict[str, Any]) -> str:
    function = schema.get("function")
    return str(function["name"] if isinstance(function, dict) else schema.get("name", ""))


def _freeform(name: str, argument: str) -> dict[str, Any]:
    return {"type": "custom", "name": name, "description": render(f"tool_{name}_freeform"),
            "format": {"type": "grammar", "syntax": "lark", "definition": render(f"tool_{name}_grammar")},
            FREEFORM_ARGUMENT: argument}


def _short(schema: dict[str, Any]) -> dict[str, Any]:
    function = schema.get("function")
    if isinstance(function, dict):
        return {**schema, "function": {**function, "description": first_sentence(function["description"])}}
    return {**schema, "description": first_sentence(str(schema.get("description", "")))}


def tool_schemas(box: ToolBox, spec: ModelConfig | None, api: WireApi = "chat") -> list[dict[str, Any]]:
    """The tool schemas `spec`'s model is sent: its configured built-ins in its order (all of them when it names
    none), then the tools that are not built in (MCP servers'); freeform apply_patch on the Responses API when
    the entry asks for it; each description cut to its first sentence when the window is small."""
    by_name = {_name(schema): schema for schema in box.schemas}
    builtin = builtin_names()
    chosen = spec.tools if spec is not None and spec.tools is not None else [n for n in by_name if n in builtin]
    names = [n for n in chosen if n in by_name] + [n for n in by_name if n not in builtin]
    freeform = spec is not None and spec.freeform_apply_patch and api == "responses"
    schemas = [_freeform(n, FREEFORM[n]) if freeform and n in FREEFORM else by_name[n] for n in names]
    return [_short(s) for s in schemas] if compact_tools(spec) else schemas
