"""The installed `agent` command: help, errors, exit codes and outputs."""

from __future__ import annotations

from pathlib import Path

from agent.transcript import all_sessions, sessions_dir
from fixtures.fakeapi import ScriptedCall, Turn
from tests.conftest import git
from tests.e2e import run_agent, run_cli, sample, stream_events, summary

READ_CALC = ScriptedCall(name="read_file", arguments={"path": "calc.py"})


def test_help_and_version(tmp_path: Path) -> None:
    result = run_agent(["--help"], tmp_path)
    assert result.returncode == 0 and "fix-tests" in result.stdout and "exit codes" in result.stdout
    version = run_agent(["--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("duet ")


def test_missing_key_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = run_agent(["run", "do it"], tmp_path, key=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DEEPSEEK_API_KEY" in result.stderr and "agent demo" in result.stderr
    assert not (tmp_path / ".duet").exists()  # nothing written before the check


def test_missing_openai_key_when_gpt_is_pinned(tmp_path: Path) -> None:
    result = run_cli(["run", "--model", "gpt-5.5", "x"], tmp_path, key=False)
    assert result.returncode == 2 and "OPENAI_API_KEY" in result.stderr


def test_bad_flag_and_bad_config_are_one_line_exit_2(tmp_path: Path) -> None:
    bad_flag = run_cli(["run", "--max-cost", "lots", "x"], tmp_path)
    assert bad_flag.returncode == 2 and bad_flag.stderr.strip().count("\n") == 0
    (tmp_path / ".duet").mkdir()
    (tmp_path / ".duet/config.toml").write_text("route = 'yolo'\n")
    bad_config = run_cli(["run", "x"], tmp_path)
    assert bad_config.returncode == 2 and "route" in bad_config.stderr and "Traceback" not in bad_config.stderr
    assert bad_config.stderr.strip().count("\n") == 0


def test_a_subcommands_usage_error_names_the_subcommand(tmp_path: Path) -> None:
    result = run_cli(["run", "--max-cost", "lots", "x"], tmp_path)
    assert result.stderr.startswith("agent run: argument --max-cost:"), result.stderr
    assert "`agent run --help`" in result.stderr and "[PROMPT]" not in result.stderr


def test_empty_task_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["run", "-"], tmp_path, stdin="   ")
    assert result.returncode == 2 and "no task" in result.stderr


def test_task_from_stdin_and_stream_json(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="hello from the model")])
    result = run_agent(["run", "-", "--output", "stream-json"], tmp_path, server.base_url, stdin="say hi\n")
    assert result.returncode == 0, result.stderr
    events = stream_events(result)
    assert events[0]["type"] == "system" and events[0]["subtype"] == "init"
    assert events[0]["approval"] == "ask" and "shell" in events[0]["tools"]
    assert events[1]["type"] == "session.started" and events[1]["task"] == "say hi"
    kinds = [e.get("type") for e in events]
    assert "usage" in kinds and "run.finished" in kinds
    completed = next(e for e in events if e["type"] == "turn.completed")
    assert completed["usage"]["input_tokens"] > 0 and completed["usage"]["output_tokens"] > 0
    last = events[-1]
    assert last["type"] == "result" and last["subtype"] == "success" and last["is_error"] is False
    assert last["result"] == "hello from the model" and last["num_turns"] == 1 and last["exit_code"] == 0
    assert last["total_cost_usd"] > 0 and last["usage"]["output_tokens"] > 0 and last["duration_ms"] > 0
    transcript = (sessions_dir(tmp_path) / f"{last['session_id']}.jsonl").read_text().splitlines()
    assert len(transcript) == len(events) - 2  # the same events, between the init line and the result


def test_turn_limit_exits_4(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="list_files")])] * 3)
    result = run_cli(["run", "loop", "--max-turns", "1", "--output", "json"], tmp_path, server.base_url)
    assert result.returncode == 4 and summary(result)["outcome"] == "turn_limit"


def test_time_limit_exits_4(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "sleep 20"})]),
                       Turn(content="never")])
    result = run_agent(["run", "wait", "--timeout", "1", "--approval", "full-auto", "--output", "json"], tmp_path,
                       server.base_url)
    assert result.returncode == 4 and summary(result)["outcome"] == "time_limit"


def test_provider_down_falls_back_then_exits_5_when_nothing_serves(tmp_path: Path, fake_api) -> None:
    (tmp_path / ".duet").mkdir()
    (tmp_path / ".duet/config.toml").write_text("[retry]\nmax_retries = 2\nbackoff_base_s = 0.01\n")
    server = fake_api([Turn(fault="503")] * 6)
    result = run_cli(["run", "x", "--output", "stream-json"], tmp_path, server.base_url)
    assert result.returncode == 5
    events = stream_events(result)
    assert [e["model"] for e in events if e.get("type") == "call.started"] == ["deepseek-v4-pro", "gpt-5.5"]
    assert "503" in events[-1]["message"]


