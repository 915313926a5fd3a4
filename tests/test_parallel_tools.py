"""The calls of one answer that only look run at once; the others one at a time; answers keep the asked order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import Field

from agent.messages import ToolMessage
from agent.outcome import Outcome
from fixtures.fakeapi import ScriptedCall, Turn
from tests.helpers import of_type, running_agent
from tools.base import Tool, ToolArgs, ToolContext, ToolResult
from tools.registry import ToolBox, default_tools


class MeetArgs(ToolArgs):
    n: int = Field(description="Which call this is.")


class Meeting:
    """Counts the calls running at the same time; every call waits (bounded) until `expected` are in."""

    def __init__(self, expected: int, patience_s: float = 3.0) -> None:
        self.expected = expected
        self.patience_s = patience_s
        self.running = 0
        self.most = 0
        self.arrived = 0
        self.all_in = asyncio.Event()

    async def attend(self, n: int) -> str:
        self.running += 1
        self.most = max(self.most, self.running)
        self.arrived += 1
        if self.arrived >= self.expected:
            self.all_in.set()
        try:
            await asyncio.wait_for(self.all_in.wait(), timeout=self.patience_s)
            met = "met"
        except TimeoutError:
            met = "alone"
        await asyncio.sleep(0.02 * (self.expected - n))  # the first asked finishes last
        self.running -= 1
        return f"{n} {met}"


class LookTool(Tool):
    """A read-only tool, as a plugin would add one."""

    name = "look"
    Args = MeetArgs
    parallel_safe = True

    def __init__(self, meeting: Meeting) -> None:
        self.meeting = meeting

    @property
    def description(self) -> str:
        return "Look at something."

    async def run(self, args: Any, ctx: ToolContext) -> ToolResult:
        return ToolResult(True, await self.meeting.attend(args.n))


class TouchTool(LookTool):
    name = "touch"
    mutates = True
    parallel_safe = False


def calls(name: str, count: int) -> list[ScriptedCall]:
    return [ScriptedCall(name=name, arguments={"n": n}) for n in range(count)]


def answers(messages: list[Any]) -> list[str]:
    return [m.content for m in messages if isinstance(m, ToolMessage)]


async def test_read_only_calls_of_one_answer_run_at_once_and_answer_in_order(repo: Path, fake_api) -> None:
    meeting = Meeting(3)
    server = fake_api([Turn(tool_calls=calls("look", 3)), Turn(content="done")])
    async with running_agent(repo, server.base_url) as (agent, events):
        agent.toolbox = ToolBox([*default_tools(), LookTool(meeting)])
        await agent.run("look at three things")
        assert meeting.most == 3
        assert answers(agent.session.messages) == ["0 met", "1 met", "2 met"]  # asked order, not finishing order
    sent = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in sent] == [c["id"] for c in server.requests[1]["messages"][2]["tool_calls"]]
    finished = [e.call_id for e in of_type(events, "tool.finished")]
    assert finished == [e.call_id for e in of_type(events, "tool.started")]


async def test_calls_that_change_things_run_one_at_a_time(repo: Path, fake_api) -> None:
    meeting = Meeting(3, patience_s=0.5)  # each waits alone for the others, in vain
    server = fake_api([Turn(tool_calls=calls("touch", 3)), Turn(content="done")])
    async with running_agent(repo, server.base_url) as (agent, _events):
        agent.toolbox = ToolBox([*default_tools(), TouchTool(meeting)])
        await agent.run("change three things")
        assert meeting.most == 1
        assert answers(agent.session.messages)[:2] == ["0 alone", "1 alone"]


async def test_a_change_between_reads_splits_them_and_each_read_sees_what_came_before(repo: Path, fake_api) -> None:
    (repo / "a.txt").write_text("first\n")
    read = ScriptedCall(name="read_file", arguments={"path": "a.txt"})
    write = ScriptedCall(name="write_file", arguments={"path": "b.txt", "content": "made\n"})
    read_b = ScriptedCall(name="read_file", arguments={"path": "b.txt"})
    search = ScriptedCall(name="search", arguments={"pattern": "made"})
    server = fake_api([Turn(tool_calls=[read, read, write, read_b, search]), Turn(content="done")])
    async with running_agent(repo, server.base_url) as (agent, _events):
        await agent.run("read, write, read")
        out = answers(agent.session.messages)
    assert "first" in out[0] and "first" in out[1]
    assert "made" in out[3] and "b.txt:1: made" in out[4]  # the reads after the write see it


async def test_an_answer_that_repeats_a_call_id_still_gets_every_result_back(repo: Path, fake_api) -> None:
    """A model slip seen under fault fuzzing: the same id on two calls (and again in a later answer). The API
    refuses a history with duplicate ids, so they are made unique before they enter it."""
    (repo / "a.txt").write_text("alpha\n")
    read = {"name": "read_file", "arguments": {"path": "a.txt"}}
    server = fake_api([Turn(tool_calls=[ScriptedCall(**read, id="call_1"), ScriptedCall(**read, id="call_1")]),
                       Turn(tool_calls=[ScriptedCall(name="list_files", id="call_1")]),
                       Turn(content="done")])
    async with running_agent(repo, server.base_url) as (agent, _events):
        assert (run := await agent.run("read twice")).outcome is Outcome.DONE, run.message
    assert server.violations == [] and len(server.requests) == 3
    sent = server.requests[2]["messages"]
    ids = [c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ids
