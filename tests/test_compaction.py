"""Compaction near the window: older turns summarised by the cheap model, prefix and recent turns kept."""

from __future__ import annotations

from pathlib import Path

from agent.compaction import summary_prefix
from agent.outcome import Outcome
from agent.session import Session
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import make_config
from tests.helpers import make_agent, of_type

READ = ScriptedCall(name="read_file", arguments={"path": "big.txt"})


async def test_compaction_keeps_prefix_and_recent_turns_and_resumes(repo: Path, fake_api) -> None:
    (repo / "big.txt").write_text("".join(f"line {i}: some text that fills the window\n" for i in range(600)))
    server = fake_api([Turn(model="deepseek-v4-pro", tool_calls=[READ]), Turn(content="ok one"),
                       Turn(tool_calls=[READ]), Turn(content="ok two"),
                       Turn(model="deepseek-v4-flash", content="SUMMARY: the user asked twice; big.txt was read."),
                       Turn(model="deepseek-v4-pro", content="ok three")])
    window = {"models": {"deepseek-v4-pro": {"context_window": 24_000}}, "context": {"enabled": False}}
    agent, pool, events = make_agent(repo, server.base_url, **window)
    for task in ("first", "second", "third"):
        assert (await agent.run(task)).outcome is Outcome.DONE
    await pool.aclose()
    compacted = of_type(events, "compacted")
    assert len(compacted) == 1 and compacted[0].model == "deepseek-v4-flash"
    summary_call = server.requests[4]
    assert summary_call["model"] == "deepseek-v4-flash" and "tools" not in summary_call
    last = server.requests[5]["messages"]
    assert last[0] == server.requests[0]["messages"][0]  # the system prefix did not change
    assert last[1]["content"].startswith(summary_prefix()) and "big.txt was read" in last[1]["content"]
    assert [m["role"] for m in last[1:]] == ["user", "assistant", "user", "assistant", "tool", "assistant", "user"]
    assert last[-1]["content"] == "third" and server.violations == []
    config = make_config(repo, server.base_url, **window)
    resumed = Session.resume(repo, config, agent.session.transcript.path)
    assert [m.role for m in resumed.messages] == [m.role for m in agent.session.messages]
    assert resumed.messages[0].content.startswith(summary_prefix())  # type: ignore[union-attr]


def read_of(name: str) -> ScriptedCall:
    return ScriptedCall(name="read_file", arguments={"path": name})


async def test_a_single_long_task_compacts_inside_the_task_and_finishes(repo: Path, fake_api) -> None:
    """One `agent run "task"` whose tool output outgrows the window: older call/result pairs are summarised, the
    task and the last exchanges stay verbatim, and the run ends done (it used to stop "does not fit")."""
    for name in "abcd":
        (repo / f"{name}.txt").write_text("".join(f"{name} line {i}: text that fills the window\n"
                                                  for i in range(700)))
    server = fake_api([Turn(model="deepseek-v4-pro", tool_calls=[read_of("a.txt")]),
                       Turn(model="deepseek-v4-pro", tool_calls=[read_of("b.txt")]),
                       Turn(model="deepseek-v4-pro", tool_calls=[read_of("c.txt")]),
                       Turn(model="deepseek-v4-flash", content="PROGRESS: read a.txt and b.txt; nothing wrong yet."),
                       Turn(model="deepseek-v4-pro", tool_calls=[read_of("d.txt")]),
                       Turn(model="deepseek-v4-flash", content="PROGRESS: read a, b and c."),
                       Turn(model="deepseek-v4-pro", content="all four read")])
    window = {"models": {"deepseek-v4-pro": {"context_window": 24_000}}, "context": {"enabled": False}}
    agent, pool, events = make_agent(repo, server.base_url, **window)
    assert (run := await agent.run("read the four files")).outcome is Outcome.DONE, run.message
    await pool.aclose()
    compacted = of_type(events, "compacted")
    assert compacted and compacted[0].kept_before == 1 and compacted[0].folded_calls >= 1
    summary_call = next(r for r in server.requests if r["model"] == "deepseek-v4-flash")
    assert "read the four files" in summary_call["messages"][1]["content"]  # the summariser knows the task
    last = server.requests[-1]["messages"]
    assert last[0] == server.requests[0]["messages"][0]  # the system prefix did not change
    assert last[1] == {"role": "user", "content": "read the four files"}  # the goal, verbatim
    assert last[2]["role"] == "assistant" and "PROGRESS" in last[2]["content"]
    assert last[3]["role"] == "user" and [m["role"] for m in last[4:]] == ["assistant", "tool", "assistant", "tool"]
    assert server.violations == []  # every call kept its result
    config = make_config(repo, server.base_url, **window)
    resumed = Session.resume(repo, config, agent.session.transcript.path)
    assert [m.role for m in resumed.messages] == [m.role for m in agent.session.messages]
    assert [getattr(m, "content", None) for m in resumed.messages] == \
        [getattr(m, "content", None) for m in agent.session.messages]
