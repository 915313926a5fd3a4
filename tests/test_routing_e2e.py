"""Two models in one session: images through GPT-5.5, escalation, and spend per model."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent.outcome import Outcome
from fixtures.fakeapi import ScriptedCall, ScriptedUsage, Turn
from tests.e2e import run_agent, sample, stream_events, summary
from tests.helpers import make_agent, of_type, tiny_png
from tests.pinned_prices import pin_launch_prices
from tools import screenshot


def has_image(request: dict) -> bool:
    """An image part in a Chat Completions (image_url) or Responses (input_image) request."""
    text = json.dumps(request.get("messages") or request.get("input"))
    return '"image_url"' in text or '"input_image"' in text


async def test_view_image_goes_to_gpt55_and_deepseek_never_sees_it(repo: Path, fake_api) -> None:
    tiny_png(repo / "shot.png")
    server = fake_api([
        Turn(model="deepseek-v4-pro", tool_calls=[ScriptedCall(name="view_image", arguments={
            "path": "shot.png", "question": "What colour is the error banner?"})]),
        Turn(model="gpt-5.5", content="The banner is red and reads 'Build failed'."),
        Turn(model="deepseek-v4-pro", content="The banner is red.")])
    agent, pool, events = make_agent(repo, server.base_url)
    assert await agent.run("check the screenshot") is Outcome.DONE
    await pool.aclose()
    vision_request = server.requests[1]
    assert vision_request["model"] == "gpt-5.5" and has_image(vision_request)
    assert "tools" not in vision_request
    assert not any(has_image(r) for r in server.requests if r["model"].startswith("deepseek"))
    tool_answer = next(m for m in server.requests[2]["messages"] if m["role"] == "tool")["content"]
    assert tool_answer == "The banner is red and reads 'Build failed'."
    routed = of_type(events, "step.routed")
    assert routed[0].kind == "vision" and routed[0].model == "gpt-5.5" and "text only" in routed[0].reason
    assert routed[0].role == "vision"
    assert set(agent.session.ledger.by_model()) == {"deepseek-v4-pro", "gpt-5.5"}
    assert [(r.model, r.role) for r in agent.session.ledger.records] == [
        ("deepseek-v4-pro", "execute"), ("gpt-5.5", "vision"), ("deepseek-v4-pro", "execute")]
    assert [e.role for e in of_type(events, "turn.started")] == ["execute", "execute"]
    assert server.violations == []


async def test_view_image_refuses_non_images(repo: Path, fake_api) -> None:
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="view_image", arguments={
        "path": "README.md", "question": "?"})]), Turn(content="ok")])
    agent, pool, _ = make_agent(repo, server.base_url)
    await agent.run("look")
    await pool.aclose()
    assert "not a PNG, JPEG, GIF or WebP" in next(m for m in server.requests[1]["messages"] if m["role"] == "tool")[
        "content"]
    assert len(server.requests) == 2


async def test_screenshot_without_chromium_says_so(repo: Path, fake_api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screenshot, "find_browser", lambda *_workspace: None)
    (repo / "page.html").write_text("<h1>hi</h1>")
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="screenshot", arguments={
        "target": "page.html", "question": "?"})]), Turn(content="ok")])
    agent, pool, _ = make_agent(repo, server.base_url)
    await agent.run("look")
    await pool.aclose()
    answer = next(m for m in server.requests[1]["messages"] if m["role"] == "tool")["content"]
    assert "need Chromium" in answer and "apt-get install chromium" in answer


def test_attached_image_is_described_by_gpt55_for_deepseek(tmp_path: Path, fake_api) -> None:
    tiny_png(tmp_path / "mockup.png")
    server = fake_api([Turn(model="gpt-5.5", content="A login form with a red 'Sign in' button."),
                       Turn(model="deepseek-v4-pro", content="Noted.")])
    result = run_agent(["run", "build this form", "--image", "mockup.png", "--output", "json"], tmp_path,
                       server.base_url)
    assert result.returncode == 0, result.stderr
    assert has_image(server.requests[0]) and server.requests[0]["model"] == "gpt-5.5"
    user = server.requests[1]["messages"][1]["content"]
    assert isinstance(user, str) and "red 'Sign in' button" in user and "mockup.png" in user
    assert set(summary(result)["models"]) == {"gpt-5.5", "deepseek-v4-pro"}
    assert server.violations == []


def test_missing_image_is_a_usage_error(tmp_path: Path, fake_api) -> None:
    server = fake_api([])
    result = run_agent(["run", "x", "--image", "nope.png"], tmp_path, server.base_url)
    assert result.returncode == 2 and "nope.png" in result.stderr


def test_escalation_after_failed_attempts_is_reported_and_fixes(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    read = ScriptedCall(name="read_file", arguments={"path": "calc.py"})
    fix = ScriptedCall(name="edit_file", arguments={"path": "calc.py", "old_string": "return a - b",
                                                    "new_string": "return a + b"})
    server = fake_api([Turn(model="deepseek-v4-pro", content="Looks fine to me."),
                       Turn(model="deepseek-v4-pro", content="Still looks fine."),
                       Turn(model="gpt-5.5", tool_calls=[read, fix]), Turn(model="gpt-5.5", content="Fixed add().")])
    result = run_agent(["fix-tests", "--approval", "full-auto", "--output", "stream-json"], workspace,
                       server.base_url)
    assert result.returncode == 0, result.stdout[-2000:]
    events = stream_events(result)
    escalation = [e for e in events if e.get("type") == "step.routed" and e["kind"] == "escalation"]
    assert len(escalation) == 1 and escalation[0]["model"] == "gpt-5.5"
    assert set(events[-1]["models"]) == {"deepseek-v4-pro", "gpt-5.5"}
    assert server.violations == []  # DeepSeek's reasoning never went to OpenAI


def test_cost_report_matches_hand_computation(tmp_path: Path, fake_api) -> None:
    ds = ScriptedUsage(prompt_tokens=120_000, cache_hit_tokens=100_000, completion_tokens=3_000)
    gpt = ScriptedUsage(prompt_tokens=50_000, cache_hit_tokens=40_000, completion_tokens=2_000)
    server = fake_api([Turn(content="a", usage=ds), Turn(content="b", usage=gpt)])
    pin_launch_prices(tmp_path)
    assert run_agent(["run", "one"], tmp_path, server.base_url).returncode == 0
    assert run_agent(["run", "two", "--model", "gpt-5.5"], tmp_path, server.base_url).returncode == 0
    report = json.loads(run_agent(["cost", "--output", "json"], tmp_path).stdout)
    assert report["sessions"] == 2
    assert Decimal(report["models"]["deepseek-v4-pro"]["usd_exact"]) == Decimal("0.05974")
    assert Decimal(report["models"]["gpt-5.5"]["usd_exact"]) == Decimal("0.13")
    # V4-Pro's tokens on GPT-5.5: 20,000 × 5 + 100,000 × 0.5 + 3,000 × 30 = 0.1 + 0.05 + 0.09 = 0.24
    assert Decimal(report["all_on_reference_usd"]) == Decimal("0.37")
    assert Decimal(report["saved_usd"]) == Decimal("0.37") - Decimal("0.18974")
    text = run_agent(["cost"], tmp_path)
    assert text.returncode == 0 and "routing saved $0.1803" in text.stdout
