"""MCP servers end to end: the real loop, a scripted model over real HTTP, real SDK servers as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from agent.outcome import Outcome
from agent.transcript import sessions_dir
from fixtures.fakeapi import ScriptedCall, Turn
from tests.helpers import make_agent, of_type, running_agent
from tests.mcp_helpers import alive, http_server, starts, stdio_server, wait_until


def tool_answers(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


def tool_names(request: dict) -> list[str]:
    return [t["function"]["name"] for t in request.get("tools", [])]


def has_image(request: dict) -> bool:
    return '"image_url"' in json.dumps(request.get("messages") or request.get("input"))


async def test_stdio_tool_answer_reaches_the_next_request(repo: Path, tmp_path: Path, fake_api) -> None:
    marker = tmp_path / "started"
    server = fake_api([
        Turn(tool_calls=[ScriptedCall(name="mcp__tickets__lookup_ticket", arguments={"ticket_id": "T-7"})]),
        Turn(content="The login page is broken.", expect_in_prompt=["Ticket T-7: login page returns 500"])])
    async with running_agent(repo, server.base_url, mcp_servers={"tickets": stdio_server(marker)}) as (agent, events):
        assert (await agent.run("what is ticket T-7 about?")).outcome is Outcome.DONE
    first = server.requests[0]
    assert "mcp__tickets__lookup_ticket" in tool_names(first) and "shell" in tool_names(first)
    lookup = next(t["function"] for t in first["tools"] if t["function"]["name"] == "mcp__tickets__lookup_ticket")
    assert lookup["parameters"] == {"type": "object", "properties": {"ticket_id": {"type": "string"}},
                                    "required": ["ticket_id"]}
    assert "Look up a ticket by its id." in lookup["description"] and "tickets" in lookup["description"]
    assert tool_answers(server.requests[1]) == ["Ticket T-7: login page returns 500 since deploy 4521 (status: open)"]
    finished = of_type(events, "tool.finished")
    assert finished[0].name == "mcp__tickets__lookup_ticket" and finished[0].ok
    transcript = (sessions_dir(repo) / f"{agent.session.id}.jsonl").read_text()
    recorded = [json.loads(line) for line in transcript.splitlines()]
    assert any(e["type"] == "tool.finished" and e["name"] == "mcp__tickets__lookup_ticket" and "T-7" in e["output"]
               for e in recorded)
    assert server.violations == []
    [pid] = starts(marker)
    assert wait_until(lambda: not alive(pid), 5), "the stdio server outlived the session"


async def test_streamable_http_tool_answer_reaches_the_next_request(repo: Path, tmp_path: Path, fake_api) -> None:
    marker = tmp_path / "started"
    with http_server(marker) as url:
        server = fake_api([
            Turn(tool_calls=[ScriptedCall(name="mcp__docs__lookup_ticket", arguments={"ticket_id": "H-1"})]),
            Turn(content="done", expect_in_prompt=["Ticket H-1: login page returns 500"])])
        async with running_agent(repo, server.base_url, mcp_servers={"docs": {"url": url}}) as (agent, _):
            assert (await agent.run("look up H-1")).outcome is Outcome.DONE
    assert tool_answers(server.requests[1]) == ["Ticket H-1: login page returns 500 since deploy 4521 (status: open)"]
    assert server.violations == []


async def test_image_result_is_described_by_gpt55_and_never_sent_to_deepseek(repo: Path, tmp_path: Path,
                                                                            fake_api) -> None:
    server = fake_api([
        Turn(model="deepseek-v4-pro", tool_calls=[ScriptedCall(name="mcp__tickets__screenshot_ticket",
                                                               arguments={"ticket_id": "T-9"})]),
        Turn(model="gpt-5.5", content="A red square: the error banner."),
        Turn(model="deepseek-v4-pro", content="The banner is red.", expect_in_prompt=["the error banner"])])
    async with running_agent(repo, server.base_url,
                                     mcp_servers={"tickets": stdio_server(tmp_path / "started")}) as (agent, events):
        assert (await agent.run("what does T-9's screenshot show?")).outcome is Outcome.DONE
    vision = server.requests[1]
    assert vision["model"] == "gpt-5.5" and has_image(vision) and "tools" not in vision
    assert "mcp__tickets__screenshot_ticket" in json.dumps(vision.get("messages") or vision.get("input"))
    assert not any(has_image(r) for r in server.requests if r["model"].startswith("deepseek"))
    [answer] = tool_answers(server.requests[2])
    assert "A red square: the error banner." in answer and "base64" not in answer
    assert of_type(events, "step.routed")[0].kind == "vision"
    assert server.violations == []


async def test_embedded_resource_and_tool_errors_go_back_as_text(repo: Path, tmp_path: Path, fake_api) -> None:
    server = fake_api([
        Turn(tool_calls=[ScriptedCall(name="mcp__tickets__ticket_log", arguments={"ticket_id": "T-1"}),
                         ScriptedCall(name="mcp__tickets__fail", arguments={"reason": "tracker is down"}),
                         ScriptedCall(name="mcp__tickets__lookup_ticket", arguments={"ticket": 3})]),
        Turn(content="done")])
    async with running_agent(repo, server.base_url,
                                     mcp_servers={"tickets": stdio_server(tmp_path / "started")}) as (agent, events):
        assert (await agent.run("read the log")).outcome is Outcome.DONE
    log, failed, invalid = tool_answers(server.requests[1])
    assert "tickets://T-1/log" in log and "log of T-1: NullPointerException" in log
    assert failed.startswith("error:") and "tracker is down" in failed
    assert invalid.startswith("error: invalid arguments for mcp__tickets__lookup_ticket")
    assert "ticket_id" in invalid
    assert [e.ok for e in of_type(events, "tool.finished")] == [True, False, False]


async def test_a_crashing_server_is_restarted_once_then_left_out(repo: Path, tmp_path: Path, fake_api) -> None:
    marker = tmp_path / "started"
    crash = Turn(tool_calls=[ScriptedCall(name="mcp__tickets__crash")])
    lookup = Turn(tool_calls=[ScriptedCall(name="mcp__tickets__lookup_ticket", arguments={"ticket_id": "T-2"})])
    server = fake_api([crash, Turn(content="it crashed"), lookup, Turn(content="found"),
                       crash, Turn(content="crashed again"), lookup, Turn(content="gone")])
    agent, pool, events = make_agent(repo, server.base_url, mcp_servers={"tickets": stdio_server(marker)})
    state = None
    try:
        assert (await agent.run("crash it")).outcome is Outcome.DONE
        assert agent.session.mcp is not None
        state = agent.session.mcp.servers["tickets"]
        assert wait_until(lambda: state.status == "ready"), state
        assert (await agent.run("look up T-2")).outcome is Outcome.DONE
        assert (await agent.run("crash it again")).outcome is Outcome.DONE
        assert wait_until(lambda: state.status == "failed"), state
        assert (await agent.run("look up T-2 again")).outcome is Outcome.DONE
    finally:
        await pool.aclose()
        agent.session.close()
    [crashed] = tool_answers(server.requests[1])
    assert crashed.startswith("error: MCP server tickets stopped during the call") and "restarted" in crashed
    assert tool_answers(server.requests[3])[-1].startswith("Ticket T-2: login page")
    assert tool_answers(server.requests[7])[-1].startswith("error: MCP server tickets is not available")
    assert len(starts(marker)) == 2  # restarted once, not twice
    notices = [e.message for e in of_type(events, "notice") if "MCP" in e.message]
    assert notices == ["MCP server tickets stopped; restarting it once",
                       "MCP server tickets stopped again; its tools are left out for this session"]
    assert not any(alive(pid) for pid in starts(marker))


async def test_a_failing_server_is_reported_once_and_the_session_goes_on(repo: Path, tmp_path: Path,
                                                                        fake_api) -> None:
    marker = tmp_path / "started"
    server = fake_api([
        Turn(tool_calls=[ScriptedCall(name="mcp__tickets__lookup_ticket", arguments={"ticket_id": "T-3"})]),
        Turn(content="done"), Turn(content="still here")])
    broken = {"command": "python3", "args": ["-c", "import sys; print('no database', file=sys.stderr); sys.exit(3)"]}
    missing = {"command": str(tmp_path / "no-such-program")}
    async with running_agent(repo, server.base_url, mcp_servers={
        "broken": broken, "missing": missing, "tickets": stdio_server(marker)}) as (agent, events):
        assert (await agent.run("look up T-3")).outcome is Outcome.DONE
        assert (await agent.run("and then?")).outcome is Outcome.DONE
    names = tool_names(server.requests[0])
    assert "mcp__tickets__lookup_ticket" in names and not any("broken" in n or "missing" in n for n in names)
    assert tool_names(server.requests[2]) == names  # the same tools, turn after turn (a stable prompt prefix)
    assert tool_answers(server.requests[1])[0].startswith("Ticket T-3")
    notices = sorted(e.message for e in of_type(events, "notice") if "MCP" in e.message)
    assert len(notices) == 2
    assert notices[0].startswith("MCP server broken failed to start:") and "no database" in notices[0]
    assert notices[1].startswith("MCP server missing failed to start:")
    assert all(n.endswith("its tools are left out") for n in notices)


async def test_slow_starts_and_slow_calls_are_bounded(repo: Path, tmp_path: Path, fake_api) -> None:
    hung_marker = tmp_path / "hung"
    hung = {"command": "python3", "startup_timeout_s": 1,
            "args": ["-c", "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); time.sleep(60)",
                     str(hung_marker)]}
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="mcp__tickets__slow", arguments={"seconds": 30})]),
                       Turn(content="done")])
    async with running_agent(repo, server.base_url, mcp_servers={
        "hung": hung, "tickets": stdio_server(tmp_path / "started", tool_timeout_s=1)}) as (agent, events):
        assert (await agent.run("be slow")).outcome is Outcome.DONE
    assert tool_answers(server.requests[1]) == ["error: tickets gave no answer within 1 s (tool_timeout_s)"]
    [notice] = [e.message for e in of_type(events, "notice") if "MCP" in e.message]
    assert notice.startswith("MCP server hung failed to start: no answer within 1 s (startup_timeout_s)")
    [pid] = starts(hung_marker)
    assert wait_until(lambda: not alive(pid), 10), "the hung server was not stopped"


async def test_gpt55_over_the_responses_api_calls_mcp_tools_too(repo: Path, tmp_path: Path, fake_api) -> None:
    server = fake_api([
        Turn(model="gpt-5.5", tool_calls=[ScriptedCall(name="mcp__tickets__lookup_ticket",
                                                       arguments={"ticket_id": "R-1"})]),
        Turn(model="gpt-5.5", content="done", expect_in_prompt=["Ticket R-1: login page returns 500"])])
    async with running_agent(repo, server.base_url, model="gpt-5.5",
                                mcp_servers={"tickets": stdio_server(tmp_path / "started")}) as (agent, _):
        assert (await agent.run("look up R-1")).outcome is Outcome.DONE
    tools = {t["name"]: t for t in server.requests[0]["tools"]}
    assert tools["mcp__tickets__lookup_ticket"]["parameters"]["required"] == ["ticket_id"]
    assert server.violations == []


async def test_a_server_that_dies_while_idle_is_restarted_before_the_next_call(tmp_path: Path) -> None:
    from agent.mcp.config import McpServerConfig
    from agent.mcp.manager import McpManager

    marker = tmp_path / "started"
    said: list[str] = []
    manager = McpManager({"tickets": McpServerConfig(**stdio_server(marker))}, tmp_path, notify=said.append,
                         ping_every_s=0.2)
    manager.start()
    try:
        await manager.wait_started()
        assert (await manager.call("tickets", "exit_soon", {})).content[0].text == "bye"
        assert wait_until(lambda: len(starts(marker)) == 2 and manager.servers["tickets"].status == "ready")
        result = await manager.call("tickets", "lookup_ticket", {"ticket_id": "I-1"})
        assert result.content[0].text.startswith("Ticket I-1")
    finally:
        await manager.aclose()
    assert said == ["MCP server tickets stopped; restarting it once"]
    assert not any(alive(pid) for pid in starts(marker))
