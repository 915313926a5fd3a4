"""Building a real agent (real loop, tools, providers) against the fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from agent.approval import Approver, refuse_headless
from agent.events import Event
from agent.loop import Agent
from agent.runtime import ProviderPool, build_agent
from agent.session import Session
from fixtures.fakeapi import Turn
from tests.conftest import KEYS, make_config
from tests.scripted import Script
from tools.shell import ShellArgs, ShellTool

NOWHERE = "http://127.0.0.1:9"
"""A base URL nothing listens on: for sessions whose model is scripted in-process (tests/scripted.py)."""


def make_agent(workspace: Path, base_url: str, *, approver: Approver = refuse_headless, max_turns: int = 20,
               max_cost: float | None = None, script: Script | None = None,
               **config: Any) -> tuple[Agent, ProviderPool, list[Event]]:
    """The real agent (build_agent: router, tools, prompt, limits) of a new session. With `script`, every model
    is the in-process scripted model playing it; otherwise the providers talk HTTP to `base_url`."""
    config.setdefault("approval", "full-auto")
    config.setdefault("model", "deepseek-v4-pro")
    events: list[Event] = []
    session = Session(workspace, make_config(workspace, base_url, **config), sink=events.append)
    clients = script.clients(session.config) if script is not None else None
    agent, pool = build_agent(session, approver, max_turns=max_turns, max_cost=max_cost, environ=KEYS,
                              clients=clients)
    return agent, pool, events


@asynccontextmanager
async def running_agent(workspace: Path, base_url: str, **kwargs: Any) -> AsyncIterator[tuple[Agent, list[Event]]]:
    """`make_agent`, closed afterwards whatever happened: its provider pool and its session (which stops the
    session's processes, MCP servers included)."""
    agent, pool, events = make_agent(workspace, base_url, **kwargs)
    try:
        yield agent, events
    finally:
        await pool.aclose()
        agent.session.close()


@asynccontextmanager
async def scripted_agent(workspace: Path, turns: list[Turn] | Script,
                         **kwargs: Any) -> AsyncIterator[tuple[Agent, list[Event], Script]]:
    """`running_agent` with the in-process scripted model playing `turns`: the real loop, tools and session,
    no HTTP. The script keeps every request (`requests`) and every breach of the API's rules (`violations`)."""
    script = turns if isinstance(turns, Script) else Script(list(turns))
    async with running_agent(workspace, NOWHERE, script=script, **kwargs) as (agent, events):
        yield agent, events, script


def of_type(events: list[Event], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


def tiny_png(path: Path, rgb: tuple[int, int, int] = (200, 30, 30)) -> Path:
    """A real 2×2 PNG file."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * 2 for _ in range(2))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


def trust_project(workspace: Path) -> None:
    """Trust the workspace's own .duet/config.toml (as `agent trust` would) for the configs tests build: the one
    `make_config` loads (HOME = workspace/.home) and the one an `agent` subprocess loads (the test's HOME)."""
    import os

    from agent import trust
    from agent.config import user_config_path

    for env in ({"HOME": str(workspace / ".home")}, dict(os.environ)):
        trust.record_trust(workspace, user_config_path(env))


def shell_session(workspace: Path, **config: Any) -> Session:
    """A session (with its sandbox launcher) whose provider is never reached: for running tools directly."""
    return Session(workspace, make_config(workspace, "http://127.0.0.1:9", **config))


async def sh(session: Session, command: str) -> tuple[int, str]:
    """Run `command` through the session's shell tool (and so its sandbox): (exit code, output)."""
    result = await ShellTool().run(ShellArgs(command=command, timeout_s=60), session.tool_context)
    return int(result.data["exit_code"]), result.output
