"""Pilot tests of the questions the TUI asks (issue 23, items 10 and 11), over the real loop, sandboxed shell and
a scripted model: "always" buttons say what they match and match no more; what a modal shows cannot hide a
part of itself (escape sequences, bidi and zero-width characters, screens of blank lines); the approval mode
cannot change while a question is open."""

from __future__ import annotations

import html
from pathlib import Path

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Button, Label, Static

from fixtures.fakeapi import ScriptedCall, Turn
from tests.approval_helpers import shell, victim_repo
from tests.tui_helpers import make_app, type_text, wait_idle, wait_until
from tools.diffs import unified
from tui.approval import ApprovalScreen
from tui.trust import TrustScreen

HIDDEN = "git status \x1b[8m&& rm -rf calc tests\x1b[0m"


def modal(app) -> ApprovalScreen:  # type: ignore[no-untyped-def]
    assert isinstance(app.screen, ApprovalScreen)
    return app.screen


def shown_text(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(selector).render())


def buttons(screen) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(b.label) for b in screen.query(Button)]


def footer(app) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(key.description) for key in app.screen_stack[0].query("FooterKey"))


async def start(pilot, text: str = "work") -> None:  # type: ignore[no-untyped-def]
    await type_text(pilot, text)
    await pilot.press("enter")


async def asked_for(app, pilot, command: str) -> ApprovalScreen:  # type: ignore[no-untyped-def]
    await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.request.command == command,
                     what=f"the modal for {command!r}")
    await pilot.pause()
    return modal(app)


