"""The composite action (action.yml) and the GitHub step summary, run as GitHub would run the steps.

The `install` step needs PyPI (tests never reach the network); every other step runs here with bash, with
`agent` installed from this tree first on PATH, as the install step leaves it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from fixtures import SCRIPTS_DIR
from fixtures.fakeapi import Script
from tests.conftest import GIT_ENV, TEST_KEY
from tests.e2e import base_env, sample

ACTION = Path(__file__).resolve().parent.parent / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")


def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def run_steps(workspace: Path, tmp: Path, inputs: dict[str, str], env: dict[str, str]) -> tuple[int, dict, str]:
    """Run the action's steps after `install`; returns the last exit code, the outputs and the step summary."""
    spec = action()
    values = {name: inputs.get(name, str(i.get("default", ""))) for name, i in spec["inputs"].items()}
    output_file, summary_file = tmp / "github_output", tmp / "step_summary.md"
    output_file.write_text("")
    code = 0
    for step in spec["runs"]["steps"]:
        if step["id"] == "install":
            continue
        step_env = {k: EXPRESSION.sub(lambda m: values[m.group(1)], str(v)) for k, v in step.get("env", {}).items()}
        full = {**base_env(), **GIT_ENV, **env, **step_env, "GITHUB_OUTPUT": str(output_file),
                "GITHUB_STEP_SUMMARY": str(summary_file), "RUNNER_TEMP": str(tmp)}
        code = subprocess.run(["bash", "-c", step["run"]], cwd=workspace, env=full, capture_output=True,
                              text=True, timeout=180).returncode
    outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
    return code, outputs, summary_file.read_text() if summary_file.exists() else ""


def test_the_action_declares_its_inputs_and_outputs() -> None:
    spec = action()
    assert set(spec["inputs"]) == {"approval", "max-cost", "route", "model", "test-cmd"}
    assert set(spec["outputs"]) == {"exit-code", "cost-usd", "session-id"}
    assert spec["runs"]["using"] == "composite"
    for name, output in spec["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
    install = spec["runs"]["steps"][0]["run"]
    assert "venv" in install and "$GITHUB_ACTION_PATH" in install and "$GITHUB_PATH" in install


def test_the_action_fixes_the_tests_and_reports_outputs_and_a_summary(tmp_path: Path, fake_api) -> None:
    workspace = sample("py_calc", tmp_path)
    server = fake_api(Script.load(SCRIPTS_DIR / "fix_py_calc.json").turns)
    code, outputs, summary = run_steps(workspace, tmp_path, {"approval": "full-auto", "max-cost": "0.50"},
                                       {"DEEPSEEK_API_KEY": TEST_KEY, "DEEPSEEK_BASE_URL": server.base_url})
    assert code == 0, summary
    assert outputs["exit-code"] == "0" and float(outputs["cost-usd"]) > 0
    transcript = workspace / ".duet" / "sessions" / f"{outputs['session-id']}.jsonl"
    assert transcript.is_file()
    assert "Duet `fix-tests`: done (exit 0)" in summary
    assert re.search(r"\| tests before \| ❌ 1 failed", summary)
    assert re.search(r"\| tests after \| ✅ 2 passed", summary)
    assert re.search(r"\| deepseek-v4-pro \| 5 \| [\d,]+ \| [\d,]+ \| [\d,]+ \| \$0\.\d{4} \|", summary)
    assert f"**${float(outputs['cost-usd']):.4f}**" in summary and "- `calc.py` (modified)" in summary


def test_the_action_fails_with_the_exit_code_and_still_reports(tmp_path: Path) -> None:
    workspace = sample("py_calc", tmp_path)
    code, outputs, summary = run_steps(workspace, tmp_path, {}, {})  # no API key
    assert code == 2 and outputs["exit-code"] == "2" and float(outputs["cost-usd"]) == 0
    assert outputs["session-id"]
    assert "config_error (exit 2)" in summary and "DEEPSEEK_API_KEY" in summary


def test_a_text_run_appends_to_an_existing_step_summary(tmp_path: Path, fake_api) -> None:
    from fixtures.fakeapi import Turn
    from tests.e2e import run_agent

    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    server = fake_api([Turn(content="hi")])
    result = run_agent(["run", "hello"], tmp_path, server.base_url, env_extra={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 0, result.stderr
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "Duet `run`: done (exit 0)" in text and "No files changed." in text
    assert json.dumps("| tests after | not run |")[1:-1] in text
