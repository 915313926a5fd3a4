"""The real loop, tools and provider against the scripted fake model, in a temporary git repository."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

from agent.approval import ApprovalRequest, Decision
from agent.events import EPHEMERAL, SCHEMA_VERSION
from agent.loop import RunOutcome
from agent.outcome import Outcome
from agent.transcript import read_transcript
from fixtures.fakeapi import ScriptedCall, ScriptedUsage, Turn
from tests.helpers import make_agent, of_type
from tests.pinned_prices import pin_launch_prices


def tool_messages(request: dict) -> list[dict]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def test_several_calls_per_turn_are_all_run_and_answered(repo: Path, fake_api) -> None:
    (repo / "a.py").write_text("A = 1\n")
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="read_file", arguments={"path": "a.py"}),
                                        ScriptedCall(name="list_files", arguments={}),
                                        ScriptedCall(name="search", arguments={"pattern": "A ="})]),
                       Turn(content="done")])
    agent, pool, _events = make_agent(repo, server.base_url)
    assert (await agent.run("look around")).outcome is Outcome.DONE
    answers = tool_messages(server.requests[1])
    assert len(answers) == 3 and "1\tA = 1" in answers[0]["content"] and "a.py:1: A = 1" in answers[2]["content"]
    assert server.violations == []
    await pool.aclose()


async def test_malformed_arguments_go_back_to_the_model(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="read_file", arguments='{"path": "README.md"')]),
                       Turn(tool_calls=[ScriptedCall(name="read_file", arguments={"file": "README.md"})]),
                       Turn(tool_calls=[ScriptedCall(name="read_file", arguments={"path": "README.md"})]),
                       Turn(content="read it")])
    agent, pool, _ = make_agent(repo, server.base_url)
    assert (await agent.run("read the readme")).outcome is Outcome.DONE
    assert "not valid JSON" in tool_messages(server.requests[1])[0]["content"]
    assert "path: Field required" in tool_messages(server.requests[2])[-1]["content"]
    assert "1\thello" in tool_messages(server.requests[3])[-1]["content"]
    assert server.violations == []
    await pool.aclose()


async def test_tool_call_written_as_text_is_executed(repo: Path, fake_api) -> None:
    server = fake_api([Turn(as_text=True, tool_calls=[ScriptedCall(name="read_file", arguments={"path": "README.md"})]),
                       Turn(content="ok")])
    agent, pool, events = make_agent(repo, server.base_url)
    assert (await agent.run("read")).outcome is Outcome.DONE
    assert "1\thello" in tool_messages(server.requests[1])[0]["content"]
    assert any("as text" in n.message for n in of_type(events, "notice"))
    await pool.aclose()


async def test_ask_policy_waits_for_the_approver(repo: Path, fake_api) -> None:
    edit = {"path": "README.md", "old_string": "hello", "new_string": "bye"}
    read = ScriptedCall(name="read_file", arguments={"path": "README.md"})
    server = fake_api([Turn(tool_calls=[read, ScriptedCall(name="edit_file", arguments=edit)]),
                       Turn(tool_calls=[ScriptedCall(name="edit_file", arguments=edit)]), Turn(content="ok")])
    asked: list[ApprovalRequest] = []

    async def approver(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision(len(asked) > 1, "" if len(asked) > 1 else "not that file")

    agent, pool, _ = make_agent(repo, server.base_url, approval="ask", approver=approver)
    await agent.run("edit")
    assert tool_messages(server.requests[1])[1]["content"] == "denied by the user: not that file"
    assert (repo / "README.md").read_text() == "bye\n"
    assert [r.tool for r in asked] == ["edit_file", "edit_file"]
    await pool.aclose()


async def test_headless_ask_refuses_with_a_clear_message(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "touch x"})]),
                       Turn(content="ok")])
    agent, pool, _ = make_agent(repo, server.base_url, approval="auto-edit")
    await agent.run("touch")
    assert "rerun with --approval" in tool_messages(server.requests[1])[0]["content"]
    assert not (repo / "x").exists()
    await pool.aclose()


async def test_read_only_and_dangerous_commands_are_refused(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="write_file", arguments={"path": "n.txt", "content": "x"}),
                                        ScriptedCall(name="read_file", arguments={"path": "README.md"})]),
                       Turn(content="ok"),
                       Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "git push --force"})]),
                       Turn(content="ok")])
    agent, pool, _ = make_agent(repo, server.base_url, approval="read-only")
    await agent.run("write")
    answers = tool_messages(server.requests[1])
    assert "read-only" in answers[0]["content"] and "hello" in answers[1]["content"]
    assert not (repo / "n.txt").exists()
    await pool.aclose()
    agent, pool, _ = make_agent(repo, server.base_url, approval="full-auto")
    await agent.run("push")
    assert "force-pushes" in tool_messages(server.requests[3])[0]["content"]
    await pool.aclose()


async def test_tiny_budget_stops_before_the_first_call(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="never")])
    agent, pool, _ = make_agent(repo, server.base_url, max_cost=0.000001)
    assert (await agent.run("anything")).outcome is Outcome.BUDGET
    assert server.requests == []
    await pool.aclose()


async def test_budget_overshoots_by_at_most_one_call(repo: Path, fake_api) -> None:
    # Each call: 100,000 prompt tokens (90,000 cached) + 2,000 out on V4-Pro = $0.0400 exactly.
    usage = ScriptedUsage(prompt_tokens=100_000, cache_hit_tokens=90_000, completion_tokens=2_000)
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="list_files")], usage=usage) for _ in range(10)])
    agent, pool, _events = make_agent(pin_launch_prices(repo), server.base_url, max_cost=0.10)
    assert (await agent.run("loop")).outcome is Outcome.BUDGET
    spent = agent.session.ledger.total_usd
    per_call = Decimal("0.0174") + Decimal("0.01305") + Decimal("0.00696")
    assert spent == per_call * agent.session.ledger.calls
    assert spent <= Decimal("0.10") + per_call
    assert 1 <= agent.session.ledger.calls <= 3
    await pool.aclose()


async def test_turn_limit(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="list_files")]) for _ in range(5)])
    agent, pool, _ = make_agent(repo, server.base_url, max_turns=2)
    assert (await agent.run("loop")).outcome is Outcome.TURN_LIMIT
    assert len(server.requests) == 2
    await pool.aclose()


async def test_ledger_and_usage_events_match_hand_computation_across_models(repo: Path, fake_api) -> None:
    ds_usage = ScriptedUsage(prompt_tokens=120_000, cache_hit_tokens=100_000, completion_tokens=3_000,
                             reasoning_tokens=1_000)
    gpt_usage = ScriptedUsage(prompt_tokens=50_000, cache_hit_tokens=40_000, completion_tokens=2_000)
    server = fake_api([Turn(model="deepseek-v4-pro", tool_calls=[ScriptedCall(name="list_files")], usage=ds_usage),
                       Turn(model="deepseek-v4-pro", content="half", usage=ds_usage),
                       Turn(model="gpt-5.5", content="other half", usage=gpt_usage)])
    agent, pool, events = make_agent(pin_launch_prices(repo), server.base_url)
    await agent.run("one")
    agent.session.config.model = "gpt-5.5"
    await agent.run("two")
    spend = agent.session.ledger.by_model()
    assert spend["deepseek-v4-pro"].cost_usd == Decimal("0.11948")
    assert spend["gpt-5.5"].cost_usd == Decimal("0.13")
    usage_events = of_type(events, "usage")
    assert [e.record.model for e in usage_events] == ["deepseek-v4-pro", "deepseek-v4-pro", "gpt-5.5"]
    assert usage_events[-1].session_usd == "0.24948"
    assert server.violations == []  # the DeepSeek reasoning was not sent to OpenAI, and vice versa
    await pool.aclose()


async def test_transcript_is_written_as_it_happens_and_redacted(repo: Path, fake_api) -> None:
    (repo / "notes.txt").write_text("token = sk-proj-abcdefghijklmnopqrstuvwxyz123456\n")
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="read_file", arguments={"path": "notes.txt"})]),
                       Turn(content="ok")])
    agent, pool, events = make_agent(repo, server.base_url)
    await agent.run("read notes")
    path = agent.session.transcript.path
    text = path.read_text()
    assert "sk-proj-abcdefghijklmnopqrstuvwxyz" not in text and "[REDACTED]" in text
    stored = [e.type for e in read_transcript(path)]
    assert stored == [e.type for e in events if e.type not in EPHEMERAL]
    assert path.parent == repo / ".git" / "duet" / "sessions"  # out of `git clean -fdx`'s reach
    await pool.aclose()


async def test_empty_reply_after_tool_results_is_asked_again(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="list_files")]), Turn(content=""), Turn(content="done")])
    agent, pool, _ = make_agent(repo, server.base_url)
    assert (await agent.run("go")).outcome is Outcome.DONE
    assert len(server.requests) == 3 and agent.session.ledger.calls == 3
    await pool.aclose()


async def test_interrupt_mid_tool_keeps_the_history_valid(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "sleep 30"}),
                                        ScriptedCall(name="list_files")]), Turn(content="resumed fine")])
    agent, pool, events = make_agent(repo, server.base_url)
    task = asyncio.create_task(agent.run("slow"))
    while not of_type(events, "tool.started"):
        await asyncio.sleep(0.02)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    answered = {m.tool_call_id for m in agent.session.messages if m.role == "tool"}
    assert len(answered) == 2
    assert (await agent.run("carry on")).outcome is Outcome.DONE
    assert server.violations == []
    await pool.aclose()


def test_events_round_trip_through_json(repo: Path) -> None:
    from agent.events import ToolFinished, parse_event

    event = ToolFinished(call_id="c1", name="shell", ok=False, output="boom", data={"exit_code": 1})
    assert parse_event(json.dumps(event.model_dump(mode="json"))) == event


async def test_a_run_returns_its_outcome_calls_and_refusals(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="write_file", arguments={"path": "n.txt", "content": "x"})]),
                       Turn(content="could not write")])
    agent, pool, _ = make_agent(repo, server.base_url, approval="read-only")
    run = await agent.run("write")
    assert run == RunOutcome(Outcome.DONE, "could not write", model_calls=2, refusals=("write_file",))
    await pool.aclose()


async def test_events_follow_schema_2_a_turn_per_prompt_with_calls_and_items(repo: Path, fake_api) -> None:
    server = fake_api([Turn(as_text=True, tool_calls=[ScriptedCall(name="list_files")]),
                       Turn(content="first done", reasoning="the files are listed"), Turn(content="second done")])
    agent, pool, events = make_agent(repo, server.base_url)
    agent.session.start("run", "look")
    await agent.run("look")
    await agent.run("and again")
    await pool.aclose()
    assert of_type(events, "session.started")[0].schema_version == SCHEMA_VERSION == 2
    assert [(t.turn, t.prompt) for t in of_type(events, "turn.started")] == [(1, "look"), (2, "and again")]
    assert [t.turn for t in of_type(events, "turn.completed")] == [1, 2]
    started, completed = of_type(events, "call.started"), of_type(events, "call.completed")
    assert [(c.turn, c.call, c.role) for c in started] == [(1, 1, "execute"), (1, 2, "execute"), (2, 3, "execute")]
    assert [(c.call, c.ok) for c in completed] == [(1, True), (2, True), (3, True)]
    assert all(c.reason for c in started)
    messages = [e.item for e in of_type(events, "item.completed") if e.item.kind == "agent_message"]
    assert [(m.text, m.status) for m in messages] == [("first done", "completed"), ("second done", "completed")]
    assert len({m.id for m in messages}) == 2
    [thought] = [e.item for e in of_type(events, "item.completed") if e.item.kind == "reasoning"]
    assert thought.text == "the files are listed"
    notices = [e.item.text for e in of_type(events, "item.completed") if e.item.kind == "notice"]
    assert "recovered tool calls the model wrote as text" in notices
    assert notices == [n.message for n in of_type(events, "notice")]
    kinds = [e.type for e in events]
    assert kinds.index("turn.started") < kinds.index("user.message") < kinds.index("call.started")


async def test_a_bug_in_a_tool_is_fatal_the_run_ends_with_its_outcome(repo: Path, fake_api) -> None:
    from tests.test_tui_errors import BrokenTool
    from tools.registry import ToolBox, default_tools

    server = fake_api([Turn(tool_calls=[ScriptedCall(name="broken")]), Turn(content="answered")])
    agent, pool, events = make_agent(repo, server.base_url)
    agent.toolbox = ToolBox([*default_tools(), BrokenTool()])
    run = await agent.run("break")
    assert run.outcome is Outcome.NOT_DONE and "RuntimeError: boom inside the tool" in run.message
    assert [n.level for n in of_type(events, "notice") if "internal error" in n.message] == ["error"]
    assert (await agent.run("again")).outcome is Outcome.DONE  # the broken call was answered: the history is valid
    assert server.violations == []
    await pool.aclose()


async def test_the_turn_limit_spans_the_runs_of_one_command_unless_per_prompt(repo: Path, fake_api) -> None:
    """A headless command (fix-tests' rounds are runs of it) has one turn limit; the TUI's is per message."""
    server = fake_api([Turn(content="one"), Turn(tool_calls=[ScriptedCall(name="list_files")]), Turn(content="x")])
    agent, pool, _ = make_agent(repo, server.base_url, max_turns=2)
    assert (await agent.run("first")).model_calls == 1
    second = await agent.run("second")
    assert (second.outcome, second.model_calls) == (Outcome.TURN_LIMIT, 1)
    await pool.aclose()
