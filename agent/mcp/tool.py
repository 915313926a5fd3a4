"""An MCP server's tool seen as one of Duet's tools: the server's schema (adapted) on the wire, arguments
checked against the original, the call bridged to the manager's thread, the result turned into text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agent.mcp.manager import McpCallError, McpManager
from agent.mcp.names import MAX_TOOLS, wire_name
from agent.mcp.results import result_text
from agent.mcp.schema import adapt_schema, argument_problems
from prompts import render
from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.effects import External

MAX_DESCRIPTION = 1_024
SUMMARY_CHARS = 300  # of the arguments, told to the vision model as the task
APPROVAL_CHARS = 4_000  # of the arguments, shown to the approver; past it the middle is cut, and says so
APPROVAL_TAIL = 1_000


class McpArgs(ToolArgs):
    """Unused: an MCP tool's arguments are checked against the server's JSON schema instead."""


class McpTool(Tool):
    """One tool of one MCP server. Its effects are unknown, so it is treated like a shell command."""

    Args = McpArgs
    mutates = True

    def __init__(self, manager: McpManager, server: str, remote: Any, name: str, preapproved: bool,
                 notes: list[str] | None = None) -> None:
        self.name = name
        self.server = server
        self.remote_name: str = remote.name
        self._manager = manager
        self._schema: dict[str, Any] = remote.input_schema if isinstance(remote.input_schema, dict) else {}
        self._wire = adapt_schema(self._schema, notes)
        self._about = " ".join((remote.description or "").split())[:MAX_DESCRIPTION]
        self.preapproved = preapproved
        # Only how it is scheduled: a tool its server marks read-only may run beside the answer's other
        # read-only calls; it is still approved like any MCP tool.
        annotations = getattr(remote, "annotations", None)
        self.parallel_safe = bool(getattr(annotations, "read_only_hint", None) or getattr(annotations, "readOnlyHint",
                                                                                          None))

    @property
    def description(self) -> str:
        return render("mcp_tool", server=self.server, tool=self.remote_name,
                      description=self._about or self.remote_name).strip()

    def input_schema(self) -> dict[str, Any]:
        return self._wire

    def parse_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        problems = argument_problems(self._schema, data)
        if problems:
            raise ToolError(f"invalid arguments for {self.name}: {'; '.join(problems)}")
        return data

    def effect(self, args: Any, ctx: ToolContext) -> External:
        return External(self.server)

    def approval_summary(self, args: Any) -> str:
        """The call with its arguments whole (the approver must see what runs); a very long one is cut in the
        middle, with the number of characters not shown."""
        text = json.dumps(args, ensure_ascii=False)
        if len(text) > APPROVAL_CHARS:
            head = APPROVAL_CHARS - APPROVAL_TAIL
            text = (f"{text[:head]} … [{len(text) - APPROVAL_CHARS} characters not shown] … "
                    f"{text[-APPROVAL_TAIL:]}")
        return f"{self.server}: {self.remote_name} {text}"

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            result = await self._manager.call(self.server, self.remote_name, args)
        except McpCallError as exc:
            raise ToolError(str(exc)) from None
        task = ctx.redact(json.dumps(args, ensure_ascii=False))[:SUMMARY_CHARS]
        text = await result_text(result, tool=self.name, task=task, vision=ctx.vision, redact=ctx.redact)
        data = {"server": self.server, "tool": self.remote_name}
        if result.is_error:
            return ToolResult(False, f"error: {text}", data=data)
        return ToolResult(True, text, data=data)


def mcp_tools(manager: McpManager, taken: set[str], notify: Callable[[str], None] = lambda _text: None,
              limit: int = MAX_TOOLS) -> list[McpTool]:
    """The tools of every server that started, named uniquely (`taken`: names already in use, updated). A tool
    whose schema cannot be adapted is left out, and `notify` says so: one bad tool never ends a session; so
    are the tools past `limit` (the providers' cap on one request's tools, `taken` included)."""
    tools: list[McpTool] = []
    room = limit - len(taken)
    over: dict[str, int] = {}
    for server, state in manager.servers.items():
        for remote in state.tools:
            if len(tools) >= room:
                over[server] = over.get(server, 0) + 1
                continue
            name = wire_name(server, remote.name, taken)
            notes: list[str] = []
            try:
                tool = McpTool(manager, server, remote, name, state.config.approves(remote.name), notes)
            except Exception as exc:  # a malformed input schema (a server's bug)
                notify(f"MCP tool {server}/{remote.name} left out: its input schema cannot be read "
                       f"({type(exc).__name__}: {str(exc)[:200]})")
                continue
            if notes:
                notify(f"MCP tool {server}/{remote.name}: its input schema was cut for the models ({'; '.join(notes)})")
            taken.add(name)
            tools.append(tool)
    for server, count in over.items():
        notify(f"MCP server {server}: {count} of its tools left out: one request carries at most {limit} tools, "
               "built-ins included (list the ones you need in its `tools`)")
    return tools