async def test_always_for_git_status_asks_again_for_git_status_and_rm(repo: Path, fake_api) -> None:
    victim_repo(repo)
    server = fake_api([Turn(tool_calls=[shell("git status")]),
                       Turn(tool_calls=[shell("git status && rm -rf calc tests")]),
                       Turn(tool_calls=[shell("git status")]), Turn(content="done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 32)) as pilot:
        await start(pilot)
        screen = await asked_for(app, pilot, "git status")
        assert "Always allow exactly `git status` (a)" in buttons(screen)
        assert "Always allow `git status` with any arguments (p)" in buttons(screen)
        await pilot.press("a")
        screen = await asked_for(app, pilot, "git status && rm -rf calc tests")  # asked, not run by the rule
        assert "Always allow exactly `git status && rm -rf calc tests` (a)" in buttons(screen)
        assert not any("any arguments" in label for label in buttons(screen))  # no prefix rule for a compound
        await pilot.press("p")  # no such rule here: nothing happens
        assert isinstance(app.screen, ApprovalScreen)
        await pilot.press("n")
        await wait_idle(app, pilot)  # the third, exact `git status` ran without asking
    assert (repo / "calc/ops.py").exists() and (repo / "tests/test_ops.py").exists()
    tools = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"]
    assert tools[1].startswith("denied by the user") and "On branch main" in tools[2]


async def test_escape_sequences_in_a_command_are_shown_not_obeyed(repo: Path, fake_api) -> None:
    victim_repo(repo)
    sneaky = HIDDEN + " \u202eelif\u202c\u200b"
    server = fake_api([Turn(tool_calls=[shell(sneaky)]), Turn(content="done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 32)) as pilot:
        await start(pilot)
        screen = await asked_for(app, pilot, sneaky)
        body = shown_text(screen, "#approval-body")
        assert "\x1b" not in body and "\u202e" not in body and "\u200b" not in body
        assert "$ git status \\x1b[8m&& rm -rf calc tests\\x1b[0m \\u202eelif\\u202c\\u200b" in body
        assert "5 hidden or control characters" in shown_text(screen, "#approval-stats")
        # the button names the command by reference: its label would carry the hidden characters
        assert "Always allow exactly the command above (a)" in buttons(screen)
        assert all("\x1b" not in label for label in buttons(screen))
        screenshot = html.unescape(app.export_screenshot()).replace("\xa0", " ")  # the whole screen, as drawn
        assert "\x1b" not in screenshot and "\u202e" not in screenshot
        assert "\\x1b[8m&& rm -rf calc tests" in screenshot
        await pilot.press("n")
        await wait_idle(app, pilot)
    assert (repo / "calc/ops.py").exists()


async def test_sixty_blank_lines_are_folded_and_the_payload_stays_in_sight(repo: Path, fake_api) -> None:
    victim_repo(repo)
    padded = "echo hi" + "\n" * 60 + "rm -rf calc"
    server = fake_api([Turn(tool_calls=[shell(padded)]), Turn(content="done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 32)) as pilot:
        await start(pilot)
        screen = await asked_for(app, pilot, padded)
        body = shown_text(screen, "#approval-body")
        assert "··· 59 blank lines ···" in body and body.rstrip().endswith("rm -rf calc")
        assert "command: 61 lines (58 blank lines folded)" in shown_text(screen, "#approval-stats")
        assert screen.query_one("#approval-what", VerticalScroll).max_scroll_y == 0  # all of it on screen
        await pilot.press("n")
        await wait_idle(app, pilot)
    assert (repo / "calc/ops.py").exists()


async def test_a_long_command_says_more_below_until_read_to_the_end(repo: Path, fake_api) -> None:
    victim_repo(repo)
    long = "\n".join(f"echo step {i}" for i in range(60)) + "\nrm -rf calc"
    server = fake_api([Turn(tool_calls=[shell(long)]), Turn(content="done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 32)) as pilot:
        await start(pilot)
        screen = await asked_for(app, pilot, long)
        assert "command: 61 lines" in shown_text(screen, "#approval-stats")
        await wait_until(pilot, lambda: "more below" in shown_text(screen, "#approval-more"), what="more below")
        view = screen.query_one("#approval-what", VerticalScroll)
        for _ in range(10):
            await pilot.press("pagedown")
        await wait_until(pilot, lambda: view.scroll_y == view.max_scroll_y, what="the end of the command")
        await wait_until(pilot, lambda: "end of the content" in shown_text(screen, "#approval-more"),
                         what="the end marker")
        await pilot.press("n")
        await wait_idle(app, pilot)


async def test_shift_tab_in_the_modal_leaves_the_mode_as_it_says(repo: Path, fake_api) -> None:
    edit = ScriptedCall(name="edit_file", arguments={"path": "README.md", "old_string": "hello", "new_string": "bye"})
    read = ScriptedCall(name="read_file", arguments={"path": "README.md"})  # an edit of an unread file is refused
    server = fake_api([Turn(tool_calls=[shell("git status")]), Turn(tool_calls=[read, edit]), Turn(content="done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(120, 32)) as pilot:
        await start(pilot)
        screen = await asked_for(app, pilot, "git status")
        for _ in range(2):  # ask → auto-edit → full-auto, before
            await pilot.press("shift+tab")
        assert app.duet.config.approval == "ask"  # type: ignore[union-attr]
        assert "approval: ask" in footer(app)
        assert "stays ask until this question is answered" in shown_text(screen, "#question-mode")
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                         and app.screen.request.tool == "edit_file", what="the edit asked too (still ask)")
        await pilot.pause()
        assert "approval mode: ask (fixed while this question is open)" in shown_text(modal(app), "#question-mode")
        await pilot.press("y")
        await wait_idle(app, pilot)
        assert app.duet.config.approval == "ask" and "approval: ask" in footer(app)  # type: ignore[union-attr]
        await pilot.press("shift+tab")  # with no question open, the mode changes as before
        assert app.duet.config.approval == "auto-edit"  # type: ignore[union-attr]


async def test_the_trust_question_shows_hidden_characters_and_fixes_the_mode(repo: Path, fake_api) -> None:
    (repo / ".duet").mkdir(exist_ok=True)
    (repo / ".duet/config.toml").write_text('approval = "full-auto"\n[models."x\\u001b[8mhidden\\u202e"]\n'
                                            'base_url = "http://127.0.0.1:9"\n')
    app = make_app(repo, fake_api([]).base_url)
    async with app.run_test(size=(120, 32)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, TrustScreen), what="the trust question")
        await pilot.pause()
        shown = str(app.screen.query_one("#trust-what", Static).render())
        assert "\x1b" not in shown and "\u202e" not in shown and "x\\x1b[8mhidden\\u202e" in shown
        await pilot.press("shift+tab")
        assert app.duet.config.approval == "ask"  # type: ignore[union-attr]
        assert "stays ask" in str(app.screen.query_one("#question-mode", Label).render())
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, TrustScreen)


async def test_a_long_trust_question_says_more_below(repo: Path, fake_api) -> None:
    (repo / ".duet").mkdir(exist_ok=True)
    rows = "".join(f'[models."m{i:03}"]\nbase_url = "http://127.0.0.1:9"\n' for i in range(200))
    (repo / ".duet/config.toml").write_text('approval = "full-auto"\n' + rows + '[models."last-one"]\nbase_url = "x"\n')
    app = make_app(repo, fake_api([]).base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, TrustScreen), what="the trust question")
        screen = app.screen
        await wait_until(pilot, lambda: "more below" in str(screen.query_one("#trust-more").render()),
                         what="more below")
        for _ in range(30):
            await pilot.press("pagedown")
        await wait_until(pilot, lambda: "end of the content" in str(screen.query_one("#trust-more").render()),
                         what="the end of the question")
        assert screen.query_one("#trust-scroll", VerticalScroll).scroll_y > 0
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, TrustScreen)


async def test_markup_and_hidden_characters_in_a_diff_are_shown_as_they_are(repo: Path, fake_api) -> None:
    content = "ok = 1\n" + "\n" * 40 + "evil = '\x1b[8m'\u202e  # [#000000 on #000000]hidden[/]\n"
    write = ScriptedCall(name="write_file", arguments={"path": "notes.py", "content": content})
    server = fake_api([Turn(tool_calls=[shell("echo [b]hi[/b]")]), Turn(tool_calls=[write]), Turn(content="done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 32)) as pilot:
        await start(pilot)
        screen = await asked_for(app, pilot, "echo [b]hi[/b]")
        assert "Always allow exactly `echo [b]hi[/b]` (a)" in buttons(screen)  # markup is text, not style
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                         and app.screen.request.tool == "write_file", what="the write's modal")
        screen = modal(app)
        await pilot.pause()
        body = screen.query_one("#approval-body", Static).content.code  # type: ignore[attr-defined]
        assert "\x1b" not in body and "\u202e" not in body
        assert "+evil = '\\x1b[8m'\\u202e  # [#000000 on #000000]hidden[/]" in body
        assert "+··· 40 blank lines ···" in body
        assert "2 hidden or control characters" in shown_text(screen, "#approval-stats")
        await pilot.press("n")
        await wait_idle(app, pilot)
        titles = [str(item.title) for item in app.query("ToolItem")]
        assert any("echo [b]hi[/b]" in Content.from_markup(t).plain for t in titles), titles
    assert not (repo / "notes.py").exists()


async def test_the_modal_shows_the_edit_the_tool_will_write(repo: Path, fake_api) -> None:
    code = "def area(w, h):\n    if w < 0:\n        raise ValueError('w')\n    return w * h\n"
    (repo / "geo.py").write_text(code)
    # A tab where the file has spaces: only edit_file's whitespace-insensitive rung finds it.
    edit = ScriptedCall(name="edit_file", arguments={"path": "geo.py", "old_string": "\tif w < 0:\n\t\traise "
                        "ValueError('w')", "new_string": "\tif w < 0 or h < 0:\n\t\traise ValueError('negative')"})
    read = ScriptedCall(name="read_file", arguments={"path": "geo.py"})
    server = fake_api([Turn(tool_calls=[read, edit]), Turn(content="done")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                         and app.screen.request.tool == "edit_file", what="the edit's modal")
        screen = modal(app)
        await pilot.pause()
        shown = screen.preview
        await pilot.press("y")
        await wait_idle(app, pilot)
    after = (repo / "geo.py").read_text()
    assert "    if w < 0 or h < 0:\n" in after  # the file's indentation, which the preview showed as it is
    assert shown.kind == "diff" and shown.text == unified("geo.py", code, after)
