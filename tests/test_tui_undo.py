"""The TUI's /undo follows `agent undo`'s rules: later edits are kept unless forced, with the diff shown first."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from fixtures.fakeapi import ScriptedCall, Turn
from tests.tui_helpers import make_app, wait_idle
from tui.conversation import ConversationView

KEYS = {" ": "space", "-": "minus", "/": "slash"}


async def say(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for ch in text:
        await pilot.press(KEYS.get(ch, ch))
    await pilot.press("enter")


def shown(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(w.render()) for w in app.query_one(ConversationView).query(Static))


async def test_undo_keeps_later_edits_unless_forced(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[
        ScriptedCall(name="read_file", arguments={"path": "README.md"}),
        ScriptedCall(name="edit_file", arguments={"path": "README.md", "old_string": "hello", "new_string": "bye"})]),
        Turn(content="done")])
    app = make_app(repo, server.base_url, approval="full-auto")
    async with app.run_test(size=(120, 40)) as pilot:
        await say(pilot, "edit")
        await wait_idle(app, pilot)
        (repo / "README.md").write_text("bye\nmy own line\n")
        await say(pilot, "/undo")
        await pilot.pause()
        assert (repo / "README.md").read_text() == "bye\nmy own line\n" and "left alone 1 file" in shown(app)
        await say(pilot, "/undo --force")
        await pilot.pause()
        assert (repo / "README.md").read_text() == "hello\n"
        assert "-my own line" in shown(app) and "restored README.md" in shown(app)
