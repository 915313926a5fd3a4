"""`agent sessions`: every session of the workspace from its transcript, as text or JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from agent.transcript import sessions_dir
from fixtures.fakeapi import Turn
from tests.e2e import run_agent, sample, summary


def test_sessions_lists_each_run_with_its_task_spend_and_outcome(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(content="Nothing to change."), Turn(content="Still nothing.")])
    first = summary(run_agent(["run", "look at calc", "--output", "json"], workspace, server.base_url))
    second = summary(run_agent(["run", "and again", "--output", "json"], workspace, server.base_url))
    listed = run_agent(["sessions", "--output", "json"], workspace)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == [first["session_id"], second["session_id"]]
    assert [r["task"] for r in rows] == ["look at calc", "and again"]
    assert [r["outcome"] for r in rows] == ["done", "done"]
    for row, result in zip(rows, (first, second), strict=True):
        assert round(Decimal(row["spend_usd"]), 6) == Decimal(str(result["total_cost_usd"])) > 0
        assert row["models"] and row["started"]
    text = run_agent(["sessions"], workspace)
    assert text.returncode == 0 and first["session_id"] in text.stdout and "look at calc" in text.stdout


def test_a_damaged_transcript_is_skipped_with_a_warning(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(content="ok")])
    done = summary(run_agent(["run", "hello", "--output", "json"], workspace, server.base_url))
    damaged = sessions_dir(workspace) / "20260101-000000-deadbeef.jsonl"
    damaged.write_bytes(b"\x00\x01binary")
    listed = run_agent(["sessions", "--output", "json"], workspace)
    assert listed.returncode == 0
    assert [r["id"] for r in json.loads(listed.stdout)] == [done["session_id"]]
    assert "skipped" in listed.stderr and "binary" in listed.stderr

