"""MCP under attack (red-team findings): where servers start, malformed schemas, server errors that are not
deaths, unreadable output, a hung start, secrets. Real processes: the SDK fixture server and a raw JSON-RPC one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.approval import ApprovalRequest, Decision
from agent.config import load_config
from agent.mcp.config import McpServerConfig
from agent.mcp.manager import McpManager
from agent.mcp.names import MAX_TOOLS
from agent.mcp.report import status_lines
from agent.mcp.schema import MAX_SCHEMA_CHARS, adapt_schema
from agent.outcome import Outcome
from fixtures.fakeapi import ScriptedCall, Turn
from tests.e2e import run_agent
from tests.helpers import of_type, running_agent, trust_project
from tests.mcp_helpers import SERVER, alive, raw_server, starts, stdio_server, wait_until
from tools.registry import offered_names


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
    found = ours.program(workspace)  # a bare name: looked up on PATH, never inside the workspace or a temp dir
    assert Path(found).is_absolute() and Path(found).name.startswith("python") and workspace not in Path(found).parents


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
    servers = {"raw": raw_server(tmp_path, tools)}
    async with running_agent(repo, server.base_url, mcp_servers=servers) as (agent, events):
        assert await agent.run("use them") is Outcome.DONE
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
    servers = {"raw": raw_server(tmp_path, tools, marker)}
    async with running_agent(repo, server.base_url, mcp_servers=servers) as (agent, events):
        assert await agent.run("look it up") is Outcome.DONE
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
    async with running_agent(repo, server.base_url, mcp_servers={
        "raw": raw_server(tmp_path, tools, marker, tool_timeout_s=60)}) as (agent, events):
        assert await agent.run("read") is Outcome.DONE
        assert await agent.run("half") is Outcome.DONE
        assert agent.session.mcp is not None
        state = agent.session.mcp.servers["raw"]
        assert wait_until(lambda: state.status == "ready" and len(starts(marker)) == 2), state
        assert await agent.run("again") is Outcome.DONE
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
    env = {"DB_PASSWORD": "letmeinplease", "SHOP_PIN": "482913", "LOG_LEVEL": "debug"}
    servers = {"raw": raw_server(tmp_path, tools, env=env)}
    async with running_agent(repo, server.base_url, mcp_servers=servers) as (agent, _):
        assert await agent.run("read the environment") is Outcome.DONE
    password, pin, level, safe = tool_answers(server.requests[1])
    sent = json.dumps(server.requests)
    assert "letmeinplease" not in sent and "482913" not in sent
    assert password != "<unset>" and pin != "<unset>"  # set for the server, redacted from the model
    assert (level, safe) == ("debug", "1")  # a plain setting stays readable; python's safe path is on


def filter_schema() -> dict:
    """A 4-way recursive filter type (as query servers publish): 400 bytes that inline into megabytes."""
    node = {"type": "object", "properties": {k: {"$ref": "#/$defs/F"} for k in ("and_", "or_", "not_", "nested")}}
    node["properties"]["field"] = {"type": "string", "description": "a field name"}
    return {"type": "object", "properties": {"filter": {"$ref": "#/$defs/F"}}, "$defs": {"F": node}}


def test_a_recursive_schema_is_cut_where_a_reference_repeats_and_says_so() -> None:
    notes: list[str] = []
    adapted = adapt_schema(filter_schema(), notes)
    assert adapted["properties"]["filter"]["properties"]["and_"] == {}  # the recursion ends in "anything"
    assert adapted["properties"]["filter"]["properties"]["field"]["type"] == "string"
    assert len(json.dumps(adapted)) < 1_000
    assert notes == ["a recursive reference is given only its first level"]
    # A schema that is big without recursion (a wide tree of distinct types) is cut to its top level.
    defs = {f"T{i}": {"type": "object", "properties": {f"f{j}": {"$ref": f"#/$defs/T{i + 1}"} for j in range(4)}}
            for i in range(9)}
    defs["T9"] = {"type": "string", "description": "x" * 200}
    wide = {"type": "object", "properties": {"root": {"$ref": "#/$defs/T0", "description": "the tree"}},
            "$defs": defs}
    notes = []
    adapted = adapt_schema(wide, notes)
    assert len(json.dumps(adapted)) <= MAX_SCHEMA_CHARS
    assert adapted["properties"]["root"] == {"type": "object", "description": "the tree"}
    assert any("only its top-level properties" in n for n in notes)
    notes = []
    adapt_schema({"type": "object", "properties": {"a": {"type": "string"}}}, notes)
    assert notes == []


def test_schema_edge_cases_keep_the_parameters_the_models_need() -> None:
    adapted = adapt_schema({"type": "object", "properties": {"anything": True, "never": False,
                                                            "list": {"type": "array", "items": True}}})
    assert adapted["properties"] == {"anything": {}, "list": {"type": "array", "items": {}}}
    assert adapt_schema({"type": ["object"], "properties": {"q": {"type": "string"}}, "required": ["q"]}) == {
        "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    either = adapt_schema({"anyOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                                     {"type": "object", "properties": {"b": {"type": "integer"}}}]})
    assert either == {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    assert adapt_schema({"type": "object", "properties": {"e": {"enum": [True, False]}}})["properties"]["e"] == {
        "enum": [True, False]}


async def test_the_approver_sees_the_whole_arguments_or_a_marked_cut(repo: Path, tmp_path: Path, fake_api) -> None:
    requests: list[ApprovalRequest] = []

    async def approve(request: ApprovalRequest) -> Decision:
        requests.append(request)
        return Decision(False, "no")

    hidden = "T-1" + " " * 300 + "; DROP TABLE users;"
    huge = "A" * 10_000 + "; DROP TABLE orders;"
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="mcp__tickets__lookup_ticket", arguments={"ticket_id": a})
                                        for a in (hidden, huge)]), Turn(content="done")])
    async with running_agent(repo, server.base_url, approver=approve, approval="ask",
                                mcp_servers={"tickets": stdio_server(tmp_path / "started")}) as (agent, _):
        await agent.run("look them up")
    first, second = (r.summary for r in requests)
    assert first == "tickets: lookup_ticket " + json.dumps({"ticket_id": hidden})
    assert "DROP TABLE orders" in second and f"[{len(json.dumps({'ticket_id': huge})) - 4000} characters not shown]" \
        in second


async def test_tools_past_the_providers_limit_are_left_out_and_said(repo: Path, tmp_path: Path, fake_api) -> None:
    tools = [{"name": "query", "inputSchema": filter_schema()}] + [{"name": f"tool_{i}"} for i in range(129)]
    server = fake_api([Turn(content="hello")])
    async with running_agent(repo, server.base_url, mcp_servers={"db": raw_server(tmp_path, tools)}) as (agent, events):
        assert await agent.run("hi") is Outcome.DONE
        offered = offered_names(agent.session.tool_context)
        listed = status_lines(agent.session.mcp, offered)
    sent = server.requests[0]["tools"]
    builtin = len(offered)  # screenshot is not offered without Chromium
    assert len(sent) == MAX_TOOLS
    query = next(t["function"] for t in sent if t["function"]["name"] == "mcp__db__query")
    assert len(json.dumps(query)) < 2_000
    notices = mcp_notices(events)
    assert f"MCP server db: {130 - (MAX_TOOLS - builtin)} of its tools left out: one request carries at most " \
           f"{MAX_TOOLS} tools, built-ins included (list the ones you need in its `tools`)" in notices
    assert "MCP tool db/query: its input schema was cut for the models (a recursive reference is given only its " \
           "first level)" in notices
    assert sum("[left out: past the 128-tool limit]" in line for line in listed) == 130 - (MAX_TOOLS - builtin)
    home = tmp_path / "home"
    (home / ".config" / "duet").mkdir(parents=True)
    entry = raw_server(tmp_path, tools)
    (home / ".config" / "duet" / "config.toml").write_text(
        f'[mcp_servers.db]\ncommand = "{entry["command"]}"\nargs = {json.dumps(entry["args"])}\n')
    result = run_agent(["mcp", "list", "--output", "json"], repo, env_extra={"HOME": str(home)})
    [db] = json.loads(result.stdout)
    assert sum(t["left_out"] for t in db["tools"]) == 130 - (MAX_TOOLS - builtin) and not db["tools"][0]["left_out"]


def test_mcp_notices_reach_stderr_with_json_output(repo: Path, tmp_path: Path, fake_api) -> None:
    home = tmp_path / "home"
    (home / ".config" / "duet").mkdir(parents=True)
    (home / ".config" / "duet" / "config.toml").write_text(
        '[mcp_servers.broken]\ncommand = "python3"\nargs = ["-c", "import sys; sys.exit(\'no tracker\')"]\n')
    server = fake_api([Turn(content="hello")])
    result = run_agent(["run", "say hi", "--output", "json"], repo, server.base_url, env_extra={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert "agent: warning: MCP server broken failed to start: " in result.stderr
    assert "no tracker" in result.stderr
    json.loads(result.stdout)  # stdout stays one JSON document


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_servers_die_with_a_session_killed_outright(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    config = raw_server(tmp_path, [{"name": "ping"}], marker)
    config["args"].append("--linger")  # like a server busy with a long job: stdin closing does not stop it
    script = ("import asyncio, json, sys, time\nfrom pathlib import Path\n"
              "from agent.mcp.config import McpServerConfig\nfrom agent.mcp.manager import McpManager\n"
              "m = McpManager({'raw': McpServerConfig(**json.loads(sys.argv[1]))}, Path(sys.argv[2]))\n"
              "m.start()\nasyncio.run(m.wait_started())\nprint(m.servers['raw'].status, flush=True)\ntime.sleep(120)\n")
    session = subprocess.Popen([sys.executable, "-c", script, json.dumps(config), str(tmp_path)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert session.stdout is not None and session.stdout.readline().strip() == "ready"
        assert wait_until(lambda: len(starts(marker)) == 2)
        pids = starts(marker)  # the server and the program it started
    finally:
        session.kill()  # SIGKILL: no cleanup of ours runs
        session.wait()
    gone = wait_until(lambda: not any(alive(pid) for pid in pids), 10)
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert gone, "the server (or its child) outlived the session that started it"
