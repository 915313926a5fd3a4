"""Finding and running a project's test command; the verdict comes from its exit code, never the model."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

from tools.base import ToolContext
from tools.shell import ShellArgs, ShellTool

TEST_TIMEOUT_S = 900.0
FAILURE_CHARS = 12_000
_SUMMARY_LINES = (
    re.compile(r"^=*\s*(\d+ (passed|failed|errors?)\b.*?)\s*=*$"),  # pytest
    re.compile(r"^(Ran \d+ tests? in .*|OK\b.*|FAILED \(.*\))$"),  # unittest
    re.compile(r"^(# (pass|fail) \d+)$"),  # node --test
    re.compile(r"^(test result: .*)$"),  # cargo
    re.compile(r"^((ok|FAIL|---) .*)$"),  # go
)


@dataclass(frozen=True)
class TestRun:
    """One run of the test command."""

    __test__ = False  # not a pytest test class
    command: str
    exit_code: int
    output: str

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def cannot_start(self) -> str:
        """Why the command itself could not run (the shell's 126/127: not executable, not found), or ""."""
        if self.exit_code not in (126, 127):
            return ""
        for line in self.output.splitlines():
            text = line.strip()
            if re.search(r"(command )?not found|No such file or directory|Permission denied|cannot execute", text):
                return text[:200]
        return ""

    @property
    def summary(self) -> str:
        found = [m.group(1) for line in self.output.splitlines() for p in _SUMMARY_LINES
                 if (m := p.match(line.strip()))]
        if found:
            return "; ".join(found[-2:]) if found[-1].startswith(("OK", "FAILED (")) else found[-1]
        return "passed" if self.passed else f"failed (exit code {self.exit_code})"


def package_scripts(root: Path) -> dict[str, str] | None:
    """The `scripts` of `root`'s package.json ({} when unreadable), or None when there is none."""
    package = root / "package.json"
    if not package.is_file():
        return None
    try:
        scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts", {})
    except (ValueError, OSError, AttributeError):
        return {}
    return scripts if isinstance(scripts, dict) else {}


def detect_test_command(root: Path) -> str | None:
    """The usual test command for the project in `root`, or None."""
    scripts = package_scripts(root)
    if scripts is not None and "test" in scripts:
        return "npm test"
    if (root / "go.mod").is_file():
        return "go test ./..."
    if (root / "Cargo.toml").is_file():
        return "cargo test"
    python_markers = ("pytest.ini", "conftest.py", "tox.ini", "setup.cfg", "pyproject.toml", "setup.py")
    if any((root / m).is_file() for m in python_markers) or any(root.glob("test*/**/test_*.py")) or any(
            root.glob("test_*.py")):
        return "python -m pytest -q"
    makefile = root / "Makefile"
    if makefile.is_file() and re.search(r"^test\s*:", makefile.read_text(errors="replace"), re.M):
        return "make test"
    return None


async def run_tests(ctx: ToolContext, command: str) -> TestRun:
    at_root = dataclasses.replace(ctx, start_dir=None)  # the command was found at the root, so it runs there
    result = await ShellTool().run(ShellArgs(command=command, timeout_s=TEST_TIMEOUT_S), at_root)
    code = int(result.data.get("exit_code", 1))
    return TestRun(command=command, exit_code=code if not result.data.get("timed_out") else 124,
                   output=result.output)
