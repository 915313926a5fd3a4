"""`agent fix-tests` end to end: the installed command, a sample repository, the scripted fake model."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from fixtures import SCRIPTS_DIR
from fixtures.fakeapi import Script, ScriptedCall, ScriptedUsage, Turn
from tests.e2e import run_agent, sample, stream_events, summary
from tests.pinned_prices import pin_launch_prices

PY_TEST_CMD = "python -m pytest -q"


def script(name: str) -> list[Turn]:
    return Script.load(SCRIPTS_DIR / name).turns


def test_fix_tests_python_detects_pytest_and_fixes_the_bug(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api(script("fix_py_calc.json"))
    result = run_agent(["fix-tests", "--approval", "full-auto", "--output", "json"], workspace, server.base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    out = summary(result)
    assert out["outcome"] == "done"
    assert out["tests_before"]["passed"] is False and "1 failed" in out["tests_before"]["summary"]
    assert out["tests_after"]["passed"] is True and "2 passed" in out["tests_after"]["summary"]
    assert out["tests_before"]["command"] == PY_TEST_CMD
    assert out["files_changed"] == {"calc.py": "modified"}
    assert out["models"]["deepseek-v4-pro"]["calls"] == 5 and out["total_cost_usd"] > 0
    assert "return a + b" in (workspace / "calc.py").read_text()
    assert server.violations == []
    # the failing test output reached the model in the first request
    assert "test_add" in server.requests[0]["messages"][1]["content"]


def test_fix_tests_survives_429_cut_stream_and_malformed_arguments(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    turns = script("fix_py_calc.json")
    bad_edit = Turn(tool_calls=[ScriptedCall(name="edit_file", arguments='{"path": "calc.py", "old_string": ')])
    faulty = [Turn(fault="429", retry_after=0.2), turns[0], Turn(fault="cut"), turns[1], bad_edit, turns[2],
              Turn(fault="503"), *turns[3:]]
    server = fake_api(faulty)
    result = run_agent(["fix-tests", "--approval", "full-auto", "--output", "stream-json"], workspace,
                       server.base_url)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    events = stream_events(result)
    finished = [e for e in events if e.get("type") == "tool.finished"]
    assert any("not valid JSON" in e["output"] for e in finished)
    assert sum(1 for e in events if e.get("type") == "notice" and "retry" in e["message"]) >= 3
    assert "return a + b" in (workspace / "calc.py").read_text()
    assert server.violations == []


@pytest.mark.skipif(shutil.which("npm") is None or shutil.which("node") is None, reason="node/npm not installed")
def test_fix_tests_javascript_with_npm_test(tmp_path: Path, fake_api) -> None:
    workspace = sample("js_slug", tmp_path)
    server = fake_api(script("fix_js_slug.json"))
    result = run_agent(["fix-tests", "--approval", "full-auto", "--output", "json"], workspace, server.base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    out = summary(result)
    assert out["tests_before"]["command"] == "npm test" and out["tests_after"]["passed"] is True
    assert "'-')" in (workspace / "slug.js").read_text()


def test_model_giving_up_exits_1_with_tests_still_failing(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(content="I cannot fix this.")] * 2)
    result = run_agent(["fix-tests", "--rounds", "2", "--approval", "auto-edit", "--output", "json"], workspace,
                       server.base_url)
    assert result.returncode == 1
    out = summary(result)
    assert out["outcome"] == "not_done" and out["tests_after"]["passed"] is False
    assert "still fails" in server.requests[1]["messages"][-1]["content"]


def test_tiny_budget_exits_3_within_one_call(tmp_path: Path, fake_api) -> None:
    workspace = pin_launch_prices(sample("py_calc", tmp_path))
    # Each call costs exactly $0.0400 on V4-Pro; the budget allows about two.
    usage = ScriptedUsage(prompt_tokens=100_000, cache_hit_tokens=90_000, completion_tokens=2_000)
    server = fake_api([t.model_copy(update={"usage": usage}) for t in script("fix_py_calc.json")])
    result = run_agent(["fix-tests", "--approval", "full-auto", "--max-cost", "0.07", "--output", "json"],
                       workspace, server.base_url)
    assert result.returncode == 3, result.stdout + result.stderr
    out = summary(result)
    assert out["outcome"] == "budget_exhausted"
    assert Decimal(out["total_usd_exact"]) <= Decimal("0.07") + Decimal("0.04")
    assert out["models"]["deepseek-v4-pro"]["calls"] == len(server.requests)


def test_hostile_commands_and_paths_are_contained(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    outside = tmp_path / "outside.txt"
    calls = [
        ScriptedCall(name="shell", arguments={"command": "sleep 600", "timeout_s": 1}),
        ScriptedCall(name="shell", arguments={"command": "python3 -c 'print(input())'"}),
        ScriptedCall(name="shell", arguments={"command": "yes 'spam spam spam' | head -c 40000000"}),
        ScriptedCall(name="write_file", arguments={"path": "../outside.txt", "content": "escaped"}),
        ScriptedCall(name="edit_file", arguments={"path": str(outside), "old_string": "a", "new_string": "b"}),
        ScriptedCall(name="shell", arguments={"command": f"echo escaped > {outside}"}),
    ]
    server = fake_api([Turn(tool_calls=calls), Turn(content="done")])
    result = run_agent(["run", "misbehave", "--approval", "full-auto", "--output", "stream-json"], workspace,
                       server.base_url, timeout=60)
    assert result.returncode == 0, result.stderr
    outputs = [e["output"] for e in stream_events(result) if e.get("type") == "tool.finished"]
    assert "timed out after 1 s" in outputs[0]
    assert "EOFError" in outputs[1]
    assert len(outputs[2]) < 32_000 and "cut from the middle" in outputs[2]
    assert "'..' is not allowed" in outputs[3]
    assert "absolute paths are not allowed" in outputs[4]
    assert "writes outside the workspace" in outputs[5]
    assert not outside.exists()
    assert server.violations == []


def test_fix_tests_in_a_mode_that_refuses_every_edit_stops_before_spending(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(content="never reached")])
    for mode in ("ask", "read-only"):
        result = run_agent(["fix-tests", "--approval", mode, "--output", "json"], workspace, server.base_url)
        assert result.returncode == 2, result.stderr
        assert "--approval auto-edit" in result.stderr and result.stderr.strip().count("\n") == 0
        assert summary(result)["outcome"] == "config_error"
    assert server.requests == []
