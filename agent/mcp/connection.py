"""One live connection to an MCP server (a stdio child process or a streamable HTTP endpoint), via the SDK."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from mcp.types import Implementation, PaginatedRequestParams

from agent import __version__
from agent.mcp.config import McpServerConfig
from agent.mcp.launch import launched

CLIENT = Implementation(name="duet", version=__version__)
# Set for every stdio server (its own `env` may override): python never puts the working directory on sys.path.
SAFE_ENV = {"PYTHONSAFEPATH": "1"}

Fault = Callable[[Exception], Awaitable[None]]


@contextlib.asynccontextmanager
async def connect(config: McpServerConfig, workspace: Path, errlog: TextIO,
                  on_fault: Fault | None = None) -> AsyncIterator[ClientSession]:
    """An initialised session with the server; leaving the block ends it (a stdio server's process tree is
    stopped by the SDK: stdin closed, then SIGTERM, then SIGKILL). Must be entered and left in one task.
    `on_fault`: told of each transport-level error (a line on stdout that is not a message, a broken stream)."""
    async with contextlib.AsyncExitStack() as stack:
        if config.command is not None:
            # Bytes that are not UTF-8 become U+FFFD: under "strict" one bad byte kills the SDK's reader for good.
            command, args = launched(config.program(workspace), config.args)  # dies with the session
            params = StdioServerParameters(command=command, args=args,
                                           env={**SAFE_ENV, **config.env}, cwd=config.start_dir(workspace),
                                           encoding_error_handler="replace")
            read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        else:
            assert config.url is not None
            http = await stack.enter_async_context(create_mcp_http_client(headers=config.headers or None))
            read, write = await stack.enter_async_context(streamable_http_client(config.url, http_client=http))
        async def handle(message: Any) -> None:
            if isinstance(message, Exception) and on_fault is not None:
                await on_fault(message)

        session = await stack.enter_async_context(ClientSession(read, write, client_info=CLIENT,
                                                                message_handler=handle))
        await session.initialize()
        yield session


async def list_tools(session: ClientSession) -> list[Any]:
    """Every tool the server offers (all pages)."""
    tools: list[Any] = []
    cursor: str | None = None
    while True:
        page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools
