"""`agent cost`: per-model rows like the run result, unpriced models, and which row and hours priced each call."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from fixtures.fakeapi import ScriptedUsage, Turn
from tests.e2e import run_agent, summary
from tests.helpers import make_agent, trust_project
from tests.pinned_prices import UNPRICED_MODEL, pin_launch_prices

USAGE = ScriptedUsage(prompt_tokens=120_000, cache_hit_tokens=100_000, completion_tokens=3_000)


def test_unpriced_model_is_flagged_in_the_run_and_in_agent_cost(tmp_path: Path, fake_api) -> None:
    pin_launch_prices(tmp_path)
    with (tmp_path / ".duet/config.toml").open("a") as config:
        config.write(UNPRICED_MODEL)
    trust_project(tmp_path)  # a new model entry applies only from a trusted project config
    server = fake_api([Turn(content="a", usage=USAGE), Turn(content="b", usage=USAGE)])
    run = run_agent(["run", "one", "--model", "local-coder", "--output", "json"], tmp_path, server.base_url)
    assert run.returncode == 0, run.stderr
    result = summary(run)
    assert result["unpriced_models"] == ["local-coder"]
    row = result["models"]["local-coder"]
    assert row["priced"] is False and row["usd"] is None and row["usd_exact"] is None
    assert row["input_tokens"] == 120_000 and result["total_usd_exact"] == "0"
    text = run_agent(["run", "two", "--model", "local-coder"], tmp_path, server.base_url)
    assert "no price known for local-coder" in text.stdout

    report = json.loads(run_agent(["cost", "--output", "json"], tmp_path).stdout)
    assert report["unpriced_models"] == ["local-coder"]
    assert report["models"]["local-coder"]["priced"] is False and report["models"]["local-coder"]["calls"] == 2
    # Nothing priced, so nothing saved: an unpriced model is never counted as free.
    assert Decimal(report["total_usd"]) == 0 and Decimal(report["saved_usd"]) == 0
    text = run_agent(["cost"], tmp_path).stdout
    assert "no price known for local-coder" in text and "240,000 tokens in" in text and "no price" in text
    assert "routing saved $0.0000" in text


def test_cost_json_rows_are_the_run_results_rows(tmp_path: Path, fake_api) -> None:
    pin_launch_prices(tmp_path)
    server = fake_api([Turn(content="a", usage=USAGE)])
    run = summary(run_agent(["run", "one", "--output", "json"], tmp_path, server.base_url))
    report = json.loads(run_agent(["cost", "--output", "json"], tmp_path).stdout)
    assert report["models"] == run["models"]
    assert set(report["models"]["deepseek-v4-pro"]) == {
        "calls", "input_tokens", "cache_hit_tokens", "cache_miss_tokens", "output_tokens", "reasoning_tokens",
        "usd", "usd_exact", "estimated_calls", "priced"}


async def test_explain_names_the_row_and_window_of_each_call(repo: Path, fake_api) -> None:
    # One session with the table as of 2026-11-24: a call at 07:30 UTC (peak) and one at 20:30 UTC (off-peak).
    server = fake_api([Turn(content="a", usage=USAGE), Turn(content="b", usage=USAGE)])
    agent, pool, _ = make_agent(repo, server.base_url)
    agent.clock = lambda: dt.datetime(2026, 11, 24, 7, 30, tzinfo=dt.UTC)
    await agent.run("one")
    agent.clock = lambda: dt.datetime(2026, 11, 24, 20, 30, tzinfo=dt.UTC)
    await agent.run("two")
    await pool.aclose()
    agent.session.transcript.close()
    report = json.loads(run_agent(["cost", "--explain", "--output", "json"], repo).stdout)
    peak, off = (call["record"] for call in report["calls"])
    # 20,000 × 1.32 + 100,000 × 0.044 + 3,000 × 3.96 per million at peak; half off-peak
    assert Decimal(peak["cost_usd"]) == Decimal("0.04268") and Decimal(off["cost_usd"]) == Decimal("0.02134")
    assert peak["pricing"]["peak"] is True and peak["pricing"]["window"] == "06:00-10:00"
    assert off["pricing"]["peak"] is False and Decimal(off["pricing"]["multiplier"]) == Decimal("0.5")
    text = run_agent(["cost", "--explain"], repo).stdout
    assert "2026-11-24 07:30 UTC  deepseek-v4-pro (execute)  $0.042680: row since 2026-08-16" in text
    assert "peak 06:00-10:00" in text and "off-peak ×0.5" in text


def test_cost_since_counts_calls_from_that_day(tmp_path: Path, fake_api) -> None:
    server = fake_api([Turn(content="a", usage=USAGE)])
    assert run_agent(["run", "one"], tmp_path, server.base_url).returncode == 0
    today = dt.datetime.now(dt.UTC).date()
    later = json.loads(run_agent(["cost", "--since", str(today + dt.timedelta(days=1)), "--output", "json"],
                                 tmp_path).stdout)
    assert later["sessions"] == 0 and later["models"] == {}
    now = json.loads(run_agent(["cost", "--since", str(today), "--output", "json"], tmp_path).stdout)
    assert now["models"]["deepseek-v4-pro"]["calls"] == 1
