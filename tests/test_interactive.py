"""The interactive session's settings: each change is a new value, and what the model is told follows it."""

from __future__ import annotations

from pathlib import Path

from fixtures.fakeapi import Turn
from tests.tui_helpers import make_app, type_text, wait_idle


def system_text(request: dict) -> str:
    return request["messages"][0]["content"]


async def test_after_shift_tab_the_next_request_names_the_new_approval_mode(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="one"), Turn(content="two"), Turn(content="three")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(120, 30)) as pilot:
        assert app.duet is not None
        first_config = app.duet.config
        for text in ("first", None, "second", "/model deepseek-v4-flash", "third"):
            if text is None:
                await pilot.press("shift+tab")  # ask → auto-edit
                continue
            await type_text(pilot, text)
            await pilot.press("enter")
            await wait_idle(app, pilot)
        assert "Approval mode: ask." in system_text(server.requests[0])
        assert "Approval mode: auto-edit." in system_text(server.requests[1])
        assert "Approval mode: ask." not in system_text(server.requests[1])
        assert server.requests[2]["model"] == "deepseek-v4-flash"
        # The settings changed by new values: the Config the session started with is as it was.
        assert (first_config.approval, first_config.model) == ("ask", "deepseek-v4-pro")
        assert (app.duet.config.approval, app.duet.config.model) == ("auto-edit", "deepseek-v4-flash")
        assert app.duet.session.config is app.duet.config
