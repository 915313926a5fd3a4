"""Pilot tests of the approval modal at the size of a plain terminal (issue 26, "The approval modal, for hours of
pairing"), over the real loop, tools and a scripted model: at 80×24 the answers and their keys stay on screen
whatever the length of the diff, which scrolls; the note is reached by Tab and what is typed into it is text,
never an answer; a denial carries its note to the model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Button, Input

from agent.assembly import SessionSpec
from agent.events import ApprovalDecided, ToolFinished
from agent.interactive import Interactive
from fixtures.fakeapi import ScriptedCall, Turn
from tests.approval_helpers import shell, victim_repo
from tests.conftest import KEYS, make_config
from tests.tui_helpers import make_app, type_text, wait_idle, wait_until
from tui.app import DuetApp
from tui.approval import ApprovalScreen
from tui.prompt import PromptInput

LONG = "".join(f"line {i}\n" for i in range(200))  # a new file of 200 lines: a 203-line diff


def write_long() -> ScriptedCall:
    return ScriptedCall(name="write_file", arguments={"path": "big.txt", "content": LONG})


async def asked(app, pilot, tool: str) -> ApprovalScreen:  # type: ignore[no-untyped-def]
    await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.request.tool == tool,
                     what=f"the modal for {tool}")
    await pilot.pause()
    assert isinstance(app.screen, ApprovalScreen)
    return app.screen


def tool_results(server) -> list[str]:  # type: ignore[no-untyped-def]
    return [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"]


async def test_at_80x24_a_200_line_diff_scrolls_and_the_answers_stay_on_screen(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[write_long()]), Turn(content="done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, "write it")
        await pilot.press("enter")
        screen = await asked(app, pilot, "write_file")
        assert screen.preview.kind == "diff" and screen.preview.text.count("\n") >= 200  # the tool's own diff
        await pilot.pause(0.1)
        whole = Region(0, 0, 80, 24)
        for name in ("#approve", "#deny", "#always-0", "#note", "#approval-keys", "#approval-more"):
            widget = screen.query_one(name)
            assert widget.region.area and whole.contains_region(widget.region), (name, widget.region)
        labels = [str(b.label) for b in screen.query(Button)]
        assert "Approve once (y)" in labels and "Deny (n)" in labels and any("(a)" in lab for lab in labels)
        view = screen.query_one("#approval-what", VerticalScroll)
        assert whole.contains_region(view.region) and view.max_scroll_y > 150  # the diff scrolls, in its box
        assert "more below" in str(screen.query_one("#approval-more").render())
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: view.scroll_y > 0, what="the diff to scroll")
        assert whole.contains_region(screen.query_one("#approve").region)  # still there after scrolling
        await pilot.press("y")
        await wait_idle(app, pilot)
    assert (repo / "big.txt").read_text() == LONG


async def test_tab_reaches_the_note_and_a_denial_carries_it_to_the_model(repo: Path, fake_api) -> None:
    victim_repo(repo)
    server = fake_api([Turn(tool_calls=[shell("sleep 30")]), Turn(content="ok, no sleeping")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, "wait a bit")
        await pilot.press("enter")
        screen = await asked(app, pilot, "shell")
        assert app.focused is screen.query_one("#approve", Button)
        await pilot.press("tab", "tab")  # Approve → Deny → the note
        note = screen.query_one("#note", Input)
        assert app.focused is note
        await pilot.press(*"no sleeping")  # key by key, as typed: n, o, space, s, ... are text here
        assert app.screen is screen and note.value == "no sleeping"
        await pilot.press("tab")  # out of the note: the keys are answers again
        assert app.focused is not note
        await pilot.press("n")
        await wait_idle(app, pilot)
        prompt = app.query_one(PromptInput)
        assert prompt.text == "" and app.focused is prompt  # nothing leaked into the main prompt
    assert tool_results(server) == ["denied by the user: no sleeping"]


async def test_y_a_n_typed_into_the_note_are_text_and_enter_denies_with_it(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[shell("sleep 30")]), Turn(content="fine")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        screen = await asked(app, pilot, "shell")
        await pilot.press("tab", "tab")
        await pilot.press(*"yes any nap")  # y, a, p, n: every answer key, typed as text
        assert app.screen is screen and screen.query_one("#note", Input).value == "yes any nap"
        await pilot.press("enter")
        await wait_idle(app, pilot)
        assert app.query_one(PromptInput).text == ""
    assert tool_results(server) == ["denied by the user: yes any nap"]


async def test_one_hidden_character_is_counted_in_the_singular(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[shell("echo \u200bhi")]), Turn(content="done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        screen = await asked(app, pilot, "shell")
        stats = str(screen.query_one("#approval-stats").render())
        assert "⚠ 1 hidden or control character," in stats and "characters" not in stats
        await pilot.press("n")
        await wait_idle(app, pilot)


async def test_a_message_typed_during_a_turn_says_it_is_sent_when_the_turn_ends(repo: Path, fake_api) -> None:
    gate = "gate"  # the command waits until the test creates this file: a turn that ends when told
    wait = shell(f"while [ ! -e {gate} ]; do sleep 0.02; done; echo released")
    server = fake_api([Turn(tool_calls=[wait]), Turn(content="first done"), Turn(content="second done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, "wait for the gate")
        await pilot.press("enter")
        await asked(app, pilot, "shell")
        await pilot.press("y")
        await wait_until(pilot, lambda: not isinstance(app.screen, ApprovalScreen), what="the modal to close")
        await type_text(pilot, "then this")
        await pilot.press("enter")
        hint = str(app.query_one("#hint").render())
        assert "queued; it is sent when the turn ends (Esc takes it back)" in hint, hint
        (repo / gate).touch()
        await wait_idle(app, pilot)


async def test_a_tool_rows_duration_leaves_out_the_time_the_modal_was_open(repo: Path, fake_api) -> None:
    """The duration a tool row shows starts when the call is approved: never more than the time from the
    decision to the result (each event stamped as it is emitted), however long the question was open."""
    server = fake_api([Turn(tool_calls=[shell("true")]), Turn(content="done")])
    settings = make_config(repo, server.base_url, approval="ask", model="deepseek-v4-pro")
    stamped: list[tuple[float, Any]] = []

    def make(sink, ask, path):  # type: ignore[no-untyped-def]
        def stamp(event):  # type: ignore[no-untyped-def]
            stamped.append((time.monotonic(), event))
            sink(event)
        return Interactive(SessionSpec(repo, settings, resume=path, environ=KEYS), stamp, ask)

    app = DuetApp(make)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await asked(app, pilot, "shell")
        await pilot.pause(0.5)  # the user reads the question for a while
        await pilot.press("y")
        await wait_idle(app, pilot)
    decided = next(t for t, e in stamped if isinstance(e, ApprovalDecided))
    finished, event = next((t, e) for t, e in stamped if isinstance(e, ToolFinished))
    assert event.duration_s <= finished - decided + 0.001, (event.duration_s, finished - decided)
