"""`--route auto` end to end against the fake server: `agent eval --route ...` writes routing.toml, `agent run
--route auto` follows it per tag (or asks one classification call), `agent eval --route auto` evaluates the policy,
and the counterfactual in the result and in `agent cost` is exact against the ledger."""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path

from agent.spend.prices import PriceTable
from agent.spend.report import session_usage
from fixtures.fakeapi import FakeAPI, Script, ScriptedUsage, Turn
from tests.e2e import agent_bin, run_agent, summary
from tests.pinned_prices import pin_launch_prices
from tests.test_eval import FIXTURES_DIR, SUITE, eval_env, rows_of, run_eval

USAGE = ScriptedUsage(prompt_tokens=120_000, cache_hit_tokens=100_000, completion_tokens=3_000)
CLASSIFY_USAGE = ScriptedUsage(prompt_tokens=1_000, completion_tokens=2)
QUESTION = "Which kind is this task?"  # the classifier's question (prompts/route_classify_question.md)
POLICY = """version = 1
default = "balanced"

[tags.bugfix]
profile = "cheap"
description = "a failing test or a wrong result to fix"

[tags.feature]
profile = "balanced"
description = "new behaviour to add"
"""


def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(POLICY)
    return path


def test_eval_of_two_profiles_writes_routing_toml_and_merge_writes_it_again(tmp_path: Path) -> None:
    fake = FakeAPI(Script.load(FIXTURES_DIR / "eval" / "fakeapi.json")).start()
    env = eval_env(fake.base_url)
    try:
        done = run_eval([agent_bin(), "eval", str(SUITE), "--route", "cheap,balanced", "--jobs", "2",
                         "--out", str(tmp_path / "out")], env)
        assert done.returncode == 0, done.stderr
        merged = run_eval([agent_bin(), "eval", "merge", str(tmp_path / "out"), "--out", str(tmp_path / "all")], env)
        assert merged.returncode == 0, merged.stderr
    finally:
        fake.stop()
    assert "routing policy:" in done.stderr
    text = (tmp_path / "out" / "routing.toml").read_text()
    policy = tomllib.loads(text)
    # Both profiles play the same script: the same pass rates, so the cheaper one serves every tag.
    assert policy["default"] == "cheap"
    assert policy["tags"]["bugfix"]["profile"] == "cheap" and policy["tags"]["feature"]["profile"] == "cheap"
    assert "#   cheap       3 runs  2/3 = 67% (95% CI 21%–94%)" in text
    rows = rows_of(tmp_path / "out")
    assert {r["route"] for r in rows} == {"cheap", "balanced"}
    assert all(set(r["roles"]) == {"execute"} for r in rows)
    fixed = next(r for r in rows if r["config"] == "cheap" and r["task"] == "stats-mean")
    assert Decimal(fixed["roles"]["execute"]) == Decimal(fixed["cost_usd_exact"]) > 0
    assert tomllib.loads((tmp_path / "all" / "routing.toml").read_text())["tags"] == policy["tags"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Routing policy (routing.toml)" in report and "## Dollars per role" in report
    page = (tmp_path / "out" / "report.html").read_text()  # the page carries the same sections
    assert "<h2>Routing policy (routing.toml)</h2>" in page and "<h2>Dollars per role</h2>" in page
    assert "lower 95% Wilson bound" in page


def test_eval_of_auto_follows_the_policy_per_task_tag(tmp_path: Path) -> None:
    fake = FakeAPI(Script.load(FIXTURES_DIR / "eval" / "fakeapi.json")).start()
    env = eval_env(fake.base_url)
    try:
        done = run_eval([agent_bin(), "eval", str(SUITE), "--route", "auto", "--routing", str(policy_file(tmp_path)),
                         "--out", str(tmp_path / "out")], env)
        assert done.returncode == 0, done.stderr
        no_auto = run_eval([agent_bin(), "eval", str(SUITE), "--route", "cheap", "--routing",
                            str(policy_file(tmp_path)), "--out", str(tmp_path / "x")], env)
    finally:
        fake.stop()
    routed = {r["task"]: (r["routed_profile"], sorted(r["models"])) for r in rows_of(tmp_path / "out")}
    assert routed == {"stats-mean": ("cheap", ["deepseek-v4-flash"]),       # bugfix
                      "greet-shout": ("balanced", ["deepseek-v4-pro"]),     # feature
                      "dates-spoken": ("cheap", ["deepseek-v4-flash"])}     # bugfix first
    assert not (tmp_path / "out" / "routing.toml").exists()  # auto is what a policy is made into, not a candidate
    assert no_auto.returncode == 2 and "add auto to --route" in no_auto.stderr


def test_run_auto_follows_the_tag_given(tmp_path: Path, fake_api) -> None:
    pin_launch_prices(tmp_path)
    server = fake_api([Turn(content="done", usage=USAGE)])
    run = run_agent(["run", "fix it", "--route", "auto", "--routing", str(policy_file(tmp_path)), "--tag", "bugfix",
                     "--output", "json"], tmp_path, server.base_url)
    assert run.returncode == 0, run.stderr
    result = summary(run)
    assert result["route_choice"]["profile"] == "cheap" and result["route_choice"]["tag_source"] == "flag"
    assert list(result["models"]) == ["deepseek-v4-flash"] and len(server.requests) == 1  # no classification


def test_run_auto_classifies_an_untagged_task_with_one_cheap_call_and_counts_it(tmp_path: Path, fake_api) -> None:
    pin_launch_prices(tmp_path)
    server = fake_api([Turn(content="done", usage=USAGE)],
                      conversations={QUESTION: [Turn(content="bugfix", usage=CLASSIFY_USAGE)]})
    run = run_agent(["run", "the mean of [1, 2, 3] comes out wrong", "--route", "auto", "--routing",
                     str(policy_file(tmp_path)), "--output", "json"], tmp_path, server.base_url)
    assert run.returncode == 0, run.stderr
    assert server.violations == []
    classify_request = server.requests[0]
    assert classify_request["model"] == "deepseek-v4-flash" and not classify_request.get("tools")
    prompt = json.dumps(classify_request["messages"])
    assert "a failing test or a wrong result to fix" in prompt and "the mean of [1, 2, 3]" in prompt
    result = summary(run)
    choice = result["route_choice"]
    assert (choice["profile"], choice["tag"], choice["tag_source"]) == ("cheap", "bugfix", "classified")
    # 1,000 in × 0.14 + 2 out × 0.28 per million (flash's pinned launch row)
    assert Decimal(choice["classify_usd_exact"]) == Decimal("0.00014056")
    assert Decimal(result["counterfactual"]["roles"]["classify"]["usd_exact"]) == Decimal("0.00014056")
    # the driver: flash (cheap's), 20,000 × 0.14 + 100,000 × 0.028 + 3,000 × 0.28 per million
    assert Decimal(result["counterfactual"]["roles"]["execute"]["usd_exact"]) == Decimal("0.00644")
    server.add(Turn(content="done", usage=USAGE))
    stream = run_agent(["run", "another wrong result", "--route", "auto", "--routing", str(policy_file(tmp_path)),
                        "--output", "stream-json"], tmp_path, server.base_url)
    assert server.violations == []
    events = [json.loads(line) for line in stream.stdout.splitlines()]
    assert any(e["type"] == "step.routed" and e["kind"] == "classify" for e in events)


def test_run_auto_with_no_policy_is_balanced_said_once(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="done", usage=USAGE)])
    run = run_agent(["run", "do it", "--route", "auto", "--output", "stream-json"], tmp_path, server.base_url,
                    env_extra={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    said = [e for e in events if e["type"] == "notice" and "no routing policy found" in e["message"]]
    assert len(said) == 1 and "'balanced'" in said[0]["message"]
    assert events[-1]["route_choice"]["profile"] == "balanced"
    assert list(events[-1]["models"]) == ["deepseek-v4-pro"]


def test_the_counterfactual_in_the_result_and_agent_cost_is_exact_against_the_ledger(tmp_path: Path,
                                                                                       fake_api) -> None:
    pin_launch_prices(tmp_path)
    server = fake_api([Turn(content="done", usage=USAGE)],
                      conversations={QUESTION: [Turn(content="feature", usage=CLASSIFY_USAGE)]})
    step_summary = tmp_path / "summary.md"
    run = run_agent(["run", "add a --verbose flag", "--route", "auto", "--routing", str(policy_file(tmp_path)),
                     "--output", "json"], tmp_path, server.base_url,
                    env_extra={"GITHUB_STEP_SUMMARY": str(step_summary)})
    assert run.returncode == 0, run.stderr
    result = summary(run)
    [stored] = session_usage(tmp_path, result["session_id"])
    records = stored.records
    assert [(r.model, r.role) for r in records] == [("deepseek-v4-flash", "classify"), ("deepseek-v4-pro", "execute")]
    actual = sum((r.cost_usd for r in records), Decimal(0))
    # by hand: flash 1,000 × 0.14 + 2 × 0.28; pro 20,000 × 1.74 + 100,000 × 0.145 + 3,000 × 3.48 (per million)
    assert actual == Decimal("0.00014056") + Decimal("0.05974")
    # all on gpt-5.5 (5 / 0.50 / 30 per million): 1,000 × 5 + 2 × 30; 20,000 × 5 + 100,000 × 0.5 + 3,000 × 30
    reference = Decimal("0.00506") + Decimal("0.24")
    view = result["counterfactual"]
    assert Decimal(view["actual_usd_exact"]) == actual == Decimal(result["total_usd_exact"])
    assert Decimal(view["all_on_reference_usd_exact"]) == reference
    assert Decimal(view["saved_usd_exact"]) == reference - actual
    assert view["roles"]["execute"]["share"] == float(Decimal("0.05974") / actual)
    report = json.loads(run_agent(["cost", "--session", result["session_id"], "--output", "json"], tmp_path).stdout)
    assert report["counterfactual"] == view
    assert Decimal(report["all_on_reference_usd"]) == reference
    text = run_agent(["cost"], tmp_path).stdout
    assert "Spend per role" in text and "classify" in text
    explained = run_agent(["cost", "--explain"], tmp_path).stdout
    assert "deepseek-v4-flash (classify)" in explained
    assert PriceTable.builtin().price_for("gpt-5.5") is not None
    # the step summary: 0.24506 on gpt-5.5, 0.18517944 saved; 0.05974 of 0.05988056 on the driver
    assert "all on gpt-5.5: $0.2451 (saved $0.1852)" in step_summary.read_text()
    assert "by role: classify 0% ($0.0001), execute 100% ($0.0597)" in step_summary.read_text()


def test_bad_policies_and_missing_keys_under_auto_are_one_line(tmp_path: Path, fake_api) -> None:
    server = fake_api([])
    unknown = tmp_path / "turbo.toml"
    unknown.write_text('version = 1\ndefault = "turbo"\n')
    run = run_agent(["run", "x", "--route", "auto", "--routing", str(unknown)], tmp_path, server.base_url)
    assert run.returncode == 2 and "profile 'turbo' is not a routing profile here" in run.stderr
    assert "Traceback" not in run.stderr
    missing = run_agent(["run", "x", "--route", "auto", "--routing", str(tmp_path / "none.toml")], tmp_path,
                        server.base_url)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    keyless = run_agent(["run", "x", "--route", "auto", "--routing", str(policy_file(tmp_path))], tmp_path,
                        server.base_url, key=False)
    assert keyless.returncode == 2 and "API_KEY" in keyless.stderr and "Traceback" not in keyless.stderr
    assert server.requests == []  # nothing paid for: not even the classification call


def test_a_fix_tests_run_that_cannot_start_pays_for_no_classification(tmp_path: Path, fake_api) -> None:
    # The classification call is billed: every check that can stop the run comes before it.
    server = fake_api([Turn(content="done", usage=USAGE)],
                      conversations={QUESTION: [Turn(content="bugfix", usage=CLASSIFY_USAGE)]})
    run = run_agent(["fix-tests", "--route", "auto", "--routing", str(policy_file(tmp_path)), "--approval", "ask",
                     "--test-cmd", "false", "--output", "json"], tmp_path, server.base_url)
    assert run.returncode == 2 and "--approval ask refuses every edit" in run.stderr
    assert server.requests == []
