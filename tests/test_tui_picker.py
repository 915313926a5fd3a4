"""`/resume` without an id: a picker of the workspace's sessions (newest first); choosing one loads its
conversation and its spend; Esc leaves the session as it was. The approval mode the user is in survives a resume."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from fixtures.fakeapi import ScriptedUsage, Turn
from tests.tui_helpers import make_app, type_text, wait_idle, wait_until
from tui.conversation import AnswerBlock, ConversationView
from tui.picker import SessionPicker
from tui.spend import SpendPanel

SMALL = ScriptedUsage(prompt_tokens=1_000, completion_tokens=100)
LARGE = ScriptedUsage(prompt_tokens=90_000, completion_tokens=4_000)


def texts(app) -> str:  # type: ignore[no-untyped-def]
    """The conversation as text: notes and messages, and the Markdown source of answers."""
    return "\n".join(w.markdown_source if isinstance(w, AnswerBlock) else str(w.render())
                     for w in app.screen_stack[0].query_one(ConversationView).query("Static"))


def spend_text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(w.render()) for w in app.screen_stack[0].query_one(SpendPanel).query("Static, Label"))


def footer(app) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(key.description) for key in app.screen_stack[0].query("FooterKey"))


async def send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await type_text(pilot, text)
    await pilot.press("enter")


async def record(repo: Path, base_url: str, task: str) -> tuple[str, str]:
    """One TUI session with one message; its id and its spend panel as it closed."""
    app = make_app(repo, base_url)
    async with app.run_test(size=(120, 30)) as pilot:
        await send(pilot, task)
        await wait_idle(app, pilot)
        return app.duet.session.id, spend_text(app)  # type: ignore[union-attr]


async def open_picker(app, pilot) -> SessionPicker:  # type: ignore[no-untyped-def]
    await send(pilot, "/resume")
    await wait_until(pilot, lambda: isinstance(app.screen, SessionPicker), what="the session picker")
    return app.screen  # type: ignore[no-any-return]


async def choose(app, pilot, session_id: str) -> None:  # type: ignore[no-untyped-def]
    picker = app.screen
    options = picker.query_one(OptionList)
    options.highlighted = next(i for i, line in enumerate(picker.lines) if line.id == session_id)
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.duet.session.id == session_id, what="the chosen session to load")
    await pilot.pause()


async def test_resume_without_an_id_picks_a_session_and_loads_its_conversation_and_spend(repo: Path,
                                                                                          fake_api) -> None:
    server = fake_api([Turn(content="the older answer", usage=LARGE), Turn(content="the newer answer", usage=SMALL)])
    older, older_spend = await record(repo, server.base_url, "the older task")
    newer, _ = await record(repo, server.base_url, "the newer task")
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(120, 30)) as pilot:
        current = app.duet.session.id  # type: ignore[union-attr]
        picker = await open_picker(app, pilot)
        assert [line.id for line in picker.lines] == [current, newer, older]  # newest first
        shown = [str(picker.query_one(OptionList).get_option_at_index(i).prompt) for i in range(3)]
        assert shown[1].startswith(newer) and "(interactive)" in shown[1] and "$0.0" in shown[1]
        await choose(app, pilot, older)
        assert not isinstance(app.screen, SessionPicker)
        assert "the older task" in texts(app) and "the older answer" in texts(app)
        assert "the newer task" not in texts(app)
        assert spend_text(app) == older_spend  # the spend panel is that session's, as it closed


async def test_escape_cancels_the_picker_at_80x24_and_keeps_the_session(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="an answer")])
    await record(repo, server.base_url, "a task")
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        current = app.duet.session.id  # type: ignore[union-attr]
        picker = await open_picker(app, pilot)
        assert picker.query_one(OptionList).region.width <= 80  # at 80x24 the list fits the screen
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SessionPicker), what="the picker to close")
        assert app.duet.session.id == current  # type: ignore[union-attr]
        assert "resume cancelled" in str(app.query_one("#hint").render())


async def test_the_footer_keeps_full_auto_across_a_resume(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="an answer")])
    older, _ = await record(repo, server.base_url, "a task")
    app = make_app(repo, server.base_url)  # launched in ask
    async with app.run_test(size=(120, 30)) as pilot:
        await send(pilot, "/approval full-auto")
        await wait_until(pilot, lambda: "approval: full-auto" in footer(app), what="full-auto in the footer")
        await send(pilot, f"/resume {older}")
        await wait_until(pilot, lambda: app.duet.session.id == older, what="the resumed session")
        await pilot.pause()
        assert app.duet.config.approval == "full-auto"  # type: ignore[union-attr]
        assert "approval: full-auto" in footer(app) and "approval: ask" not in footer(app)
        await open_picker(app, pilot)  # and through the picker
        await choose(app, pilot, older)
        assert "approval: full-auto" in footer(app)
    # `agent resume ID --approval full-auto`: the TUI opens on the resumed session in that mode
    again = make_app(repo, server.base_url, resume=None, approval="full-auto")
    async with again.run_test(size=(120, 30)) as pilot:
        await send(pilot, f"/resume {older}")
        await wait_until(pilot, lambda: again.duet.session.id == older, what="the resumed session")
        await pilot.pause()
        assert "approval: full-auto" in footer(again)
