"""Committed SVG snapshots of the TUI's main states (pytest-textual-snapshot).

Regenerate after an intended change with: python -m pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

from agent.approval import ApprovalRequest
from agent.approval_preview import ApprovalPreview
from agent.events import MessageDelta, TurnStarted, UsageEstimate, UserMessageEvent
from fixtures.fakeapi import ScriptedUsage, Turn
from tests.pinned_prices import pin_launch_prices
from tests.tui_helpers import make_app, type_text, wait_idle
from tools.diffs import unified
from tui.app import AgentEvent
from tui.approval import ApprovalScreen
from tui.queue import QueuedInput


def test_idle(snap_compare, repo: Path, fake_api) -> None:
    app = make_app(repo, fake_api([]).base_url)
    assert snap_compare(app, terminal_size=(80, 24))


def test_streaming(snap_compare, repo: Path, fake_api) -> None:
    app = make_app(repo, fake_api([]).base_url)

    async def stream(pilot) -> None:  # type: ignore[no-untyped-def]
        events = [UserMessageEvent(content="why does the parser drop the last token?"),
                  TurnStarted(turn=1, model="deepseek-v4-pro", reason="drives the conversation"),
                  MessageDelta(turn=1, kind="reasoning", text="The loop stops one short of the end."),
                  MessageDelta(turn=1, kind="text", text="The loop in `parse()` uses "),
                  MessageDelta(turn=1, kind="text", text="`range(len(tokens) - 1)`, so the **last token**"),
                  MessageDelta(turn=1, kind="text", text=" is never read:\n\n```python\nfor i in range(len(tok"),
                  UsageEstimate(model="deepseek-v4-pro", output_tokens=40, call_usd="0.0021", session_usd="0.0021")]
        for event in events:
            app.post_message(AgentEvent(event))
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(100, 30), run_before=stream)


def test_approval_modal(snap_compare, repo: Path, fake_api) -> None:
    app = make_app(repo, fake_api([]).base_url)

    async def ask(pilot) -> None:  # type: ignore[no-untyped-def]
        app.push_screen(ApprovalScreen(ApprovalRequest("c1", "shell", "python -m pytest -q tests/test_parser.py",
                                                       "python -m pytest -q tests/test_parser.py"), mode="ask"))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_spend_panel_with_two_models(snap_compare, repo: Path, fake_api) -> None:
    usage = ScriptedUsage(prompt_tokens=42_000, cache_hit_tokens=40_960, completion_tokens=900, reasoning_tokens=300)
    server = fake_api([Turn(model="deepseek-v4-pro", content="Found it: an off-by-one in `parse()`.", usage=usage),
                       Turn(model="gpt-5.5", content="Agreed; the fix is right.", usage=usage)])
    app = make_app(pin_launch_prices(repo), server.base_url, max_cost=0.5)

    async def two_models(pilot) -> None:  # type: ignore[no-untyped-def]
        for text in ("find the bug", "/model gpt-5.5", "review the fix"):
            await type_text(pilot, text)
            await pilot.press("enter")
            await wait_idle(app, pilot)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(100, 30), run_before=two_models)


def test_approval_modal_with_a_diff(snap_compare, repo: Path, fake_api) -> None:
    app = make_app(repo, fake_api([]).base_url)
    diff = ("--- a/calc/ops.py\n+++ b/calc/ops.py\n@@ -1,6 +1,6 @@\n def add(a, b):\n-    return a - b\n"
            "+    return a + b\n \n \n def mul(a, b):\n     return a * b\n")

    async def ask(pilot) -> None:  # type: ignore[no-untyped-def]
        app.push_screen(ApprovalScreen(ApprovalRequest("c1", "edit_file", "edit_file calc/ops.py"),
                                       ApprovalPreview("diff", diff), mode="ask"))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_narrow_layout_folds_the_spend_panel(snap_compare, repo: Path, fake_api) -> None:
    usage = ScriptedUsage(prompt_tokens=42_000, cache_hit_tokens=40_960, completion_tokens=900, reasoning_tokens=300)
    server = fake_api([Turn(model="deepseek-v4-pro", content="Found it: an off-by-one in `parse()`.", usage=usage)])
    app = make_app(pin_launch_prices(repo), server.base_url, max_cost=0.5)

    async def one_turn(pilot) -> None:  # type: ignore[no-untyped-def]
        await type_text(pilot, "find the bug")
        await pilot.press("enter")
        await wait_idle(app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=one_turn)


def test_queued_input(snap_compare, repo: Path, fake_api) -> None:
    app = make_app(repo, fake_api([]).base_url)

    async def queue(pilot) -> None:  # type: ignore[no-untyped-def]
        app.post_message(AgentEvent(UserMessageEvent(content="run the whole test suite")))
        app.post_message(AgentEvent(TurnStarted(turn=1, model="deepseek-v4-pro", reason="drives the conversation")))
        app.queue.extend(["then fix the flaky test in test_io.py", "/compact"])
        app.query_one(QueuedInput).show(app.queue)
        app.hint("/compact waits until the turn ends (Esc takes it back)")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(100, 30), run_before=queue)


def _long_edit_request() -> ApprovalRequest:
    """An edit whose tool-made preview is a 200-line diff (the request carries it, as the tool runner sends it)."""
    before = "".join(f"value_{i} = {i}\n" for i in range(200))
    after = before.replace(" = ", " == ")
    return ApprovalRequest("c1", "write_file", "write_file calc/values.py",
                           preview=ApprovalPreview("diff", unified("calc/values.py", before, after)))


def test_approval_modal_with_a_long_diff_at_80x24(snap_compare, repo: Path, fake_api) -> None:
    """Issue 26: at 80×24 the answers and their keys are on screen and the long diff scrolls between."""
    app = make_app(repo, fake_api([]).base_url)

    async def ask(pilot) -> None:  # type: ignore[no-untyped-def]
        app.push_screen(ApprovalScreen(_long_edit_request(), mode="ask"))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ask)


def test_approval_modal_with_a_long_diff_at_140x45(snap_compare, repo: Path, fake_api) -> None:
    app = make_app(repo, fake_api([]).base_url)

    async def ask(pilot) -> None:  # type: ignore[no-untyped-def]
        app.push_screen(ApprovalScreen(_long_edit_request(), mode="ask"))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(140, 45), run_before=ask)
