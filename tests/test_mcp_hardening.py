"""MCP under attack (red-team findings): where servers start, malformed schemas, server errors that are not
deaths, unreadable output, a hung start, secrets. Real processes: the SDK fixture server and a raw JSON-RPC one."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from agent.config import load_config
from agent.mcp.config import McpServerConfig
from agent.mcp.manager import McpManager
from agent.outcome import Outcome
from fixtures.fakeapi import ScriptedCall, Turn
from tests.e2e import run_agent
from tests.helpers import make_agent, of_type, trust_project
from tests.mcp_helpers import SERVER, alive, raw_server, starts, wait_until


def tool_answers(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


def mcp_notices(events: list) -> list[str]:
    return [e.message for e in of_type(events, "notice") if "MCP" in e.message]


def test_a_user_config_server_never_runs_the_workspaces_code(repo: Path, tmp_path: Path) -> None:
    """A user's server with a relative script (`server.py`) or `python -m json.tool` must not pick up the
    repository's `server.py` or `json/` package: it starts in its config file's directory, python without the
    working directory on sys.path."""
    hijacked = tmp_path / "hijacked"
    evil = f"open({str(hijacked)!r}, 'a').write('ran the repository code\\n')\n"
    (repo / "server.py").write_text(evil)
    (repo / "json").mkdir()
    (repo / "json" / "__init__.py").write_text(evil)
    (repo / "json" / "tool.py").write_text(evil)
    home = tmp_path / "home"
    config_dir = home / ".config" / "duet"
    config_dir.mkdir(parents=True)
    shutil.copy(SERVER, config_dir / "server.py")
    marker = tmp_path / "started"
    (config_dir / "config.toml").write_text(
        f'[mcp_servers.tickets]\ncommand = "{sys.executable}"\nargs = ["server.py", "--marker", "{marker}"]\n\n'
        f'[mcp_servers.fmt]\ncommand = "{sys.executable}"\nargs = ["-m", "json.tool"]\ncwd = "{repo}"\n'
        'startup_timeout_s = 2\n')
    result = run_agent(["mcp", "list"], repo, env_extra={"HOME": str(home)})
    assert not hijacked.exists(), hijacked.read_text()
    assert result.stdout.splitlines()[0].endswith("ready, 8 tools"), result.stdout
    assert len(starts(marker)) == 1
    assert "fmt (stdio: " in result.stdout and result.returncode == 1  # json.tool is no MCP server: it fails


def test_servers_start_in_their_config_files_directory_and_entries_replace_across_layers(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "repo"
    user = home / ".config" / "duet" / "config.toml"
    user.parent.mkdir(parents=True)
    (workspace / ".duet").mkdir(parents=True)
    user.write_text('[mcp_servers.mine]\ncommand = "./bin/serve"\ncwd = "state"\n\n'
                    '[mcp_servers.shared]\ncommand = "python3"\ntools = ["read"]\n\n'
                    '[mcp_servers.quiet]\ncommand = "python3"\ntools = ["a"]\n')
    (workspace / ".duet" / "config.toml").write_text(
        '[mcp_servers.shared]\nurl = "http://127.0.0.1:9/mcp"\ntools = ["write"]\n\n'
        '[mcp_servers.quiet]\nenabled = false\ntools = ["b"]\n\n[mcp_servers.ours]\ncommand = "python3"\n')
    env = {"HOME": str(home)}
    trust_project(workspace)
    from agent import trust
    trust.record_trust(workspace, user)
    config = load_config(workspace, None, env)
    mine, shared, quiet, ours = (config.mcp_servers[n] for n in ("mine", "shared", "quiet", "ours"))
    assert mine.start_dir(workspace) == user.parent / "state"
    assert mine.program(workspace) == str(user.parent / "state" / "bin" / "serve")
    assert ours.start_dir(workspace) == workspace  # a trusted project's own server starts in the workspace
    assert (shared.transport, shared.command, shared.tools) == ("http", None, ["write"])  # replaced whole
    assert (quiet.enabled, quiet.command, quiet.tools) == (False, "python3", ["b"])  # changed key by key
    assert ours.program(workspace) == "python3"  # a bare name: looked up on PATH


async def test_malformed_schemas_never_end_a_session(repo: Path, tmp_path: Path, fake_api) -> None:
    tools = [
        {"name": "bad_defs", "inputSchema": {"type": "object", "properties": {"q": {"$ref": "#/$defs/x"}},
                                             "$defs": []}},
        {"name": "dangling", "inputSchema": {"type": "object", "properties": {"q": {"$ref": "#/$defs/gone"}}}},
        {"name": "broken", "inputSchema": {"type": "object", "properties": {"q": {"allOf": [5]}}}},
        {"name": "fine", "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}}}]
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="mcp__raw__bad_defs", arguments={"q": "a"}),
                                        ScriptedCall(name="mcp__raw__dangling", arguments={"q": "b"}),
                                        ScriptedCall(name="mcp__raw__fine", arguments={"q": "c"})]),
                       Turn(content="done")])
    agent, pool, events = make_agent(repo, server.base_url, mcp_servers={"raw": raw_server(tmp_path, tools)})
    try:
        assert await agent.run("use them") is Outcome.DONE
    finally:
        await pool.aclose()
        agent.session.close()
    names = [t["function"]["name"] for t in server.requests[0]["tools"]]
    assert {"mcp__raw__bad_defs", "mcp__raw__dangling", "mcp__raw__fine"} <= set(names)
    assert "mcp__raw__broken" not in names
    assert tool_answers(server.requests[1]) == ["ok", "ok", "ok"]
    assert next(n for n in mcp_notices(events) if "broken" in n).startswith(
        "MCP tool raw/broken left out: its input schema cannot be read")


async def test_a_generic_server_error_is_an_error_not_a_death(repo: Path, tmp_path: Path, fake_api) -> None:
    marker = tmp_path / "started"
    tools = [{"name": "lookup", "rpc_error": "ticket T-1 not found"},
             {"name": "ping", "result": {"content": [{"type": "text", "text": "pong"}]}}]
    lookup = Turn(tool_calls=[ScriptedCall(name="mcp__raw__lookup")])
    server = fake_api([lookup, lookup, Turn(tool_calls=[ScriptedCall(name="mcp__raw__ping")]), Turn(content="ok")])
    agent, pool, events = make_agent(repo, server.base_url, mcp_servers={"raw": raw_server(tmp_path, tools, marker)})
    try:
        assert await agent.run("look it up") is Outcome.DONE
    finally:
        await pool.aclose()
        agent.session.close()
    assert tool_answers(server.requests[3]) == ["error: raw: ticket T-1 not found"] * 2 + ["pong"]
    assert len(starts(marker)) == 1 and mcp_notices(events) == []


async def test_unreadable_output_is_survived_or_restarts_the_server_at_once(
        repo: Path, tmp_path: Path, fake_api, caplog: pytest.LogCaptureFixture) -> None:
    marker = tmp_path / "started"
    fine = {"content": [{"type": "text", "text": "fine"}]}
    tools = [{"name": "latin", "stdout": "caf\xe9 \xff\n", "result": fine},
             {"name": "noise", "stdout": "Loading model... done\n", "result": fine},
             {"name": "half", "result": {"content": [{"type": "text", "text": "half an emoji: \ud83d end"}]}},
             {"name": "ping", "result": {"content": [{"type": "text", "text": "pong"}]}}]
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="mcp__raw__latin"), ScriptedCall(name="mcp__raw__noise"),
                                        ScriptedCall(name="mcp__raw__ping")]), Turn(content="ok"),
                       Turn(tool_calls=[ScriptedCall(name="mcp__raw__half")]), Turn(content="broken"),
                       Turn(tool_calls=[ScriptedCall(name="mcp__raw__ping")]), Turn(content="back")])
    agent, pool, events = make_agent(repo, server.base_url, mcp_servers={
        "raw": raw_server(tmp_path, tools, marker, tool_timeout_s=60)})
    try:
        assert await agent.run("read") is Outcome.DONE
        assert await agent.run("half") is Outcome.DONE
        assert agent.session.mcp is not None
        state = agent.session.mcp.servers["raw"]
        assert wait_until(lambda: state.status == "ready" and len(starts(marker)) == 2), state
        assert await agent.run("again") is Outcome.DONE
    finally:
        await pool.aclose()
        agent.session.close()
    assert tool_answers(server.requests[1]) == ["fine", "fine", "pong"]
    half = tool_answers(server.requests[3])[-1]
    assert half.startswith("error: MCP server raw stopped during the call (it sent a message that could not be read)")
    assert tool_answers(server.requests[5])[-1] == "pong"
    assert mcp_notices(events) == [
        "MCP server raw stopped (it sent a message that could not be read); restarting it once"]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("mcp")] == []  # never to the terminal


async def test_a_failed_start_is_said_before_the_sdk_has_stopped_the_process(tmp_path: Path) -> None:
    hung_marker = tmp_path / "hung"
    stubborn = ("import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); time.sleep(120)")
    said: list[str] = []
    manager = McpManager({"hung": McpServerConfig(command=sys.executable, args=["-c", stubborn, str(hung_marker)],
                                                  startup_timeout_s=1)}, tmp_path, notify=said.append)
    manager.start()
    try:
        await manager.wait_started()
        assert said == ["MCP server hung failed to start: no answer within 1 s (startup_timeout_s); its tools are "
                        "left out"]
        [pid] = starts(hung_marker)
        assert alive(pid)  # the first prompt did not wait for the SDK's stop sequence (stdin, SIGTERM, SIGKILL)
    finally:
        await manager.aclose()
    assert wait_until(lambda: not alive(pid), 15)


async def test_secrets_the_user_gave_a_server_are_redacted_however_plain(repo: Path, tmp_path: Path,
                                                                        fake_api) -> None:
    tools = [{"name": name, "env": name.upper()} for name in ("db_password", "shop_pin", "log_level",
                                                             "pythonsafepath")]
    server = fake_api([Turn(tool_calls=[ScriptedCall(name=f"mcp__raw__{t['name']}") for t in tools]),
                       Turn(content="done")])
    agent, pool, _ = make_agent(repo, server.base_url, mcp_servers={"raw": raw_server(
        tmp_path, tools, env={"DB_PASSWORD": "letmeinplease", "SHOP_PIN": "482913", "LOG_LEVEL": "debug"})})
    try:
        assert await agent.run("read the environment") is Outcome.DONE
    finally:
        await pool.aclose()
        agent.session.close()
    password, pin, level, safe = tool_answers(server.requests[1])
    sent = json.dumps(server.requests)
    assert "letmeinplease" not in sent and "482913" not in sent
    assert password != "<unset>" and pin != "<unset>"  # set for the server, redacted from the model
    assert (level, safe) == ("debug", "1")  # a plain setting stays readable; python's safe path is on
