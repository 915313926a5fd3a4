"""GPT-5.5 and GPT-5.5 Pro through the Responses API end to end, and one session moving between
DeepSeek (Chat Completions) and GPT-5.5 (Responses) and back."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from agent.outcome import Outcome
from fixtures import SCRIPTS_DIR
from fixtures.fakeapi import Script, ScriptedCall, ScriptedUsage, Turn
from tests.e2e import run_agent, sample, stream_events, summary
from tests.helpers import make_agent, of_type, tiny_png

USAGE = ScriptedUsage(prompt_tokens=50_000, cache_hit_tokens=40_000, cache_write_tokens=8_000,
                      completion_tokens=2_000, reasoning_tokens=1_500)
CALL_USD = Decimal("0.13")  # 10,000 × $5 + 40,000 × $0.50 + 2,000 × $30, per million
READ = ScriptedCall(name="read_file", arguments={"path": "README.md"})
LIST = ScriptedCall(name="list_files", arguments={"glob": "*"})


def kinds(request: dict) -> list[str]:
    return [item.get("type") or item["role"] for item in request.get("input", [])]


def test_fix_tests_with_gpt55_reasons_on_every_tool_turn_and_carries_reasoning(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    turns = [t.model_copy(update={"model": "gpt-5.5", "usage": USAGE})
             for t in Script.load(SCRIPTS_DIR / "fix_py_calc.json").turns]
    server = fake_api(turns)
    result = run_agent(["fix-tests", "--model", "gpt-5.5", "--approval", "full-auto", "--output", "json"],
                       workspace, server.base_url)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    out = summary(result)
    assert out["outcome"] == "done" and "return a + b" in (workspace / "calc.py").read_text()
    assert len(server.requests) == 5
    for n, request in enumerate(server.requests):
        assert request["reasoning"]["effort"] == "medium" and request["tools"]
        assert kinds(request).count("reasoning") == n  # every earlier turn's reasoning item came back
    assert server.violations == []  # the server checked every item's encrypted content and order
    assert out["models"]["gpt-5.5"]["calls"] == 5
    assert Decimal(str(out["models"]["gpt-5.5"]["usd"])) == 5 * CALL_USD


def test_run_with_gpt55_pro(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(model="gpt-5.5-pro", reasoning="Check the readme.", tool_calls=[READ]),
                       Turn(model="gpt-5.5-pro", content="It says hello.")])
    (tmp_path / "README.md").write_text("hello\n")
    result = run_agent(["run", "what does the readme say?", "--model", "gpt-5.5-pro", "--approval", "full-auto",
                        "--output", "stream-json"], tmp_path, server.base_url)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    events = stream_events(result)
    first = next(e for e in events if e.get("type") == "assistant.message")
    assert first["message"]["reasoning"] == "Check the readme."  # the summary, shown like DeepSeek's reasoning
    assert [r["reasoning"]["effort"] for r in server.requests] == ["high", "high"]
    assert kinds(server.requests[1]) == ["user", "reasoning", "function_call", "function_call_output"]
    assert server.violations == []


async def test_escalation_deepseek_to_gpt55_and_back_converts_the_conversation(repo: Path, fake_api) -> None:
    tiny_png(repo / "shot.png")
    look = ScriptedCall(name="view_image", arguments={"path": "shot.png", "question": "What does it show?"})
    server = fake_api([
        Turn(model="deepseek-v4-pro", reasoning="DeepSeek's own thoughts", tool_calls=[look]),
        Turn(model="gpt-5.5", content="A red error banner."),  # the vision sidecar
        Turn(model="deepseek-v4-pro", content="The screenshot shows an error."),
        Turn(model="gpt-5.5", reasoning="Read first.", tool_calls=[READ]),
        Turn(model="gpt-5.5", tool_calls=[LIST]),
        Turn(model="gpt-5.5", content="Escalated answer."),
        *[Turn(model="gpt-5.5", fault="503")] * 5,  # GPT-5.5 stays down: back to DeepSeek
        Turn(model="deepseek-v4-pro", content="Back on DeepSeek."),
    ])
    agent, pool, events = make_agent(repo, server.base_url, model=None, context={"enabled": False})
    assert await agent.run("look at shot.png") is Outcome.DONE
    assert agent.router.record_failed_attempt(2) is not None  # what fix-tests does after failed rounds
    assert await agent.run("now fix it properly") is Outcome.DONE
    assert await agent.run("and summarise") is Outcome.DONE
    await pool.aclose()
    assert server.violations == []
    vision = server.requests[1]
    assert vision["model"] == "gpt-5.5" and "input_image" in json.dumps(vision["input"])
    escalated = server.requests[3]
    assert escalated["model"] == "gpt-5.5" and escalated["reasoning"]["effort"] == "high"
    assert "reasoning_content" not in json.dumps(escalated) and "DeepSeek's own thoughts" not in json.dumps(escalated)
    assert kinds(escalated)[:4] == ["user", "function_call", "function_call_output", "assistant"]
    assert "image" not in json.dumps(escalated["input"][2])  # DeepSeek's tool result was text from the sidecar
    assert kinds(server.requests[4]).count("reasoning") == 1  # GPT-5.5's own reasoning carried
    back = server.requests[-1]
    assert back["model"] == "deepseek-v4-pro" and "input" not in back
    assistants = [m for m in back["messages"] if m["role"] == "assistant"]
    assert assistants[0]["reasoning_content"] == "DeepSeek's own thoughts"
    assert {a["reasoning_content"] for a in assistants[2:]} == {""}  # GPT-5.5's turns: nothing of OpenAI's
    assert sum(len(a.get("tool_calls") or []) for a in assistants) == 3
    assert [e.kind for e in of_type(events, "step.routed")].count("fallback") == 1


async def test_gpt55_edits_through_freeform_apply_patch_in_the_real_loop(repo: Path, fake_api) -> None:
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    patch = ("*** Begin Patch\n*** Update File: calc.py\n@@ def add(a, b):\n-    return a - b\n+    return a + b\n"
             "*** End Patch\n")
    server = fake_api([
        Turn(model="gpt-5.5", tool_calls=[ScriptedCall(name="read_file", arguments={"path": "calc.py"})]),
        Turn(model="gpt-5.5", reasoning="Flip the sign.", tool_calls=[ScriptedCall(name="apply_patch",
                                                                                 arguments=patch)]),
        Turn(model="gpt-5.5", content="Fixed `calc.py:2`."),
    ])
    agent, pool, _ = make_agent(repo, server.base_url, model="gpt-5.5", context={"enabled": False})
    try:
        assert await agent.run("fix add") is Outcome.DONE
    finally:
        await pool.aclose()
        agent.session.close()
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    first = server.requests[0]
    assert first["tools"][0]["type"] == "custom" and first["tools"][0]["name"] == "apply_patch"
    assert "Change files with `apply_patch`" in first["instructions"]  # GPT-5.5's prompt set
    assert kinds(server.requests[2])[-2:] == ["custom_tool_call", "custom_tool_call_output"]
    assert server.violations == []


async def test_deepseek_gets_edit_file_first_and_its_own_prompt_set(repo: Path, fake_api) -> None:
    server = fake_api([Turn(model="deepseek-v4-pro", content="nothing to do")])
    agent, pool, _ = make_agent(repo, server.base_url, model="deepseek-v4-pro", context={"enabled": False})
    try:
        assert await agent.run("look") is Outcome.DONE
    finally:
        await pool.aclose()
        agent.session.close()
    body = server.requests[0]
    assert [t["function"]["name"] for t in body["tools"]][:2] == ["edit_file", "read_file"]
    assert "Change part of a file with `edit_file`" in body["messages"][0]["content"]
    assert server.violations == []
