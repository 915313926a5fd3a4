"""The ledger read back from transcripts: damaged records are reported, a copied transcript is billed once."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from agent.cli.main import main
from agent.transcript import sessions_dir
from fixtures.fakeapi import Turn
from tests.e2e import run_agent, sample, summary


@pytest.fixture
def one_session(tmp_path: Path, fake_api) -> tuple[Path, dict]:
    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(content="Nothing to do.")])
    return workspace, summary(run_agent(["run", "hello", "--output", "json"], workspace, server.base_url))


def _cost(workspace: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    assert main(["cost", "-C", str(workspace), "--output", "json"]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


def test_a_transcript_copied_under_another_name_is_counted_once(one_session, capsys) -> None:
    workspace, result = one_session
    transcript = sessions_dir(workspace) / f"{result['session_id']}.jsonl"
    shutil.copy(transcript, transcript.with_name("20991231-235959-0badc0de.jsonl"))
    report, err = _cost(workspace, capsys)
    assert round(Decimal(str(report["total_usd"])), 6) == Decimal(str(result["total_cost_usd"])) > 0
    assert "already counted" in err and "copied transcript" in err


@pytest.mark.parametrize(("field", "value"), [("cost_usd", "NaN"), ("input_tokens", -5), ("output_tokens", 10**15),
                                              ("cost_usd", "1e400")])
def test_a_damaged_usage_record_is_skipped_and_said(one_session, capsys, field: str, value: object) -> None:
    workspace, result = one_session
    transcript = sessions_dir(workspace) / f"{result['session_id']}.jsonl"
    lines = transcript.read_text().splitlines()
    usage = next(json.loads(line) for line in lines if json.loads(line)["type"] == "usage")
    usage["record"] = {**usage["record"], field: value, "id": "damaged"}
    transcript.write_text("\n".join([*lines, json.dumps(usage)]) + "\n")
    report, err = _cost(workspace, capsys)
    assert round(Decimal(str(report["total_usd"])), 6) == Decimal(str(result["total_cost_usd"]))
    assert f"not a valid record (usage.record.{field}" in err
