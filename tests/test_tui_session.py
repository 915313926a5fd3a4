"""Pilot tests of a day's use: queued input, commands during a turn, a clean interrupt, the approval mode and its
modal, /clear, the first prompt from the command line, the user's directory, scrolling from the input."""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from textual.containers import VerticalScroll
from textual.widgets import Static

from agent.interactive import Launch
from agent.transcript import read_transcript
from fixtures.fakeapi import ScriptedCall, Turn
from tests.tui_helpers import make_app, type_text, wait_idle, wait_until
from tui.approval import ApprovalScreen
from tui.conversation import AnswerBlock, ConversationView, ToolItem
from tui.prompt import PromptInput
from tui.queue import QueuedInput

GATE = "gate"  # the scripted command waits until the test creates this file: a turn that ends when told
WAIT = ScriptedCall(name="shell", arguments={"command": f"while [ ! -e {GATE} ]; do sleep 0.02; done; echo released"})
READ = ScriptedCall(name="read_file", arguments={"path": "README.md"})
EDIT = ScriptedCall(name="edit_file", arguments={"path": "README.md", "old_string": "hello", "new_string": "bye"})


def texts(app) -> str:  # type: ignore[no-untyped-def]
    """The conversation as text: notes and messages, and the Markdown source of answers."""
    return "\n".join(w.markdown_source if isinstance(w, AnswerBlock) else str(w.render())
                     for w in app.screen_stack[0].query_one(ConversationView).query("Static"))


async def send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await type_text(pilot, text)
    await pilot.press("enter")


def user_messages(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "user"]


async def wait_for_tool(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await wait_until(pilot, lambda: bool(list(app.query(ToolItem))), what="the tool call to start")


async def test_input_during_a_turn_is_queued_commands_run_or_wait_and_say_so(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[WAIT]), Turn(content="first done"), Turn(content="second done")])
    app = make_app(repo, server.base_url, approval="full-auto")
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "start the slow work")
        await wait_for_tool(app, pilot)
        await send(pilot, "then do this")
        await send(pilot, "/compact")
        assert app.queue == ["then do this", "/compact"] and app.query_one(QueuedInput).display
        assert "then do this" in str(app.query_one(QueuedInput).render())
        assert "/compact waits until the turn ends" in str(app.query_one("#hint").render())
        await send(pilot, "/cost")  # read-only commands answer at once, without touching the turn
        assert "deepseek-v4-pro: 1 calls" in texts(app) and app.busy()
        await send(pilot, "a third thought")
        await pilot.press("escape")  # taken back into the input
        assert app.query_one(PromptInput).text == "a third thought" and len(app.queue) == 2
        app.query_one(PromptInput).clear()
        (repo / GATE).touch()
        await wait_idle(app, pilot)
        assert user_messages(server.requests[-1])[-1] == "then do this"
        assert "second done" in texts(app) and "nothing to compact" in texts(app)  # /compact ran after it
        assert not app.query_one(QueuedInput).display
        assert len(server.requests) == 3 and server.violations == []


async def test_interrupt_during_approval_closes_the_modal_and_marks_the_turn(repo: Path, fake_api) -> None:
    # The edit follows a read: an edit of a file the model never read is refused before anyone is asked.
    server = fake_api([Turn(content="Let me edit.", tool_calls=[READ, EDIT]), Turn(content="after")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "edit it")
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the approval modal")
        await pilot.press("ctrl+c")
        await wait_idle(app, pilot)
        assert not isinstance(app.screen, ApprovalScreen)
        assert "interrupted: the turn stopped here" in texts(app)
        assert "interrupted" in str(app.query_one("#hint").render())
        assert (repo / "README.md").read_text() == "hello\n"
        assert "~" not in str(app.query_one("#total").render())  # the spend panel shows billed figures again
        await send(pilot, "go on")
        await wait_idle(app, pilot)
        assert "after" in texts(app) and server.violations == []


async def test_approval_modal_shows_the_diff_and_the_command_with_its_directory(repo: Path, fake_api) -> None:
    (repo / "sub").mkdir()
    shell = ScriptedCall(name="shell", arguments={"command": "touch made.txt && pwd"})
    server = fake_api([Turn(tool_calls=[READ, EDIT]), Turn(tool_calls=[shell]), Turn(content="ok")])
    app = make_app(repo, server.base_url, launch=Launch(start_dir=repo / "sub"))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "work")
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the edit's modal")
        body = app.screen.query_one("#approval-body", Static).content  # type: ignore[attr-defined]
        assert isinstance(body, Syntax) and "-hello" in body.code and "+bye" in body.code
        assert app.screen.query_one("#approval-what", VerticalScroll)  # scrollable when long
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                         and app.screen.request.tool == "shell", what="the command's modal")  # type: ignore[attr-defined]
        body = str(app.screen.query_one("#approval-body", Static).render())
        assert "touch made.txt && pwd" in body
        assert f"in {repo / 'sub'}" in str(app.screen.query_one("#approval-cwd").render())
        await pilot.press("y")
        await wait_idle(app, pilot)
        assert (repo / "sub/made.txt").exists()  # the shell started in the user's directory


