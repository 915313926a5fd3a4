import json
from pathlib import Path

import pytest

from agent.testcmd import TestRun, detect_test_command


@pytest.mark.parametrize(("files", "expected"), [
    ({"package.json": json.dumps({"scripts": {"test": "jest"}})}, "npm test"),
    ({"go.mod": "module x\n"}, "go test ./..."),
    ({"Cargo.toml": "[package]\n"}, "cargo test"),
    ({"pyproject.toml": "[project]\n"}, "python -m pytest -q"),
    ({"tests/test_x.py": ""}, "python -m pytest -q"),
    ({"Makefile": "build:\n\tcc x.c\ntest:\n\t./run\n"}, "make test"),
    ({"package.json": json.dumps({"scripts": {}}), "README.md": ""}, None),
])
def test_detects_the_usual_test_command(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert detect_test_command(tmp_path) == expected


@pytest.mark.parametrize(("output", "summary"), [
    ("....F\n===== 1 failed, 4 passed in 0.2s =====\n[exit code 1]", "1 failed, 4 passed in 0.2s"),
    ("F.\n----\nRan 2 tests in 0.001s\n\nFAILED (failures=1)\n[exit code 1]",
     "Ran 2 tests in 0.001s; FAILED (failures=1)"),
    ("# pass 2\n# fail 1\n# duration_ms 70\n[exit code 1]", "# fail 1"),
    ("test result: ok. 3 passed; 0 failed\n[exit code 0]", "test result: ok. 3 passed; 0 failed"),
])
def test_summarises_runner_output(output: str, summary: str) -> None:
    assert TestRun("cmd", 1, output).summary == summary


def test_a_test_command_that_cannot_start_stops_before_any_model_call(tmp_path: Path, fake_api) -> None:
    from fixtures.fakeapi import Turn
    from tests.e2e import run_agent, sample, summary

    workspace = sample("py_calc", tmp_path)
    server = fake_api([Turn(content="I fixed it.")])
    result = run_agent(["fix-tests", "--approval", "full-auto", "--output", "json",
                        "--test-cmd", "no-such-test-runner -q"], workspace, server.base_url)
    assert result.returncode == 6, result.stderr
    data = summary(result)
    assert data["outcome"] == "test_command_failed"
    assert "not found" in data["message"] and "nothing was sent to a model" in data["message"]
    assert server.requests == []


def test_cannot_start_reads_the_shells_own_words() -> None:
    assert TestRun("python -m pytest", 127, "sh: 1: python: not found\n[exit code 127]").cannot_start
    assert TestRun("./run", 126, "sh: 1: ./run: Permission denied\n[exit code 126]").cannot_start
    assert not TestRun("pytest", 1, "1 failed\n[exit code 1]").cannot_start
    assert not TestRun("pytest", 127, "test_x.py::test_y FAILED\n[exit code 127]").cannot_start
