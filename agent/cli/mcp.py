"""`agent mcp list`: the configured MCP servers, started as a session would start them, with their tools.

Exit codes: 0 every server started (or none is configured); 1 at least one failed to start; 2 a config error.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_mcp_parser(sub: Any, workspace_help: str) -> None:
    """The `mcp` subcommand and its `list` action."""
    mcp = sub.add_parser("mcp", help="MCP servers: `agent mcp list` starts them and shows their status and tools")
    actions = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="start the configured MCP servers and list their status and tools")
    listing.add_argument("--output", choices=["text", "json"], default="text")
    listing.add_argument("-C", "--workspace", metavar="DIR", help=workspace_help)


def run_mcp(args: argparse.Namespace) -> int:
    """`agent mcp list`: the parser is built for every command, so only this pays for asyncio."""
    import asyncio
    import json
    import sys
    from pathlib import Path

    from agent.config import load_config
    from agent.mcp.manager import McpManager
    from agent.mcp.names import MAX_TOOLS
    from agent.mcp.report import status_lines
    from tools.base import ToolContext
    from tools.registry import offered_names

    workspace = Path(args.workspace).resolve()
    config = load_config(workspace)
    for warning in config.warnings:  # e.g. an untrusted project's servers, ignored
        print(f"agent: warning: {warning}", file=sys.stderr)
    builtin = offered_names(ToolContext(root=workspace))
    manager = McpManager({n: c for n, c in config.mcp_servers.items() if c.enabled}, workspace)
    manager.start()
    try:
        asyncio.run(manager.wait_started())
        if args.output == "json":
            room = [MAX_TOOLS - len(builtin)]  # tools past the providers' limit are marked left out
            print(json.dumps([_entry(name, state, room) for name, state in manager.servers.items()], indent=2))
        else:
            print("\n".join(status_lines(manager, builtin)))
    finally:
        manager.close()
    return 1 if any(s.status == "failed" for s in manager.servers.values()) else 0


def _entry(name: str, state: Any, room: list[int]) -> dict[str, Any]:
    tools = []
    for tool in state.tools:
        tools.append({"name": tool.name, "description": tool.description or "", "left_out": room[0] <= 0})
        room[0] -= 1
    return {"name": name, "transport": state.config.transport, "status": state.status, "error": state.error,
            "tools": tools}
