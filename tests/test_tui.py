"""Pilot tests: the TUI driven by keys, over the real loop and a scripted model on the fake server."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Collapsible, Static

from fixtures.fakeapi import ScriptedCall, ScriptedUsage, Turn
from tests.helpers import tiny_png
from tests.pinned_prices import pin_launch_prices
from tests.tui_helpers import make_app, type_text, wait_idle, wait_until
from tui.approval import ApprovalScreen
from tui.conversation import AnswerBlock, ConversationView, ToolItem
from tui.prompt import PromptInput
from tui.spend import SpendBar, SpendPanel
from tui.trust import TrustScreen

READ = ScriptedCall(name="read_file", arguments={"path": "README.md"})
EDIT = ScriptedCall(name="edit_file", arguments={"path": "README.md", "old_string": "hello", "new_string": "bye"})


def texts(app, selector: str = "Static") -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(w.render()) for w in app.query_one(ConversationView).query(selector))


def spend_text(app) -> str:  # type: ignore[no-untyped-def]
    panel = app.query_one(SpendPanel)
    return "\n".join(str(w.render()) for w in panel.query("Static, Label"))


async def send(app, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await type_text(pilot, text)
    await pilot.press("enter")


async def wait_for_modal(app, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        if isinstance(app.screen, ApprovalScreen):
            return
        await pilot.pause(0.02)
    raise AssertionError("no approval modal")


async def test_answer_streams_as_markdown_with_reasoning_collapsed(repo: Path, fake_api) -> None:
    server = fake_api([Turn(reasoning="Let me think about greetings.", content="# Hi\n\nHello **there**.",
                            chunk_delay_s=0.005)])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "greet me")
        await wait_idle(app, pilot)
        answer = app.query_one(ConversationView).query(AnswerBlock).last()
        assert answer.markdown_source == "# Hi\n\nHello **there**."
        assert not any(b.live for b in app.query_one(ConversationView).query(AnswerBlock))  # all settled
        reasoning = app.query_one(ConversationView).query(".reasoning").first(Collapsible)
        assert reasoning.collapsed and "greetings" in str(reasoning.query_one(".reasoning-body", Static).render())
        assert "greet me" in texts(app, ".user")


async def test_a_long_streamed_answer_is_split_and_survives_a_cut_stream(repo: Path, fake_api) -> None:
    long = "".join(f"Paragraph {i} about the parser and its tokens.\n\n" for i in range(200))
    server = fake_api([Turn(fault="cut"), Turn(content=long)])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "explain at length")
        await wait_idle(app, pilot)
        blocks = list(app.query_one(ConversationView).query(AnswerBlock))
        assert len(blocks) >= 2 and "".join(b.markdown_source for b in blocks) == long
        assert "partial answer" not in "".join(b.markdown_source for b in blocks)


async def test_tool_blocks_expand_to_output_and_diff(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "echo from-shell; exit 3"}),
                                        READ, EDIT]), Turn(content="done")])
    app = make_app(repo, server.base_url, approval="full-auto")
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "go")
        await wait_idle(app, pilot)
        shell, _read, edit = list(app.query(ToolItem))
        assert shell.title.startswith("✗ shell echo from-shell") and "exit 3" in shell.title
        assert shell.collapsed and shell.has_class("failed")
        await pilot.press("ctrl+o")  # no mouse needed
        assert not shell.collapsed and not edit.collapsed and "from-shell" in str(shell.body.render())
        await pilot.press("ctrl+o")
        assert shell.collapsed
        await pilot.click(shell.query_one("CollapsibleTitle"))
        assert not shell.collapsed
        assert edit.title.startswith("✓ edit_file README.md") and "+bye" in edit.diffs[0]


async def test_approval_modal_once_always_and_deny_with_note(repo: Path, fake_api) -> None:
    shell = ScriptedCall(name="shell", arguments={"command": "touch sub/a.txt"})
    server = fake_api([Turn(tool_calls=[READ, EDIT]), Turn(tool_calls=[shell]), Turn(tool_calls=[shell]),
                       Turn(tool_calls=[ScriptedCall(name="write_file", arguments={"path": "n.txt", "content": "x"})]),
                       Turn(content="finished")])
    (repo / "sub").mkdir()  # commands cannot create entries of the workspace root (Landlock keeps .git/ safe)
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "work")
        await wait_for_modal(app, pilot)
        await pilot.press("y")  # the edit, once
        await wait_for_modal(app, pilot)
        await pilot.press("a")  # shell `touch a.txt`, always
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                         and app.screen.request.tool == "write_file",  # type: ignore[attr-defined]
                         what="the write's modal (the same command did not ask again)")
        assert app.screen.request.tool == "write_file"  # type: ignore[attr-defined]
        await pilot.click("#note")
        await type_text(pilot, "not now")
        await pilot.press("enter")
        await wait_idle(app, pilot)
        assert (repo / "README.md").read_text() == "bye\n" and (repo / "sub/a.txt").exists()
        assert not (repo / "n.txt").exists()
        last_tool = [m for m in server.requests[-1]["messages"] if m["role"] == "tool"][-1]
        assert last_tool["content"] == "denied by the user: not now"


async def test_spend_panel_updates_with_each_model(repo: Path, fake_api) -> None:
    usage = ScriptedUsage(prompt_tokens=10_000, cache_hit_tokens=8_000, completion_tokens=500)
    server = fake_api([Turn(model="deepseek-v4-pro", content="one", usage=usage),
                       Turn(model="gpt-5.5", content="two", usage=usage)])
    app = make_app(pin_launch_prices(repo), server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        assert "no calls yet" in spend_text(app)
        await send(app, pilot, "first")
        await wait_idle(app, pilot)
        assert "session $0.0064" in spend_text(app)  # 2,000 × 1.74 + 8,000 × 0.145 + 500 × 3.48, per million
        await send(app, pilot, "/model gpt-5.5")
        await send(app, pilot, "second")
        await wait_idle(app, pilot)
        panel = spend_text(app)
        # plus 2,000 × 5 + 8,000 × 0.5 + 500 × 30 for GPT-5.5
        assert "deepseek-v4-pro" in panel and "gpt-5.5" in panel and "session $0.0354" in panel
        assert "context" in panel


async def test_slash_commands(repo: Path, fake_api, tmp_path: Path) -> None:
    server = fake_api([Turn(tool_calls=[READ, EDIT]), Turn(content="edited"),
                       Turn(model="gpt-5.5", content="A red square."), Turn(content="seen")])
    tiny_png(repo / "shot.png")
    app = make_app(repo, server.base_url, approval="full-auto")
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "/help")
        assert "/compact" in texts(app) and "Ctrl+C" in texts(app)
        await send(app, pilot, "/route cheap")
        await send(app, pilot, "/model auto")
        assert "route: cheap" in texts(app) and "model: routing (cheap)" in texts(app)
        await send(app, pilot, "/model gpt-9")
        assert "unknown model 'gpt-9'" in texts(app)
        await send(app, pilot, "/model deepseek-v4-pro")
        await send(app, pilot, "edit the readme")
        await wait_idle(app, pilot)
        await send(app, pilot, "/diff")
        assert "+bye" in texts(app)
        await send(app, pilot, "/cost")
        assert "deepseek-v4-pro: 2 calls" in texts(app)
        await send(app, pilot, "/context")
        assert "context in use" in texts(app)
        await send(app, pilot, "/undo")
        assert (repo / "README.md").read_text() == "hello\n" and "restored README.md" in texts(app)
        await send(app, pilot, "/image shot.png")
        await wait_idle(app, pilot)
        await send(app, pilot, "what is in the picture?")
        await wait_idle(app, pilot)
        assert server.requests[2]["model"] == "gpt-5.5"
        assert "A red square." in server.requests[3]["messages"][-1]["content"]
        await send(app, pilot, "/compact")
        await wait_idle(app, pilot)
        assert "nothing to compact" in texts(app)  # said in the conversation, where it stays
        await send(app, pilot, "/image missing.png")
        await wait_idle(app, pilot)
        assert "/image: " in texts(app) and "missing.png" in texts(app)
        await send(app, pilot, "/clear")
        assert "new conversation" in texts(app) and "A red square" not in texts(app)
        await send(app, pilot, "/frobnicate")
        assert "unknown command /frobnicate" in texts(app)
        assert server.violations == []


async def test_history_and_completion(repo: Path, fake_api) -> None:
    (repo / "src").mkdir()
    (repo / "src/parser.py").write_text("x = 1\n")
    server = fake_api([Turn(content="a"), Turn(content="b")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.query_one(PromptInput)
        await send(app, pilot, "first message")
        await wait_idle(app, pilot)
        await send(app, pilot, "second message")
        await wait_idle(app, pilot)
        await pilot.press("up")
        assert prompt.text == "second message"
        await pilot.press("up")
        assert prompt.text == "first message"
        await pilot.press("down", "down")
        assert prompt.text == ""
        await type_text(pilot, "/com")
        await pilot.press("tab")
        assert prompt.text == "/compact "
        prompt.clear()
        await type_text(pilot, "look at @src/pa")
        await pilot.press("tab")
        assert prompt.text == "look at @src/parser.py "
        prompt.clear()
        await type_text(pilot, "two lines")
        await pilot.press("ctrl+j")
        await type_text(pilot, "here")
        assert prompt.text == "two lines\nhere"


async def test_ctrl_c_interrupts_then_quits_and_keeps_the_session(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "sleep 30"})]),
                       Turn(content="carried on")])
    app = make_app(repo, server.base_url, approval="full-auto")
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "slow work")
        for _ in range(100):
            if list(app.query(ToolItem)):
                break
            await pilot.pause(0.02)
        await pilot.pause(0.2)
        await pilot.press("ctrl+c")
        await wait_idle(app, pilot, timeout=5)
        assert not app.busy() and app.is_running
        assert "interrupted: the turn stopped here" in texts(app)
        session = app.duet.session  # type: ignore[union-attr]
        assert [m.role for m in session.messages] == ["user", "assistant", "tool"]
        await send(app, pilot, "go on")
        await wait_idle(app, pilot)
        assert server.violations == []
        await pilot.press("ctrl+c")
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_resume_replays_history_and_spend(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="the first answer"), Turn(content="after resume")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "remember this")
        await wait_idle(app, pilot)
        transcript = app.duet.session.transcript.path  # type: ignore[union-attr]
    again = make_app(repo, server.base_url, resume=transcript)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "remember this" in texts(again, ".user")
        assert again.query_one(ConversationView).query(AnswerBlock).last().markdown_source == "the first answer"
        assert "deepseek-v4-pro" in spend_text(again) and "1 call " in spend_text(again)
        await send(again, pilot, "and now?")
        await wait_idle(again, pilot)
        assert [m["role"] for m in server.requests[-1]["messages"]][-3:] == ["user", "assistant", "user"]


async def test_the_spend_panel_is_rebuilt_from_a_replayed_transcript(repo: Path, fake_api) -> None:
    """A session on two models, resumed: the panel shows what the transcript holds, per model exact to the ledger
    the transcript rebuilds, with the budget and the model that drove last (and why)."""
    from agent.history import rebuild
    from agent.spend.counterfactual import counterfactual
    from agent.transcript import read_transcript

    usage = ScriptedUsage(prompt_tokens=42_000, cache_hit_tokens=40_960, completion_tokens=900, reasoning_tokens=300)
    server = fake_api([Turn(model="deepseek-v4-pro", content="Found it.", usage=usage),
                       Turn(model="gpt-5.5", content="Agreed.", usage=usage)])
    repo = pin_launch_prices(repo)
    app = make_app(repo, server.base_url, max_cost=0.5)
    async with app.run_test(size=(100, 30)) as pilot:
        for text in ("find the bug", "/model gpt-5.5", "review the fix"):
            await send(app, pilot, text)
            await wait_idle(app, pilot)
        transcript = app.duet.session.transcript.path  # type: ignore[union-attr]
        live = spend_text(app)
    ledger = rebuild(read_transcript(transcript)).ledger
    assert sorted(ledger.by_model()) == ["deepseek-v4-pro", "gpt-5.5"]
    again = make_app(repo, server.base_url, resume=transcript, max_cost=0.5)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.spend.models == ledger.by_model() and again.spend.total_usd == ledger.total_usd
        shown = spend_text(again)
        for name, spend in ledger.by_model().items():
            assert f"{name}\n  1 call  ${spend.cost_usd:.4f}" in shown
        assert f"session ${ledger.total_usd:.4f} billed" in shown and "budget $0.5" in shown
        assert any(line.startswith("gpt-5.5: ") for line in shown.splitlines()) and shown == live  # as it closed
    # The counterfactual, live and replayed: the same tokens all on GPT-5.5, and the share per role, exact to
    # the ledger the transcript rebuilds.
    view = counterfactual(ledger.records, app.duet.config.price_table())
    assert view.reference is not None and view.reference > view.actual == ledger.total_usd
    assert f"all on gpt-5.5: ${view.reference:.4f} (saved ${view.reference - view.actual:.4f})" in shown
    assert f"by role: execute 100% (${ledger.total_usd:.4f})" in shown


async def test_theme_toggles_and_small_terminal_works(repo: Path, fake_api) -> None:
    server = fake_api([])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != before
        # Under 100 columns the panel folds into a one-line bar and the input gets the whole width.
        assert app.query_one(SpendPanel).region.width == 0
        bar = app.query_one(SpendBar)
        assert bar.region.height == 1 and "$0.0000" in str(bar.render()) and "ctx" in str(bar.render())
        assert app.query_one(PromptInput).region.width >= 76
        await pilot.resize_terminal(120, 30)
        await pilot.pause()
        assert app.query_one(SpendPanel).region.width >= 26 and app.query_one(SpendBar).region.height == 0


async def test_slash_resume_reopens_a_past_session(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="answer one"), Turn(content="answer two")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "the first session")
        await wait_idle(app, pilot)
        first = app.duet.session.id  # type: ignore[union-attr]
        await send(app, pilot, f"/resume {first}")
        await pilot.pause()
        assert app.duet.session.id == first  # type: ignore[union-attr]
        assert "the first session" in texts(app, ".user")
        await send(app, pilot, "/resume no-such-id")
        assert "no such session" in texts(app)


async def test_turn_limit_applies_per_message_not_per_session(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="one"), Turn(content="two"), Turn(content="three")])
    app = make_app(repo, server.base_url, max_turns=1)
    async with app.run_test(size=(100, 30)) as pilot:
        for text in ("a", "b", "c"):
            await send(app, pilot, text)
            await wait_idle(app, pilot)
            assert str(app.query_one("#hint").render()) == "done"
        assert len(server.requests) == 3


async def test_init_command_shows_the_proposal_then_writes_on_request(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="unused")])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "/init")
        await wait_until(pilot, lambda: "/init write writes it" in texts(app), what="the proposal")
        assert not (repo / "AGENTS.md").exists()
        await send(app, pilot, "/init write")
        await wait_until(pilot, lambda: (repo / "AGENTS.md").exists(), what="AGENTS.md")
        assert "## Build and test" in (repo / "AGENTS.md").read_text()


async def test_an_untrusted_project_config_is_asked_about_once(repo: Path, fake_api) -> None:
    (repo / ".duet").mkdir(exist_ok=True)
    (repo / ".duet/config.toml").write_text('approval = "full-auto"\n')
    server = fake_api([])
    app = make_app(repo, server.base_url)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TrustScreen) and "approval" in app.screen.question
        await pilot.press("t")
        await pilot.pause()
        assert not isinstance(app.screen, TrustScreen)
        assert "trusted" in texts(app)
    again = make_app(repo, server.base_url)  # the same file, now trusted: no question
    async with again.run_test() as pilot:
        await pilot.pause()
        assert not isinstance(again.screen, TrustScreen)
    (repo / ".duet/config.toml").write_text('approval = "full-auto"\nmax_turns = 9\n')  # changed: asked again
    third = make_app(repo, server.base_url)
    async with third.run_test() as pilot:
        await pilot.pause()
        assert isinstance(third.screen, TrustScreen)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(third.screen, TrustScreen)
