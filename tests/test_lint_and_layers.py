"""House rules checked on every run: ruff, the import layering, and a light `agent --help`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORT = re.compile(r"^\s*(?:import|from)\s+([a-zA-Z_][\w.]*)", re.M)


def imports_in(folder: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        found[str(path.relative_to(ROOT))] = {m.split(".")[0] for m in IMPORT.findall(path.read_text())}
    return found


def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_are_clean() -> None:
    """mypy over the product packages, as configured in pyproject.toml (cache in the tree: reruns take a second)."""
    result = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tools_know_nothing_of_agent_or_tui() -> None:
    offenders = {f: m & {"agent", "tui"} for f, m in imports_in("tools").items() if m & {"agent", "tui"}}
    assert offenders == {}


def test_only_the_provider_layer_imports_the_sdk() -> None:
    offenders = [f for f, m in imports_in("agent").items()
                 if m & {"openai", "httpx", "httpx2"} and not f.startswith("agent/providers/")]
    assert offenders == []
    tui = [f for f, m in imports_in("tui").items() if m & {"openai", "httpx", "httpx2", "agent.providers"}]
    assert tui == []


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys, contextlib, io\nfrom agent.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "heavy = sorted(m for m in ('openai', 'textual', 'rich', 'pydantic', 'git', 'tree_sitter', 'httpx2')"
            " if m in sys.modules)\nprint(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
