"""MCP configuration, trust, approval and the `agent mcp list` command, with real servers as real processes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agent.approval import ApprovalRequest, Decision
from agent.config import load_config
from agent.errors import ConfigError
from agent.outcome import Outcome
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import TEST_KEY
from tests.e2e import run_cli
from tests.helpers import of_type, running_agent, trust_project
from tests.mcp_helpers import SERVER, starts, stdio_server


def project_config(workspace: Path, marker: Path) -> None:
    (workspace / ".duet").mkdir(exist_ok=True)
    (workspace / ".duet" / "config.toml").write_text(
        f'[mcp_servers.tickets]\ncommand = "{sys.executable}"\nargs = ["{SERVER}", "--marker", "{marker}"]\n')


def test_an_untrusted_projects_server_never_starts(repo: Path, tmp_path: Path, fake_api) -> None:
    marker = tmp_path / "started"
    project_config(repo, marker)
    server = fake_api([Turn(content="hello")])
    result = run_cli(["run", "say hello", "--output", "json"], repo, server.base_url)
    assert result.returncode == 0, result.stderr
    assert "is not trusted: ignored mcp_servers" in result.stderr
    assert not marker.exists()  # no process was spawned
    assert all(not t["function"]["name"].startswith("mcp__") for t in server.requests[0]["tools"])
    listed = run_cli(["mcp", "list"], repo)
    assert listed.returncode == 0 and "no MCP servers configured" in listed.stdout and not marker.exists()
    # The same file, once trusted, does start the server: the test above could fail.
    trust_project(repo)
    server = fake_api([Turn(content="hello")])
    result = run_cli(["run", "say hello", "--output", "json"], repo, server.base_url)
    assert result.returncode == 0, result.stderr
    assert len(starts(marker)) == 1
    assert "mcp__tickets__lookup_ticket" in [t["function"]["name"] for t in server.requests[0]["tools"]]


def test_mcp_list_prints_servers_status_and_tools(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / ".config" / "duet" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[mcp_servers.tickets]\ncommand = "{sys.executable}"\nargs = ["{SERVER}"]\n'
                      'approved_tools = ["lookup_ticket"]\n\n'
                      '[mcp_servers.broken]\ncommand = "python3"\nargs = ["-c", "raise SystemExit(4)"]\n')
    result = run_cli(["mcp", "list"], tmp_path, env_extra={"HOME": str(home)})
    assert result.returncode == 1, result.stderr  # one server failed
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tickets (stdio: ") and lines[0].endswith("ready, 8 tools")
    assert "  lookup_ticket → mcp__tickets__lookup_ticket [approved]  Look up a ticket by its id." in lines
    assert any(line.startswith("broken (stdio: python3) failed: ") for line in lines)
    listed = json.loads(run_cli(["mcp", "list", "--output", "json"], tmp_path,
                                  env_extra={"HOME": str(home)}).stdout)
    assert [(s["name"], s["status"]) for s in listed] == [("tickets", "ready"), ("broken", "failed")]
    assert "crash" in [t["name"] for t in listed[0]["tools"]]


def test_a_server_entry_needs_exactly_one_transport(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one of `command`"):
        load_config(tmp_path, {"mcp_servers": {"x": {"command": "a", "url": "http://127.0.0.1/mcp"}}}, {})
    with pytest.raises(ConfigError, match="exactly one of `command`"):
        load_config(tmp_path, {"mcp_servers": {"x": {"args": ["a"]}}}, {})
    with pytest.raises(ConfigError, match=r"unknown key 'mcp_servers\.x\.comand'"):
        load_config(tmp_path, {"mcp_servers": {"x": {"comand": "a"}}}, {})


async def test_servers_get_a_minimal_environment_and_their_secrets_are_redacted(
        repo: Path, tmp_path: Path, fake_api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", TEST_KEY)
    monkeypatch.setenv("SOME_OTHER_SECRET", "leaky-value-1234567890")
    token = "trk_9f8e7d6c5b4a39281706"
    server = fake_api([
        Turn(tool_calls=[ScriptedCall(name="mcp__tickets__show_env", arguments={"name": "DEEPSEEK_API_KEY"}),
                         ScriptedCall(name="mcp__tickets__show_env", arguments={"name": "SOME_OTHER_SECRET"}),
                         ScriptedCall(name="mcp__tickets__show_env", arguments={"name": "TRACKER_TOKEN"})]),
        Turn(content="done")])
    async with running_agent(repo, server.base_url, mcp_servers={
        "tickets": stdio_server(tmp_path / "started", env={"TRACKER_TOKEN": token})}) as (agent, _):
        assert (await agent.run("check the environment")).outcome is Outcome.DONE
    answers = [m["content"] for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert answers[:2] == ["<unset>", "<unset>"]  # the user's keys and other variables stay out
    assert token not in answers[2] and answers[2] != "<unset>"  # set for the server, redacted from the model
    assert token not in json.dumps(server.requests)


@pytest.mark.parametrize(("mode", "asked", "ran"), [("ask", True, True), ("auto-edit", True, True),
                                                   ("full-auto", False, True), ("read-only", False, False)])
async def test_calls_follow_the_shell_approval_rules(repo: Path, tmp_path: Path, fake_api, mode: str,
                                                     asked: bool, ran: bool) -> None:
    requests: list[ApprovalRequest] = []

    async def approve(request: ApprovalRequest) -> Decision:
        requests.append(request)
        return Decision(True)

    server = fake_api([Turn(tool_calls=[ScriptedCall(name="mcp__tickets__lookup_ticket",
                                                     arguments={"ticket_id": "T-5"})]), Turn(content="done")])
    async with running_agent(repo, server.base_url, approver=approve, approval=mode,
                                     mcp_servers={"tickets": stdio_server(tmp_path / "started")}) as (agent, _):
        await agent.run("look up T-5")
    assert bool(requests) is asked
    if asked:
        assert requests[0].tool == "mcp__tickets__lookup_ticket"
        assert requests[0].summary == 'tickets: lookup_ticket {"ticket_id": "T-5"}'
    [answer] = [m["content"] for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert answer.startswith("Ticket T-5") is ran
    if not ran:
        assert answer.startswith("denied: the session is read-only")


@pytest.mark.parametrize("mode", ["ask", "auto-edit"])
async def test_allow_listed_tools_run_without_asking(repo: Path, tmp_path: Path, fake_api, mode: str) -> None:
    requests: list[ApprovalRequest] = []

    async def refuse(request: ApprovalRequest) -> Decision:
        requests.append(request)
        return Decision(False, "no")

    server = fake_api([Turn(tool_calls=[ScriptedCall(name="mcp__tickets__lookup_ticket",
                                                     arguments={"ticket_id": "T-6"}),
                                        ScriptedCall(name="mcp__tickets__ticket_log",
                                                     arguments={"ticket_id": "T-6"})]), Turn(content="done")])
    async with running_agent(repo, server.base_url, approver=refuse, approval=mode, mcp_servers={
        "tickets": stdio_server(tmp_path / "started", approved_tools=["lookup_ticket"])}) as (agent, events):
        await agent.run("look up T-6")
    assert [r.tool for r in requests] == ["mcp__tickets__ticket_log"]
    looked, log = [m["content"] for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert looked.startswith("Ticket T-6") and log == "denied by the user: no"
    assert [e.approved for e in of_type(events, "approval")] == [False]


async def test_a_headless_run_refuses_mcp_calls_it_cannot_ask_about(repo: Path, tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="mcp__tickets__lookup_ticket",
                                                     arguments={"ticket_id": "T-4"})]), Turn(content="done")])
    async with running_agent(repo, server.base_url, approval="auto-edit",
                                mcp_servers={"tickets": stdio_server(tmp_path / "started")}) as (agent, _):
        run = await agent.run("look up T-4")
    [answer] = [m["content"] for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert answer == ("refused: mcp__tickets__lookup_ticket needs approval and this run cannot ask; rerun with "
                      "--approval full-auto")
    assert run.refusals == ("mcp__tickets__lookup_ticket",)
