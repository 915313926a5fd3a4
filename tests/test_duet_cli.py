"""`agent review` on the current diff, and fallback across vendors (announced with its price ratio, or off)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fixtures.fakeapi import Turn
from fixtures.fakeapi.competence import Rule, Scenario, plain_text
from tests.conftest import git
from tests.e2e import run_agent, sample, stream_events, summary

APPROVE = '{"verdict": "approve", "findings": []}'
CHANGES = ('Findings first.\n```json\n{"verdict": "request_changes", "findings": [{"severity": "high", '
           '"file": "calc.py", "message": "mean([]) still raises"}]}\n```')


def reviewer(answer: str) -> Scenario:
    return Scenario(name="reviewer", rules=[Rule(role="review", turns=[Turn(model="gpt-5.5", content=answer)])])


def test_agent_review_exit_codes_follow_the_verdict(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    calc = workspace / "calc.py"
    calc.write_text(calc.read_text().replace("return a - b", "return a + b"))
    approve = fake_api(scenarios=[reviewer(APPROVE)])
    ok = run_agent(["review"], workspace, approve.base_url)
    assert ok.returncode == 0 and "gpt-5.5: approve" in ok.stdout, ok.stderr
    sent = plain_text(approve.requests[0])
    assert "# Review brief" in sent and "+    return a + b" in sent and "The whole repository is below" not in sent
    changes = fake_api(scenarios=[reviewer(CHANGES)])
    asked = run_agent(["review", "--output", "json"], workspace, changes.base_url)
    assert asked.returncode == 1
    verdict = json.loads(asked.stdout)
    assert verdict["verdict"] == "request_changes" and verdict["findings"][0]["message"] == "mean([]) still raises"
    assert approve.violations == changes.violations == []


def test_agent_review_bad_input_exits_2_with_one_line(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api(scenarios=[reviewer(APPROVE)])
    clean = run_agent(["review"], workspace, server.base_url)
    assert clean.returncode == 2 and "nothing to review" in clean.stderr
    (workspace / "calc.py").write_text("changed\n")
    bad_ref = run_agent(["review", "--base", "no-such-ref"], workspace, server.base_url)
    assert bad_ref.returncode == 2 and len(bad_ref.stderr.strip().splitlines()) == 1
    assert "no such commit 'no-such-ref' (--base)" in bad_ref.stderr
    assert "Traceback" not in bad_ref.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    outside = run_agent(["review", "-C", str(plain)], plain, server.base_url)
    assert outside.returncode == 2 and "Traceback" not in outside.stderr
    assert server.requests == []


def test_agent_review_base_ref_reviews_committed_work(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    calc = workspace / "calc.py"
    calc.write_text(calc.read_text().replace("return a - b", "return a + b"))
    git(workspace, "commit", "-qam", "fix add")
    server = fake_api(scenarios=[reviewer(APPROVE)])
    result = run_agent(["review", "--base", "HEAD~1"], workspace, server.base_url)
    assert result.returncode == 0, result.stderr
    assert "+    return a + b" in plain_text(server.requests[0])


DOWN = [Turn(fault="503")] * 4  # the first attempt and FAST_RETRIES' three retries


def test_fallback_across_vendors_is_announced_with_the_price_ratio(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([*DOWN, Turn(model="gpt-5.5", content="done")])
    result = run_agent(["run", "say done", "--output", "stream-json"], workspace, server.base_url)
    assert result.returncode == 0, result.stdout[-2000:]
    events = stream_events(result)
    lines = [e["message"] for e in events if e["type"] == "notice" and "falling back" in e["message"]]
    assert len(lines) == 1
    assert re.fullmatch(r"deepseek-v4-pro unavailable: falling back to gpt-5\.5 at ~\d+(\.\d)?× the price", lines[0])
    final = events[-1]
    assert [c["role"] for c in final["calls"]] == ["execute"] and final["calls"][0]["model"] == "gpt-5.5"


def test_no_fallback_ends_the_run_unavailable(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([*DOWN, Turn(model="gpt-5.5", content="done")])
    result = run_agent(["run", "say done", "--no-fallback", "--output", "json"], workspace, server.base_url)
    assert result.returncode == 5 and summary(result)["outcome"] == "provider_unavailable"
    assert {r["model"] for r in server.requests} == {"deepseek-v4-pro"}
    (workspace / ".duet/config.toml").write_text("fallback = false\n" + (workspace / ".duet/config.toml").read_text())
    again = fake_api([*DOWN, Turn(model="gpt-5.5", content="done")])
    assert run_agent(["run", "say done", "--output", "json"], workspace, again.base_url).returncode == 5


def test_fallback_counts_against_the_budget_preflight(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([*DOWN, Turn(model="gpt-5.5", content="done")])
    # Enough for V4-Pro's first call, not for GPT-5.5's uncached prompt.
    result = run_agent(["run", "say done", "--max-cost", "0.02", "--output", "json"], workspace, server.base_url)
    out = summary(result)
    assert result.returncode == 3 and "fallback to gpt-5.5" in out["message"]
    assert {r["model"] for r in server.requests} == {"deepseek-v4-pro"}
