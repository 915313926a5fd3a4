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
