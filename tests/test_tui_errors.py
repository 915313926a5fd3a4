"""A failure inside a run ends that run with its outcome and one clear line; the app goes on (Textual exits the
whole app when an exception escapes a worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from fixtures.fakeapi import ScriptedCall, Turn
from tests.tui_helpers import make_app, type_text, wait_idle
from tools.base import Tool, ToolContext, ToolResult
from tools.registry import ToolBox, default_tools
from tui.conversation import AnswerBlock, ConversationView


class BrokenArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrokenTool(Tool):
    """A plugin tool with a bug: it raises what no tool result can carry."""

    name = "broken"
    Args = BrokenArgs

    @property
    def description(self) -> str:
        return "Fails."

    async def run(self, args: Any, ctx: ToolContext) -> ToolResult:
        raise RuntimeError("boom inside the tool")


def texts(app: Any) -> str:
    return "\n".join(str(w.render()) for w in app.query_one(ConversationView).query("Static"))


async def test_an_internal_failure_mid_run_ends_the_run_and_leaves_the_app_running(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="broken")]), Turn(content="still here")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.duet is not None
        app.duet.agent.toolbox = ToolBox([*default_tools(), BrokenTool()])
        await type_text(pilot, "use the broken tool")
        await pilot.press("enter")
        await wait_idle(app, pilot)
        assert app.is_running and app.return_code is None
        assert "internal error: RuntimeError: boom inside the tool" in texts(app)
        assert str(app.query_one("#hint").render()) == "not_done"
        await type_text(pilot, "and now?")
        await pilot.press("enter")
        await wait_idle(app, pilot)
        assert app.query_one(ConversationView).query(AnswerBlock).last().markdown_source == "still here"
        # The broken call got a result in the history: the next request was valid.
        assert server.violations == []


async def test_a_failed_summary_call_on_compact_leaves_the_app_and_the_conversation(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="one"), Turn(content="two"), Turn(content="three"), Turn(fault="400"),
                       Turn(content="four")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.duet is not None
        for text in ("first", "second", "third", "/compact"):
            await type_text(pilot, text)
            await pilot.press("enter")
            await wait_idle(app, pilot)
        assert app.is_running and "/compact failed" in texts(app)
        assert len(app.duet.session.messages) == 6  # nothing folded
        await type_text(pilot, "fourth")
        await pilot.press("enter")
        await wait_idle(app, pilot)
        assert app.query_one(ConversationView).query(AnswerBlock).last().markdown_source == "four"
