"""The TUI shows escape sequences from the model and from tools as harmless visible text."""

from __future__ import annotations

from pathlib import Path

from fixtures.fakeapi import ScriptedCall, Turn
from tests.tui_helpers import make_app, type_text, wait_idle
from tui.conversation import AnswerBlock, ConversationView, ToolItem


async def test_model_and_tool_escapes_are_neutralised(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={
        "command": r"printf 'before\033]0;title\007\033[2Jafter'"})]), Turn(content="done \x1b[2Jwiped \x1b]0;t\x07")])
    app = make_app(repo, server.base_url, approval="full-auto")
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await wait_idle(app, pilot)
        tool = app.query_one(ToolItem)
        shown = str(tool.body.render())
        assert "\x1b" not in shown and "\x07" not in shown and "before^[]0;title^G^[[2Jafter" in shown
        answer = "".join(b.markdown_source for b in app.query_one(ConversationView).query(AnswerBlock))
        assert "\x1b" not in answer and "^[[2Jwiped" in answer
