"""Starting a session's MCP servers and handing their tools to the toolbox once they are up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from agent.events import Notice
from agent.mcp.manager import McpManager
from tools.base import Tool

if TYPE_CHECKING:
    from agent.session import Session


def start_servers(session: Session, taken: set[str]) -> Callable[[], Awaitable[list[Tool]]] | None:
    """Start the configured servers in the background (None when there are none). The returned callable waits
    until each is ready or has failed (each within its startup_timeout_s) and returns their tools, named apart
    from `taken`. Their env and header values are redacted from everything the session writes or sends."""
    servers = {name: cfg for name, cfg in session.config.mcp_servers.items() if cfg.enabled}
    if not servers:
        return None
    for cfg in servers.values():
        # The user wrote these as secrets: redacted however plain or short they look.
        session.redact.add(cfg.secrets(), trusted=True)
        session.redact.add(cfg.settings())

    def notify(text: str) -> None:
        session.emit(Notice(level="warning", message=text))

    manager = McpManager(servers, session.workspace, notify=notify)
    session.mcp = manager
    manager.start()

    async def tools() -> list[Tool]:
        from agent.mcp.tool import mcp_tools

        await manager.wait_started()
        return list(mcp_tools(manager, taken, notify))

    return tools
