"""The one result object, its JSON Schema, and no silent success when the approval mode refused the work."""

from __future__ import annotations

import json
from pathlib import Path

from agent.result import json_schema
from fixtures.fakeapi import ScriptedCall, Turn
from tests.e2e import run_agent, sample, stream_events, summary

EDIT_CALC = ScriptedCall(name="edit_file", arguments={
    "path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"})
READ_CALC = ScriptedCall(name="read_file", arguments={"path": "calc.py"})
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "agent" / "result.schema.json"


def test_the_schema_file_matches_the_result_model() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), (
        "regenerate it: python -m agent.result > agent/result.schema.json")


def test_json_prints_one_result_with_claude_code_fields(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(tool_calls=[READ_CALC, EDIT_CALC]), Turn(content="Fixed add().")])
    result = run_agent(["run", "fix add", "--approval", "full-auto", "--output", "json"], workspace,
                       server.base_url)
    assert result.returncode == 0, result.stderr
    out = summary(result)  # json.loads of the whole stdout: exactly one object
    assert (out["type"], out["subtype"], out["is_error"], out["exit_code"]) == ("result", "success", False, 0)
    assert out["result"] == "Fixed add()." and out["num_turns"] == 2
    assert out["files_changed"] == {"calc.py": "modified"} and out["permission_denials"] == []
    assert out["total_cost_usd"] == out["models"]["deepseek-v4-pro"]["usd"] > 0
    assert out["usage"]["input_tokens"] == out["models"]["deepseek-v4-pro"]["input_tokens"]
    assert 0 < out["duration_api_ms"] <= out["duration_ms"]


def test_errors_before_the_run_still_print_a_result(tmp_path: Path) -> None:
    cases = [(["run", "x"], {"key": False}), (["run", "--max-turns", "-1", "x"], {}),
             (["fix-tests"], {}), (["resume", "--last", "hi"], {})]
    for args, kwargs in cases:
        for mode in ("json", "stream-json"):
            result = run_agent([*args, "--output", mode], tmp_path, **kwargs)
            assert result.returncode == 2, (args, result.stderr)
            out = summary(result) if mode == "json" else stream_events(result)[-1]
            assert out["is_error"] is True and out["exit_code"] == 2 and out["outcome"] == "config_error"
            assert out["message"] and out["message"] in result.stderr
            assert result.stderr.strip().count("\n") == 0
    assert not (tmp_path / ".duet" / "sessions").exists()


def test_stream_json_names_the_session_on_every_line_and_ends_with_the_result(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="list_files")]), Turn(content="two files")])
    result = run_agent(["run", "look", "--output", "stream-json", "--model", "deepseek-v4-flash"], tmp_path,
                       server.base_url)
    assert result.returncode == 0, result.stderr
    lines = stream_events(result)  # validates each line and the single session id
    init = lines[0]
    assert init["model"] == "deepseek-v4-flash" and init["cwd"] == str(tmp_path) and init["duet_version"]
    assert lines[-1]["result"] == "two files" and lines[-1]["num_turns"] == 2
    assert [line["type"] for line in lines].count("result") == 1


def test_default_approval_run_that_needed_edits_is_a_permission_error(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(tool_calls=[READ_CALC, EDIT_CALC]), Turn(content="I fixed it.")])
    result = run_agent(["run", "fix the failing test in calc"], workspace, server.base_url)
    assert result.returncode == 1
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("permission_denied (exit 1)") and "rerun with --approval auto-edit" in last
    assert result.stdout.count("needs approval") == 1  # the refusal prints once
    assert "denied by the user" not in result.stdout
    assert "a - b" in (workspace / "calc.py").read_text()
    as_json = run_agent(["run", "fix the failing test in calc", "--output", "json"], workspace,
                        fake_api([Turn(tool_calls=[READ_CALC, EDIT_CALC]), Turn(content="I fixed it.")]).base_url)
    out = summary(as_json)
    assert as_json.returncode == 1 and out["subtype"] == "error_permission" and out["is_error"] is True
    denial = out["permission_denials"][0]
    assert denial["tool_name"] == "edit_file" and denial["tool_input"]["path"] == "calc.py"
    assert "--approval auto-edit" in denial["reason"]


def test_a_refused_command_names_full_auto(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="shell", arguments={"command": "touch x"})]),
                       Turn(content="done")])
    out = summary(run_agent(["run", "make x", "--approval", "auto-edit", "--output", "json"], tmp_path,
                            server.base_url))
    assert out["subtype"] == "error_permission" and "rerun with --approval full-auto" in out["message"]
    assert out["exit_code"] == 1


def test_fix_tests_stops_without_escalating_when_its_commands_are_refused(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    run_tests = ScriptedCall(name="shell", arguments={"command": "python -m pytest -q"})
    server = fake_api([Turn(model="deepseek-v4-pro", tool_calls=[READ_CALC, run_tests]),
                       Turn(model="deepseek-v4-pro", content="Done."),
                       Turn(model="gpt-5.5", content="never reached")])
    result = run_agent(["fix-tests", "--approval", "auto-edit", "--output", "stream-json"], workspace,
                       server.base_url)
    assert result.returncode == 1
    lines = stream_events(result)
    assert not any(e["type"] == "step.routed" for e in lines)
    assert len(server.requests) == 2 and {r["model"] for r in server.requests} == {"deepseek-v4-pro"}
    out = lines[-1]
    assert out["subtype"] == "error_permission" and "--approval full-auto" in out["message"]
    assert out["tests_before"]["passed"] is False and out["tests_after"]["passed"] is False
