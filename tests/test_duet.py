"""The duet through the real loop, the installed `agent` and the fake server over HTTP: a plan reaches the driver,
a review's requested changes are acted on, side calls carry a shaped context (never the pack), models differ
in competence by role (fixtures/fakeapi/scenarios)."""

from __future__ import annotations

from pathlib import Path

from fixtures.fakeapi import ScriptedCall, Turn
from fixtures.fakeapi.competence import Rule, Scenario, plain_text
from tests.e2e import run_agent, sample, stream_events, summary

PACK = "The whole repository is below"  # prompts/context_pack.md: only the driver's context holds it
READ = ScriptedCall(name="read_file", arguments={"path": "calc.py"})
FIX = ScriptedCall(name="edit_file", arguments={"path": "calc.py", "old_string": "    return a - b",
                                                "new_string": "    return a + b"})


def texts(server, role: str) -> list[str]:
    return [plain_text(r) for r, played in zip(server.requests, server.roles, strict=True) if played == role]


def test_fix_tests_duet_plan_reaches_the_flash_driver_which_then_fixes_what_alone_it_gets_wrong(
        tmp_path: Path, fake_api) -> None:
    scenario = Scenario.named("py_calc_add")
    duet_ws = sample("py_calc", tmp_path / "duet")
    server = fake_api(scenarios=[scenario])
    result = run_agent(["fix-tests", "--route", "duet", "--approval", "full-auto", "--output", "json"], duet_ws,
                       server.base_url)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = summary(result)
    assert out["tests_after"]["passed"] is True and "return a + b" in (duet_ws / "calc.py").read_text()
    plans, drives, reviews = texts(server, "plan"), texts(server, "execute"), texts(server, "review")
    assert len(plans) == 1 and len(reviews) == 1
    assert "test_add" in plans[0] and PACK not in plans[0]  # the failing output, no pack
    assert "calc.py add() subtracts" in drives[0] and PACK in drives[0]  # the plan, as text, beside the pack
    assert PACK not in reviews[0] and "return a + b" in reviews[0] and "2 passed" in reviews[0]
    assert out["review"]["verdict"] == "approve" and out["review"]["rounds"] == 1
    roles = {c["role"] for c in out["calls"]}
    assert roles == {"plan", "execute", "review"}
    assert server.violations == []

    alone_ws = sample("py_calc", tmp_path / "cheap")
    alone = fake_api(scenarios=[scenario])
    cheap = run_agent(["fix-tests", "--route", "cheap", "--approval", "full-auto", "--rounds", "1", "--output",
                       "json"], alone_ws, alone.base_url)
    assert cheap.returncode == 1 and "return b - a" in (alone_ws / "calc.py").read_text()  # the wrong fix


def _review_scenario() -> Scenario:
    return Scenario.named("py_calc_review_missing_case")


def test_review_requests_changes_the_driver_acts_on_them_then_approves(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api(scenarios=[_review_scenario()])
    result = run_agent(["run", "fix add() in calc.py", "--route", "duet", "--approval", "full-auto", "--output",
                        "stream-json"], workspace, server.base_url)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    events = stream_events(result)
    reviews = [e for e in events if e["type"] == "review.done"]
    assert [r["verdict"] for r in reviews] == ["request_changes", "approve"]
    assert reviews[0]["findings"][0]["file"] == "calc.py" and reviews[0]["findings"][0]["severity"] == "high"
    drives = texts(server, "execute")
    assert len(drives) == 4  # two driver rounds of two calls each
    assert "mean() of an empty list must return 0.0" in drives[2]  # the findings went back to the driver
    assert "return 0.0" in (workspace / "calc.py").read_text()
    final = events[-1]
    assert final["review"] == {"model": "gpt-5.5", "verdict": "approve", "findings": [], "rounds": 2}
    from agent.cli.step_summary import step_summary_markdown
    from agent.result import RunResult

    markdown = step_summary_markdown(RunResult.model_validate(final), "run")
    assert "Review by `gpt-5.5`: **approve** after 2 reviews" in markdown
    assert all(PACK not in t for t in texts(server, "review") + texts(server, "plan"))
    assert server.violations == []


def test_review_rounds_are_bounded_and_the_verdict_recorded(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    scenario = _review_scenario()
    scenario.rules.pop(1)  # the reviewer never approves
    (workspace / ".duet/config.toml").write_text("review_rounds = 1\n" + (workspace / ".duet/config.toml").read_text())
    server = fake_api(scenarios=[scenario])
    result = run_agent(["run", "fix add() in calc.py", "--route", "duet", "--approval", "full-auto", "--output",
                        "json"], workspace, server.base_url)
    out = summary(result)
    assert out["review"] is not None, out["message"] + result.stderr
    assert out["review"]["verdict"] == "request_changes" and out["review"]["rounds"] == 2
    assert len(texts(server, "review")) == 2 and len(texts(server, "execute")) == 4


def test_malformed_review_is_asked_once_more_then_no_verdict(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    scenario = Scenario(name="mumbling_reviewer", rules=[
        Rule(role="plan", turns=[Turn(content="fix add")]),
        Rule(role="review", turns=[Turn(content="I think it is fine overall."),
                                   Turn(content="{verdict: approve")]),
        Rule(role="execute", turns=[Turn(tool_calls=[READ, FIX]), Turn(content="Fixed.")])])
    server = fake_api(scenarios=[scenario])
    result = run_agent(["run", "fix add", "--route", "duet", "--approval", "full-auto", "--output", "json"],
                       workspace, server.base_url)
    out = summary(result)
    assert result.returncode == 0 and out["review"]["verdict"] == "none"
    assert len(texts(server, "review")) == 2


def test_escalation_hands_a_shaped_brief_not_the_conversation(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(model="deepseek-v4-pro", content="Looks fine to me."),
                       Turn(model="deepseek-v4-pro", content="Still looks fine."),
                       Turn(model="gpt-5.5", tool_calls=[READ, FIX]), Turn(model="gpt-5.5", content="Fixed add().")])
    result = run_agent(["fix-tests", "--approval", "full-auto", "--output", "json"], workspace, server.base_url)
    assert result.returncode == 0, result.stdout[-3000:]
    first, escalated = server.requests[0], server.requests[2]
    assert PACK in plain_text(first)  # the driver had the pack…
    text = plain_text(escalated)
    assert "# Escalation brief" in text and PACK not in text  # …the escalation has a brief
    assert "Looks fine to me." in text and "still fails" not in text.split("# Escalation brief")[0]
    users = [m for m in escalated["input"] if m.get("role") == "user"]
    assert len(users) == 1  # the brief alone, not the conversation's three prompts
    assert "test_add" in text
    out = summary(result)
    assert [c["role"] for c in out["calls"]] == ["execute", "execute", "escalate", "escalate"]
    assert server.violations == []


def test_plan_is_skipped_with_a_notice_when_the_budget_cannot_carry_it(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api(scenarios=[_review_scenario()])
    result = run_agent(["run", "fix add() in calc.py", "--route", "duet", "--max-cost", "0.000001", "--output",
                        "stream-json"], workspace, server.base_url)
    events = stream_events(result)
    assert any(e["type"] == "notice" and "the plan skipped: budget" in e["message"] for e in events)
    assert texts(server, "plan") == []
