"""The folds over the event stream (agent/views): schema 1 and schema 2 render alike, transcripts replay."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

from agent.cli.render import StreamJsonRenderer, TextRenderer
from agent.events import (
    AssistantMessageEvent,
    Event,
    FileChangeEntry,
    Item,
    ItemCompleted,
    ItemStarted,
    ModelCallCompleted,
    ModelCallStarted,
    SessionStarted,
    ToolFinished,
    ToolStarted,
    TurnCompleted,
    TurnStarted,
    UsageEvent,
    UserMessageEvent,
)
from agent.messages import AssistantMessage, ToolCall
from agent.spend.ledger import Ledger
from agent.spend.prices import PriceTable
from agent.spend.usage import TokenUsage, price_usage
from agent.transcript import read_transcript, sessions_dir
from agent.views.spend import SpendFold
from agent.views.tools import ToolRows
from fixtures.fakeapi import ScriptedCall, Turn
from tests.e2e import run_agent
from tests.tui_helpers import make_app, wait_until
from tui.app import AgentEvent
from tui.conversation import AnswerBlock, ConversationView, ToolItem

MODEL = "deepseek-v4-pro"
ARGS = json.dumps({"command": "echo hi; exit 3"})
CALL = ToolCall(id="call_1", name="shell", arguments=ARGS)


def _usage(ledger: Ledger, tokens: int) -> UsageEvent:
    record = price_usage(MODEL, TokenUsage(input_tokens=tokens, output_tokens=40), PriceTable.builtin())
    return UsageEvent(record=record, model_total=ledger.add(record), session_usd=str(ledger.total_usd))


def _run(schema: int, *, beside: bool = True) -> list[Event]:
    """One prompt, a shell call that exits 3, then the answer: as schema 1 wrote it, as schema 2 writes it with
    the schema-1 tool events beside its items (`beside`), or with the items alone."""
    ledger = Ledger()
    events: list[Event] = [SessionStarted(session_id="s", workspace="/w", command="run", task="go",
                                          schema_version=schema),
                           UserMessageEvent(content="go")]

    def call(n: int) -> list[Event]:
        if schema == 1:
            return [TurnStarted(turn=n, model=MODEL, reason="drives the conversation")]
        return [ModelCallStarted(turn=1, call=n, model=MODEL, reason="drives the conversation")]

    def done(n: int) -> list[Event]:
        return [] if schema == 1 else [ModelCallCompleted(turn=1, call=n, model=MODEL)]

    if schema == 2:
        events.append(TurnStarted(turn=1, prompt="go"))
    events += [*call(1), AssistantMessageEvent(turn=1, message=AssistantMessage(tool_calls=(CALL,))),
               _usage(ledger, 1000), *done(1)]
    started = Item(id="call_1", kind="command_execution", tool="shell", arguments=ARGS, command="echo hi; exit 3")
    ended = started.model_copy(update={"status": "failed", "text": "hi\nexit code 3", "exit_code": 3,
                                       "duration_s": 0.5})
    legacy_start = ToolStarted(call_id="call_1", name="shell", arguments=ARGS)
    legacy_end = ToolFinished(call_id="call_1", name="shell", ok=False, output="hi\nexit code 3", duration_s=0.5,
                              data={"command": "echo hi; exit 3", "exit_code": 3})
    if schema == 1:
        events += [legacy_start, legacy_end]
    else:
        events += [*([legacy_start] if beside else []), ItemStarted(turn=1, item=started),
                   *([legacy_end] if beside else []), ItemCompleted(turn=1, item=ended)]
    events += [*call(2), AssistantMessageEvent(turn=2 if schema == 1 else 1,
                                               message=AssistantMessage(content="It exits 3.")),
               *([ItemCompleted(turn=1, item=Item(id="m2", kind="agent_message", status="completed",
                                                  text="It exits 3."))] if schema == 2 else []),
               _usage(ledger, 2000), *done(2), TurnCompleted(turn=1)]
    return events


def _text(events: list[Event]) -> str:
    out = io.StringIO()
    renderer = TextRenderer(out)
    for event in events:
        renderer(event)
    return out.getvalue()


def test_schema_1_and_schema_2_streams_render_the_same_text() -> None:
    old, beside, alone = _text(_run(1)), _text(_run(2)), _text(_run(2, beside=False))
    assert old == beside == alone
    assert "── call 2 · deepseek-v4-pro" in old
    assert "→ shell" in old and "✗ exit code 3" in old  # a command's last line: decided by its kind, not its name
    assert old.count("It exits 3.") == 1  # an answer that did not stream is printed, and once


def test_a_tool_row_is_a_command_by_what_it_reported_not_by_its_name() -> None:
    rows = ToolRows()
    for event in [ToolStarted(call_id="a", name="run_tests", arguments="{}"),
                  ToolFinished(call_id="a", name="run_tests", ok=True, output="ok", data={"exit_code": 0}),
                  ToolStarted(call_id="b", name="shell", arguments="{}"),
                  ToolFinished(call_id="b", name="shell", ok=False, output="interrupted")]:
        rows.apply(event)
    assert rows.rows["a"].kind == "command_execution" and rows.rows["a"].exit_code == 0
    assert rows.rows["b"].kind == "tool_call" and rows.rows["b"].exit_code is None
    rows.apply(ItemCompleted(turn=1, item=Item(id="c", kind="file_change", status="completed", tool="edit_file",
                                               changes=(FileChangeEntry(path="a.py", kind="update"),))))
    assert rows.rows["c"].ok and rows.rows["c"].changes[0].path == "a.py"


def test_the_spend_fold_is_the_same_for_both_schemas_and_exact_to_the_ledger() -> None:
    folds = []
    for events in (_run(1), _run(2), _run(2, beside=False)):
        fold = SpendFold({MODEL: 1_000_000})
        for event in events:
            fold.apply(event)
        folds.append(fold)
    ledger = Ledger()
    _usage(ledger, 1000), _usage(ledger, 2000)
    for fold in folds:
        assert fold.models == ledger.by_model() and fold.total_usd == ledger.total_usd
        assert fold.model == MODEL and fold.route == "drives the conversation"
        assert fold.context_tokens == 2040 and fold.context_window == 1_000_000 and fold.estimate is None
    budgeted = SpendFold()
    budgeted.apply(SessionStarted(session_id="s", workspace="/w", command="run", task="", budget_usd="0.5"))
    assert budgeted.budget_usd == Decimal("0.5")
    cleared = folds[0]
    cleared.apply(SessionStarted(session_id="s", workspace="/w", command="clear", task=""))  # `/clear`
    assert cleared.context_tokens == 0 and cleared.total_usd == ledger.total_usd


async def test_the_tui_conversation_shows_schema_2_items(repo: Path, fake_api) -> None:
    app = make_app(repo, fake_api([]).base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        for event in _run(2, beside=False):
            app.post_message(AgentEvent(event))
        await wait_until(pilot, lambda: list(app.query(AnswerBlock)), what="the answer")
        (tool,) = list(app.query(ToolItem))
        assert str(tool.title) == "✗ shell echo hi; exit 3 · exit 3 · 0.5s"
        answers = [b.markdown_source for b in app.query_one(ConversationView).query(AnswerBlock)]
        assert answers == ["It exits 3."]  # the assistant.message and its agent_message item: shown once


async def test_a_command_that_never_ended_shows_no_made_up_exit_code(repo: Path, fake_api) -> None:
    """A call closed on resume or by an interrupt has no exit code and no time: none is shown (issue 26)."""
    app = make_app(repo, fake_api([]).base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        for event in [ToolStarted(call_id="k", name="shell", arguments=json.dumps({"command": "sleep 9"})),
                      ToolFinished(call_id="k", name="shell", ok=False, output="interrupted by the user")]:
            app.post_message(AgentEvent(event))
        await wait_until(pilot, lambda: any(str(t.title).startswith("✗") for t in app.query(ToolItem)),
                         what="the row to end")
        (tool,) = list(app.query(ToolItem))
        assert str(tool.title) == "✗ shell sleep 9"


def test_the_jsonl_renderer_replaying_a_transcript_reproduces_the_live_stream(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="read_file", arguments={"path": "calc.py"})]),
                       Turn(content="read it")])
    (tmp_path / "calc.py").write_text("x = 1\n")
    result = run_agent(["run", "read calc.py", "--output", "stream-json"], tmp_path, server.base_url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["schema_version"] == 2
    live = result.stdout.splitlines()[1:-1]  # between the init line and the result
    session_id = json.loads(live[0])["session_id"]
    assert json.loads(live[0])["schema_version"] == 2
    out = io.StringIO()
    renderer = StreamJsonRenderer(out)
    renderer.session_id = session_id
    for event in read_transcript(sessions_dir(tmp_path) / f"{session_id}.jsonl"):
        renderer(event)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [json.loads(line) for line in live]


def test_the_text_renderer_replaying_a_transcript_reproduces_the_live_text(tmp_path: Path, fake_api) -> None:
    """A transcript (schema 1, as today's loop writes it) replayed: the same lines the run printed, its streamed
    answer included (the deltas are not stored; the finished answer is)."""
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "echo hi; exit 3"})]),
                       Turn(content="It exits 3.")])
    result = run_agent(["run", "try it", "--approval", "full-auto"], tmp_path, server.base_url)
    assert result.returncode == 0, result.stderr
    (path,) = sessions_dir(tmp_path).glob("*.jsonl")
    replayed = _text(list(read_transcript(path)))
    assert "  ✗ [exit code 3]\n" in replayed and "It exits 3.\n" in replayed
    assert result.stdout.startswith(replayed)  # the live output goes on with the spend table


def test_the_run_watcher_times_model_calls_not_turns_in_schema_2() -> None:
    """Schema 2's turn is a whole prompt (tools included): model time is from `call.started` to the answer."""
    from agent.cli.watch import RunWatcher

    watcher = RunWatcher()
    answer = Item(id="m", kind="agent_message", status="completed", text="done")
    for event in [TurnStarted(ts=0, turn=1, prompt="go"),
                  ModelCallStarted(ts=10, turn=1, call=1, model=MODEL, reason="r"),
                  AssistantMessageEvent(ts=12, turn=1, message=AssistantMessage(tool_calls=(CALL,))),
                  ModelCallCompleted(ts=12, turn=1, call=1, model=MODEL),
                  ModelCallStarted(ts=50, turn=1, call=2, model=MODEL, reason="r"),
                  ModelCallCompleted(ts=53, turn=1, call=2, model=MODEL),
                  ItemCompleted(ts=53, turn=1, item=answer), TurnCompleted(ts=53, turn=1)]:
        watcher(event)
    facts = watcher.facts()
    assert facts.duration_api_ms == 5000 and facts.result == "done"


async def test_a_running_call_shows_its_time_and_one_cut_off_by_a_kill_does_not_run_forever(repo: Path,
                                                                                        fake_api) -> None:
    """Issue 26: a running command shows how long it has run; replayed after its run was killed mid-call, it
    shows it never finished (not `… running` forever, nor a made-up exit code)."""
    import time

    sleep = ToolCall(id="call_9", name="shell", arguments=json.dumps({"command": "sleep 99"}))
    events: list[Event] = [SessionStarted(session_id="20260101-000000-abcdef", workspace=str(repo), command="tui",
                                          task=""),
                           UserMessageEvent(content="wait"), TurnStarted(turn=1, model=MODEL, reason="r"),
                           AssistantMessageEvent(turn=1, message=AssistantMessage(tool_calls=(sleep,))),
                           ToolStarted(ts=time.time() - 100, call_id="call_9", name="shell",
                                       arguments=sleep.arguments)]
    server = fake_api([])
    app = make_app(repo, server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        for event in events[1:]:
            app.post_message(AgentEvent(event))
        await wait_until(pilot, lambda: any("· 10" in str(t.title) for t in app.query(ToolItem)),
                         what="the running row to show its time")
        (tool,) = list(app.query(ToolItem))
        assert str(tool.title).startswith("… shell sleep 99 · 10")
    transcript = sessions_dir(repo) / "20260101-000000-abcdef.jsonl"
    transcript.write_text("".join(e.model_dump_json() + "\n" for e in events))
    again = make_app(repo, server.base_url, resume=transcript)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        (tool,) = list(again.query(ToolItem))
        assert str(tool.title) == "✗ shell sleep 99 · did not finish"


async def test_a_streamed_answer_with_its_items_and_its_message_is_shown_once(repo: Path, fake_api) -> None:
    from agent.events import MessageDelta

    app = make_app(repo, fake_api([]).base_url)
    reasoning = Item(id="r1", kind="reasoning", status="completed", text="think first")
    answer = Item(id="m1", kind="agent_message", status="completed", text="The answer.")
    events: list[Event] = [UserMessageEvent(content="q"), TurnStarted(turn=1, prompt="q"),
                           ModelCallStarted(turn=1, call=1, model=MODEL, reason="r"),
                           MessageDelta(turn=1, kind="reasoning", text="think first"),
                           MessageDelta(turn=1, kind="text", text="The "), MessageDelta(turn=1, kind="text",
                                                                                        text="answer."),
                           ItemCompleted(turn=1, item=reasoning),  # the call's items, once it ended
                           ItemCompleted(turn=1, item=answer),
                           AssistantMessageEvent(turn=1, message=AssistantMessage(content="The answer.",
                                                                                  reasoning="think first")),
                           ModelCallCompleted(turn=1, call=1, model=MODEL), TurnCompleted(turn=1)]
    async with app.run_test(size=(100, 30)) as pilot:
        for event in events:
            app.post_message(AgentEvent(event))
        view = app.query_one(ConversationView)
        await wait_until(pilot, lambda: not any(b.live for b in view.query(AnswerBlock)), what="the answer")
        await pilot.pause(0.1)
        assert "".join(b.markdown_source for b in view.query(AnswerBlock)) == "The answer."
        assert len(view.query(".reasoning")) == 1