def test_fallback_to_the_other_provider_is_reported(tmp_path: Path, fake_api) -> None:
    (tmp_path / ".duet").mkdir()
    (tmp_path / ".duet/config.toml").write_text("[retry]\nmax_retries = 1\nbackoff_base_s = 0.01\n")
    server = fake_api([Turn(fault="503"), Turn(fault="503"), Turn(model="gpt-5.5", content="served by GPT-5.5")])
    result = run_cli(["run", "x", "--output", "stream-json"], tmp_path, server.base_url)
    assert result.returncode == 0, result.stdout
    events = stream_events(result)
    fallback = [e for e in events if e.get("type") == "step.routed"]
    assert fallback[0]["kind"] == "fallback" and fallback[0]["model"] == "gpt-5.5"
    assert "deepseek-v4-pro stayed unavailable" in fallback[0]["reason"]
    assert events[-1]["models"]["gpt-5.5"]["calls"] == 1 and server.violations == []


def test_demo_runs_without_any_key(tmp_path: Path) -> None:
    result = run_cli(["demo"], tmp_path, key=False)
    assert result.returncode == 0, result.stderr
    assert "SCRIPTED DEMO" in result.stdout and "deepseek-v4-pro" in result.stdout
    assert "done (exit 0): the tests pass" in result.stdout


def test_resume_and_undo(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(tool_calls=[READ_CALC, ScriptedCall(name="edit_file", arguments={
        "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"})]), Turn(content="edited"),
        Turn(content="nothing else to do")])
    first = run_cli(["run", "fix add", "--approval", "full-auto", "--output", "json"], workspace, server.base_url)
    assert first.returncode == 0 and "a + b" in (workspace / "calc.py").read_text()
    again = run_cli(["resume", "--last", "-m", "anything else?", "--output", "json"], workspace, server.base_url)
    assert again.returncode == 0, again.stderr
    assert summary(again)["session_id"] == summary(first)["session_id"]
    assert server.requests[-1]["messages"][-1]["content"] == "anything else?"
    assert len(server.requests[-1]["messages"]) == 7  # + the read before the edit
    undone = run_cli(["undo", "--last"], workspace)
    assert undone.returncode == 0 and "calc.py" in undone.stdout
    assert "a - b" in (workspace / "calc.py").read_text()


def test_ctrl_c_exits_130_and_keeps_the_transcript(tmp_path: Path, fake_api) -> None:
    import signal

    from tests.e2e import start_run_until_tool

    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "sleep 60"})]),
                       Turn(content="never")])
    proc = start_run_until_tool(tmp_path, server.base_url)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert '"outcome":"interrupted"' in rest.replace(" ", "")
    transcript = all_sessions(tmp_path)[0].read_text()
    assert '"type":"run.finished","outcome":"interrupted"' in transcript.replace(" ", "")


def test_commit_flag_commits_only_on_success(tmp_path: Path, fake_api) -> None:
    from tests.conftest import git

    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(tool_calls=[READ_CALC, ScriptedCall(name="edit_file", arguments={
        "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"})]), Turn(content="fixed")])
    result = run_cli(["fix-tests", "--approval", "full-auto", "--commit", "--output", "json"], workspace,
                       server.base_url)
    assert result.returncode == 0 and "committed" in summary(result)["message"]
    assert git(workspace, "log", "-1", "--format=%s").startswith("duet: fix-tests")
    assert git(workspace, "status", "--porcelain", "--", ".", ":!.duet") == ""
    assert ".duet" not in git(workspace, "show", "--name-only", "HEAD")


def test_agents_md_reaches_the_system_prompt(tmp_path: Path, fake_api) -> None:
    (tmp_path / "AGENTS.md").write_text("Always run `make check` before finishing.\n")
    server = fake_api([Turn(content="ok", expect_in_prompt=["Always run `make check` before finishing."])])
    result = run_cli(["run", "hi", "--output", "json"], tmp_path, server.base_url)
    assert result.returncode == 0 and server.violations == []
    assert server.requests[0]["messages"][0]["role"] == "system"


def test_packed_repository_is_a_prefix_shared_across_sessions(tmp_path: Path, fake_api) -> None:
    """The session's facts (date, git state, approval, temp dir) come after the repository, so a second session
    on the same repository starts with the same bytes up to the end of the pack: the provider's cache serves it."""
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(content="one"), Turn(content="two")])
    first = run_cli(["run", "hi", "--model", "deepseek-v4-flash", "--output", "json"], workspace, server.base_url)
    git(workspace, "checkout", "-q", "-b", "topic")  # the git facts change, the repository's files do not
    second = run_cli(["run", "hi", "--model", "deepseek-v4-flash", "--approval", "read-only", "--output", "json"],
                       workspace, server.base_url)
    assert first.returncode == 0 and second.returncode == 0
    systems = [request["messages"][0]["content"] for request in server.requests]
    assert systems[0] != systems[1]
    shared = next(i for i, (a, b) in enumerate(zip(*systems, strict=False)) if a != b)  # characters in common
    pack_end = systems[0].index("def add(") + 1  # a line of the packed repository
    assert shared > pack_end, "the repository must sit before anything that changes between sessions"
    assert systems[0].find("Approval mode:") > pack_end and systems[0].find("today:") > pack_end
    assert "topic" in systems[1][shared:]
