"""Building the TUI on a real Interactive session against the fake server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.interactive import Interactive
from tests.conftest import KEYS, make_config
from tui.app import DuetApp


def make_app(workspace: Path, base_url: str, resume: Path | None = None, **config: Any) -> DuetApp:
    config.setdefault("approval", "ask")
    config.setdefault("model", "deepseek-v4-pro")
    settings = make_config(workspace, base_url, **config)
    first = [resume]

    def make(sink, ask, path):  # type: ignore[no-untyped-def]
        chosen = path if path is not None else first.pop() if first else None
        return Interactive(workspace, settings, sink, ask, environ=KEYS, resume=chosen)

    return DuetApp(make)


async def type_text(pilot: Any, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def wait_idle(app: DuetApp, pilot: Any, timeout: float = 10.0) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause()
    while app._busy() and loop.time() < deadline:
        await pilot.pause(0.05)
    await pilot.pause()
