"""Building the TUI on a real Interactive session against the fake server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.assembly import SessionSpec
from agent.interactive import Interactive, Launch
from tests.conftest import KEYS, make_config
from tui.app import DuetApp


def make_app(workspace: Path, base_url: str, resume: Path | None = None, launch: Launch | None = None,
             **config: Any) -> DuetApp:
    config.setdefault("approval", "ask")
    config.setdefault("model", "deepseek-v4-pro")
    settings = make_config(workspace, base_url, **config)
    first = [resume]

    def make(sink, ask, path):  # type: ignore[no-untyped-def]
        chosen = path if path is not None else first.pop() if first else None
        spec = SessionSpec(workspace, settings, start_dir=launch.start_dir if launch else None, resume=chosen,
                           environ=KEYS)
        return Interactive(spec, sink, ask)

    return DuetApp(make, launch)


async def type_text(pilot: Any, text: str) -> None:
    """Type `text` into the focused input in one step (as a paste would), not key by key."""
    from textual.widgets import Input, TextArea

    await wait_until(pilot, lambda: isinstance(pilot.app.focused, TextArea | Input), 5, "an input to have focus")
    focused = pilot.app.focused
    if isinstance(focused, TextArea):
        focused.insert(text)
    elif isinstance(focused, Input):
        focused.insert_text_at_cursor(text)
    else:
        raise AssertionError(f"nothing to type into: focus is on {focused!r}")
    await pilot.pause()


async def wait_until(pilot: Any, condition: Any, timeout: float = 10.0, what: str = "the condition") -> None:
    """Let the app run until `condition()` holds (checked after each message-queue drain), or fail."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause()
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.01)


async def wait_idle(app: DuetApp, pilot: Any, timeout: float = 10.0) -> None:
    """Until the agent's turn (and anything queued behind it) is done and its events are shown."""
    await wait_until(pilot, lambda: not app.busy() and not app.queue, timeout, "the agent to finish")
    await pilot.pause()
