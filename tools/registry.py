"""The explicit list of tools, their wire schemas, and dispatching a model's call to one."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from tools.apply_patch import ApplyPatchTool
from tools.base import Preview, Tool, ToolContext, ToolError, ToolResult
from tools.edit_file import EditFileTool
from tools.find_symbol import FindSymbolTool
from tools.list_files import ListFilesTool
from tools.read_file import ReadFileTool
from tools.screenshot import ScreenshotTool
from tools.search import SearchTool
from tools.shell import ShellTool
from tools.view_image import ViewImageTool
from tools.write_file import WriteFileTool


def default_tools() -> list[Tool]:
    return [ShellTool(), ReadFileTool(), WriteFileTool(), EditFileTool(), ApplyPatchTool(), SearchTool(),
            ListFilesTool(), FindSymbolTool(), ViewImageTool(), ScreenshotTool()]


def offered_names(ctx: ToolContext) -> set[str]:
    """The built-in tools a session in `ctx` offers: those available there (`Tool.available`)."""
    return {t.name for t in default_tools() if t.available(ctx)}


def _clean_schema(node: Any) -> Any:
    """Pydantic's JSON schema minus the noise (titles) models don't need."""
    if isinstance(node, dict):
        return {k: _clean_schema(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_clean_schema(v) for v in node]
    return node


def wire_schema(tool: Tool) -> dict[str, Any]:
    """The Chat Completions `tools` entry for one tool, generated from its argument model."""
    params = tool.input_schema() or _clean_schema(tool.Args.model_json_schema())
    params.setdefault("properties", {})
    return {"type": "function", "function": {"name": tool.name, "description": tool.description,
                                             "parameters": params}}


def first_sentence(text: str) -> str:
    """The first sentence of a description (up to its first full stop followed by a space or line break)."""
    for end, char in enumerate(text):
        if char == "." and (end + 1 == len(text) or text[end + 1] in " \n"):
            return text[:end + 1]
    return text


class ToolBox:
    """The tools of one session, by name. `later`: tools that arrive once, before the first model call (those of
    MCP servers starting in the background); `ready` waits for them."""

    def __init__(self, tools: list[Tool], later: Callable[[], Awaitable[list[Tool]]] | None = None,
                 ctx: ToolContext | None = None) -> None:
        self.tools: dict[str, Tool] = {}
        self.unavailable: dict[str, Tool] = {}
        """Tools that cannot work here (`Tool.available` in `ctx`): not offered; a call to one says why."""
        if ctx is not None:
            self.unavailable = {t.name: t for t in tools if not t.available(ctx)}
            tools = [t for t in tools if t.name not in self.unavailable]
        self.schemas: list[dict[str, Any]] = []
        self._later = later
        self._add(tools)

    def _add(self, tools: list[Tool]) -> None:
        fresh = [t for t in tools if t.name not in self.tools]
        self.tools.update((t.name, t) for t in fresh)
        schemas = [wire_schema(t) for t in fresh]
        self.schemas = [*self.schemas, *schemas]  # built once: the prompt prefix must stay stable

    async def ready(self) -> None:
        """Add the tools that arrive later, once (the schemas stay the same from then on)."""
        if self._later is not None:
            later, self._later = self._later, None
            self._add(await later())

    def parse(self, name: str, raw: str) -> tuple[Tool, Any]:
        """The tool and its validated arguments, or ToolError with a message written for the model."""
        tool = self.tools.get(name)
        if tool is None and name in self.unavailable:
            raise ToolError(self.unavailable[name].unavailable_reason())
        if tool is None:
            what = f"unknown tool {name!r}" if name and name != "unnamed_tool" else "the tool call had no name"
            raise ToolError(f"{what}; available: {', '.join(self.tools)}")
        try:
            data = json.loads(raw or "{}")
        except json.JSONDecodeError as exc:
            raise ToolError(f"arguments for {name} are not valid JSON ({exc.msg} at position {exc.pos}); "
                            "send the call again with a JSON object") from None
        if not isinstance(data, dict):
            raise ToolError(f"arguments for {name} must be a JSON object")
        try:
            return tool, tool.parse_arguments(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
            raise ToolError(f"invalid arguments for {name}: {problems}") from None

    async def run(self, tool: Tool, args: Any, ctx: ToolContext, previewed: Preview | None = None) -> ToolResult:
        """The call's result (`previewed`: the dry run that was approved, which the tool holds itself to)."""
        try:
            return await tool.apply(args, ctx, previewed)
        except ToolError as exc:
            return ToolResult(False, f"error: {exc}")
        except OSError as exc:
            return ToolResult(False, f"error: {exc.strerror or exc}")
