"""The servers of a session as lines for a person (`agent mcp list`, `/mcp` in the TUI)."""

from __future__ import annotations

from collections.abc import Collection

from agent.mcp.manager import McpManager
from agent.mcp.names import MAX_TOOLS, wire_name

MAX_ABOUT = 80


def status_lines(manager: McpManager | None, taken: Collection[str] = ()) -> list[str]:
    """One line per server (name, transport, status, tool count or error), then its tools: the server's name,
    the name the models see, and the first line of the description. `taken`: the built-in tools' names."""
    if manager is None or not manager.servers:
        return ["no MCP servers configured (see README, \"MCP servers\")"]
    used = set(taken)
    room = MAX_TOOLS - len(used)
    lines: list[str] = []
    for name, state in manager.servers.items():
        where = state.config.command or state.config.url or ""
        head = f"{name} ({state.config.transport}: {where}) {state.status}"
        if state.error:
            head += f": {state.error}"
        elif state.tools:
            head += f", {len(state.tools)} tool{'s' if len(state.tools) != 1 else ''}"
        lines.append(head)
        for tool in state.tools:
            about = " ".join((tool.description or "").split())
            if room <= 0:
                lines.append(f"  {tool.name} [left out: past the {MAX_TOOLS}-tool limit]  {about[:MAX_ABOUT]}"
                             .rstrip())
                continue
            room -= 1
            wire = wire_name(name, tool.name, used)
            used.add(wire)
            approved = " [approved]" if state.config.approves(tool.name) else ""
            lines.append(f"  {tool.name} → {wire}{approved}  {about[:MAX_ABOUT]}".rstrip())
    return lines