async def test_shift_tab_cycles_the_approval_mode_and_slash_approval_sets_it(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[READ, EDIT]), Turn(content="edited without asking")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(120, 30)) as pilot:
        def footer() -> str:
            return " ".join(str(key.description) for key in app.query("FooterKey"))

        await wait_until(pilot, lambda: "approval: ask" in footer(), what="the mode in the footer")
        await pilot.press("shift+tab")
        assert app.duet.config.approval == "auto-edit"  # type: ignore[union-attr]
        await wait_until(pilot, lambda: "approval: auto-edit" in footer(), what="the new mode in the footer")
        await send(pilot, "/approval full-auto")
        assert "approval: full-auto" in texts(app)
        await wait_until(pilot, lambda: "approval: full-auto" in footer(), what="full-auto in the footer")
        await send(pilot, "/approval sometimes")
        assert "unknown approval mode 'sometimes'" in texts(app)
        await send(pilot, "edit the readme")
        await wait_idle(app, pilot)
        assert "edited without asking" in texts(app), texts(app)
        assert (repo / "README.md").read_text() == "bye\n"
        await pilot.press("shift+tab")  # full-auto → read-only: the sandbox makes the workspace read-only too
        assert app.duet.config.approval == "read-only"  # type: ignore[union-attr]
        assert not app.duet.session.launcher.policy.workspace_writable  # type: ignore[union-attr]


async def test_clear_starts_a_new_conversation_in_the_same_session(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="one"), Turn(content="two"), Turn(content="three")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "remember the word apple")
        await wait_idle(app, pilot)
        session_id = app.duet.session.id  # type: ignore[union-attr]
        await send(pilot, "/clear")
        await send(pilot, "what word?")
        await wait_idle(app, pilot)
        assert user_messages(server.requests[-1]) == ["what word?"]
        assert app.duet.session.id == session_id  # type: ignore[union-attr]
        assert app.duet.farewell()[0].startswith(f"session {session_id}: spent $")  # type: ignore[union-attr]
        assert app.duet.farewell()[1] == f"continue it with: agent resume {session_id}"  # type: ignore[union-attr]
        transcript = app.duet.session.transcript.path  # type: ignore[union-attr]
    contents = [e.content for e in read_transcript(transcript) if e.type == "user.message"]  # type: ignore[union-attr]
    assert contents == ["remember the word apple", "what word?"]  # the old conversation stays in the transcript
    again = make_app(repo, server.base_url, resume=transcript)
    async with again.run_test(size=(100, 30)) as pilot:
        await send(pilot, "and now?")
        await wait_idle(again, pilot)
        assert user_messages(server.requests[-1]) == ["what word?", "and now?"]  # a resume continues after /clear


async def test_a_prompt_from_the_command_line_starts_at_once(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="started on it")])
    app = make_app(repo, server.base_url, launch=Launch(prompt="fix the tests"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "started on it" in texts(app), what="the answer")
        await wait_idle(app, pilot)
        assert user_messages(server.requests[0]) == ["fix the tests"]


async def test_a_missing_image_keeps_the_prompt_and_says_why(repo: Path, fake_api) -> None:
    server = fake_api([])
    app = make_app(repo, server.base_url, launch=Launch(prompt="look at this", images=("nope.png",)))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(app, pilot)
        assert "nope.png" in texts(app) and app.query_one(PromptInput).text == "look at this"
        assert server.requests == []


async def test_page_keys_scroll_the_conversation_from_the_input(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="\n\n".join(f"line {i}" for i in range(120)))])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "long answer please")
        await wait_idle(app, pilot)
        view = app.query_one(ConversationView)
        await wait_until(pilot, lambda: view.scroll_y == view.max_scroll_y > 0, what="the view at the bottom")
        bottom = view.scroll_y
        await pilot.press("pageup")
        await wait_until(pilot, lambda: view.scroll_y < bottom, what="a scroll up")
        assert app.focused is app.query_one(PromptInput)
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: view.scroll_y == bottom, what="a scroll down")
