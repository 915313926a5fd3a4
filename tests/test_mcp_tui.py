"""The TUI drives MCP tools like any other and `/mcp` shows the session's servers."""

from __future__ import annotations

from pathlib import Path

from fixtures.fakeapi import ScriptedCall, Turn
from tests.mcp_helpers import alive, starts, stdio_server, wait_until
from tests.tui_helpers import make_app, type_text, wait_idle
from tui.conversation import ConversationView


def texts(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(w.render()) for w in app.query_one(ConversationView).query("Static"))


async def send(app, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await type_text(pilot, text)
    await pilot.press("enter")


async def test_mcp_command_and_calls_in_the_tui(repo: Path, tmp_path: Path, fake_api) -> None:
    marker = tmp_path / "started"
    server = fake_api([
        Turn(tool_calls=[ScriptedCall(name="mcp__tickets__lookup_ticket", arguments={"ticket_id": "T-8"})]),
        Turn(content="Ticket T-8 is about the login page.")])
    app = make_app(repo, server.base_url, approval="full-auto", mcp_servers={"tickets": stdio_server(marker)})
    async with app.run_test(size=(120, 40)) as pilot:
        await send(app, pilot, "what is T-8?")
        await wait_idle(app, pilot, timeout=30)
        await send(app, pilot, "/mcp")
        await pilot.pause()
        shown = texts(app)
        assert "tickets (stdio: " in shown and "ready, 8 tools" in shown
        assert "lookup_ticket → mcp__tickets__lookup_ticket" in shown
    tool_answer = [m["content"] for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert tool_answer == ["Ticket T-8: login page returns 500 since deploy 4521 (status: open)"]
    [pid] = starts(marker)
    assert wait_until(lambda: not alive(pid), 10), "the server outlived the TUI session"
